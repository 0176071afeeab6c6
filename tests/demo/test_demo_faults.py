"""Fault rules: statuses, headers, business rejections, delays and connection resets."""

import time

import httpx
import pytest

from interpreter.dev.demo import DemoService


def test_a_fault_answers_its_status_once_by_default(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(status=500)
    failed = client.post("/r", json={})
    assert (failed.status_code, failed.json()) == (500, {"error": "injected fault"})
    assert client.post("/r", json={}).status_code == 201


def test_a_fault_applies_the_given_number_of_times(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(status=502, times=2)
    assert [client.get("/r").status_code for _ in range(3)] == [502, 502, 200]


def test_a_fault_without_a_count_applies_to_every_request(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(status=500, times=None)
    assert {client.get("/r").status_code for _ in range(5)} == {500}


def test_a_fault_matches_its_method_and_path_prefix(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(method="post", path_prefix="/cars", times=None)
    assert client.post("/flights", json={}).status_code == 201
    assert client.get("/cars").status_code == 200
    assert client.post("/cars", json={}).status_code == 500


def test_the_first_matching_fault_wins(client: httpx.Client, service: DemoService) -> None:
    service.fail(status=503)
    service.fail(status=429)
    assert [client.get("/r").status_code for _ in range(3)] == [503, 429, 200]


def test_a_fault_sends_its_headers(client: httpx.Client, service: DemoService) -> None:
    service.fail(status=429, headers={"Retry-After": "2"})
    response = client.get("/r")
    assert (response.status_code, response.headers["retry-after"]) == (429, "2")


def test_a_business_rejection_has_a_json_body_and_no_effect(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(method="POST", status=409, body={"error": "no cars left", "code": "SOLD_OUT"})
    response = client.post("/rentals", json={"car": "van"})
    assert response.status_code == 409
    assert response.json() == {"error": "no cars left", "code": "SOLD_OUT"}
    assert service.resources == {}


def test_a_text_body_is_sent_as_text(client: httpx.Client, service: DemoService) -> None:
    service.fail(status=502, body="Bad Gateway")
    response = client.get("/r")
    assert (response.text, response.headers["content-type"]) == (
        "Bad Gateway",
        "text/plain; charset=utf-8",
    )


def test_an_after_effect_fault_applies_the_effect_then_fails(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(method="PUT", status=500, after_effect=True)
    assert client.put("/debits/tx-1", json={"amount": 1}).status_code == 500
    assert service.resources == {"debits": {"tx-1": {"id": "tx-1", "amount": 1}}}


def test_a_reset_closes_the_connection_without_a_response(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(method="POST", reset_connection=True)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post("/r", json={})
    assert service.resources == {}
    assert client.post("/r", json={}).status_code == 201


def test_a_reset_is_recorded_without_a_status(client: httpx.Client, service: DemoService) -> None:
    service.fail(reset_connection=True)
    with pytest.raises(httpx.TransportError):
        client.get("/r")
    [record] = service.requests
    assert (record.status, record.injected) == (None, True)
    assert record.end_time is not None


def test_a_fault_delayed_past_the_timeout_times_out(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(status=200, delay=2.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/r", timeout=0.2)
    assert len(service.requests) == 1


def test_a_delayed_reply_applies_the_effect_before_the_wait(
    client: httpx.Client, service: DemoService
) -> None:
    service.delay(2.0, method="POST")
    with pytest.raises(httpx.ReadTimeout):
        client.post("/r", json={}, timeout=0.3)
    assert list(service.resources["r"]) == ["r-1"]


def _server_time(service: DemoService, index: int) -> float:
    record = service.requests[index]
    assert record.end_time is not None
    return record.end_time - record.time


def test_a_delay_slows_matching_responses(client: httpx.Client, service: DemoService) -> None:
    service.delay(0.2, path_prefix="/slow")
    client.get("/slow")
    client.get("/fast")
    assert _server_time(service, 0) >= 0.2 > _server_time(service, 1)


def test_a_delay_with_a_count_expires(client: httpx.Client, service: DemoService) -> None:
    service.delay(0.2, times=1)
    client.get("/r")
    client.get("/r")
    assert _server_time(service, 0) >= 0.2 > _server_time(service, 1)


def test_stop_does_not_wait_for_a_delayed_reply(service: DemoService) -> None:
    service.delay(30.0)
    with httpx.Client(base_url=service.url, timeout=0.2) as http, pytest.raises(httpx.ReadTimeout):
        http.get("/r")
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "keywords",
    [{"status": 99}, {"status": "500"}, {"times": 0}, {"delay": -1}],
)
def test_an_invalid_fault_is_refused(service: DemoService, keywords: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        service.fail(**keywords)  # type: ignore[arg-type]
