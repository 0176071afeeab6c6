"""Start idempotency: an Idempotency-Key names the run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from interpreter.dev.demo import DemoService

from .conftest import Gateway


def start(gateway: Gateway, key: str, body: object) -> httpx.Response:
    with gateway.client() as http:
        return http.post("/sagas/order/runs", json=body, headers={"Idempotency-Key": key})


def test_the_same_key_and_input_answers_200_with_the_same_run(gateway: Gateway) -> None:
    first = start(gateway, "order-k1", {"order_id": "k1"})
    second = start(gateway, "order-k1", {"order_id": "k1"})
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"] == "order-k1"


def test_the_same_key_with_another_input_is_a_409(gateway: Gateway) -> None:
    assert start(gateway, "order-k2", {"order_id": "k2"}).status_code == 201
    other = start(gateway, "order-k2", {"order_id": "other"})
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"


def test_a_hundred_concurrent_identical_starts_make_exactly_one_run(
    gateway: Gateway, service: DemoService
) -> None:
    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(lambda _: start(gateway, "order-k3", {"order_id": "k3"}),
                                range(100)))  # fmt: skip
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] * 99 + [201]
    assert {answer.json()["id"] for answer in answers} == {"order-k3"}
    assert gateway.wait_for_end("order-k3")["status"] == "COMPLETED"
    assert [r.path for r in service.requests] == ["/a", "/b"]


def test_an_unusable_key_is_a_400(gateway: Gateway) -> None:
    assert start(gateway, "x" * 300, {"order_id": "k4"}).status_code == 400
