"""The simulated services answer like careful REST services, and record every request."""

from __future__ import annotations

import httpx
import pytest

from interpreter.testing import Answer, SimulatedServices, _services

from .conftest import saga, step


def client(services: SimulatedServices) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=services, base_url="http://shop.test")


async def test_a_post_gets_201_with_its_body_and_a_generated_id() -> None:
    services = SimulatedServices(saga([step("order")]))
    async with client(services) as http:
        response = await http.post("/order", json={"sku": "A"}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 201
    assert response.json() == {"sku": "A", "id": "shop-1"}
    entry = services.record[0]
    assert (entry.method, entry.path, entry.body, entry.idempotency_key) == (
        "POST",
        "/order",
        {"sku": "A"},
        "k",
    )


async def test_a_delete_gets_204_without_a_body() -> None:
    services = SimulatedServices(saga([step("order")]))
    async with client(services) as http:
        response = await http.delete("/order/shop-1")
    assert (response.status_code, response.content) == (204, b"")


async def test_an_answer_matches_its_pattern_with_placeholders() -> None:
    answers = {"shop": {"POST /charges/{id}/refund": Answer(status=200, json_body={"ok": 1})}}
    services = SimulatedServices(saga([step("order")]), answers)
    async with client(services) as http:
        refund = await http.post("/charges/ch_1/refund")
        other = await http.post("/charges/ch_1/capture")
    assert (refund.status_code, refund.json()) == (200, {"ok": 1})
    assert other.status_code == 201


async def test_a_repeated_idempotency_key_is_applied_once_and_answered_alike() -> None:
    services = SimulatedServices(saga([step("order")]))
    async with client(services) as http:
        first = await http.post("/order", headers={"Idempotency-Key": "k"})
        again = await http.post("/order", headers={"Idempotency-Key": "k"})
    assert first.json() == again.json() == {"id": "shop-1"}
    assert [entry.applied for entry in services.record] == [True, False]


async def test_a_resolution_is_answered_and_counted_as_the_action(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The runtime resends an uncertain action ("resolution") to learn its outcome. When
    # the first attempt never reached the service, the resend is what applies it: it
    # must get the action's answer (201 and an id, not the compensation's 204), and
    # its effect must count as the step's.
    order = step("order")
    order["compensation"]["expect"] = [204, 404]
    services = SimulatedServices(saga([order]))
    monkeypatch.setattr(_services, "_current_call", lambda: ("order", "resolution", 1))
    async with client(services) as http:
        response = await http.post("/order", headers={"Idempotency-Key": "k"})
    assert (response.status_code, response.json()) == (201, {"id": "shop-1"})
    assert list(services.effects()) == ["order"]
