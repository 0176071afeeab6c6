"""The same fault control over HTTP, for other processes."""

import time

import httpx

from interpreter.dev.demo import DemoService


def test_control_fail_queues_a_fault(client: httpx.Client) -> None:
    rule = {"method": "POST", "status": 409, "body": {"error": "sold out"}, "times": None}
    assert client.post("/_control/fail", json=rule).status_code == 200
    responses = [client.post("/rentals", json={}) for _ in range(2)]
    assert [(r.status_code, r.json()) for r in responses] == [(409, {"error": "sold out"})] * 2


def test_control_fail_without_a_body_fails_the_next_request(client: httpx.Client) -> None:
    client.post("/_control/fail")
    assert [client.get("/r").status_code for _ in range(2)] == [500, 200]


def test_control_fail_refuses_an_unknown_keyword(client: httpx.Client) -> None:
    response = client.post("/_control/fail", json={"stauts": 500})
    assert response.status_code == 400
    assert "stauts" in response.json()["error"]


def test_control_fail_refuses_an_invalid_value(client: httpx.Client) -> None:
    response = client.post("/_control/fail", json={"status": 1000})
    assert response.status_code == 400
    assert "status" in response.json()["error"]


def test_control_fail_refuses_a_body_that_is_not_an_object(client: httpx.Client) -> None:
    assert client.post("/_control/fail", json=[500]).status_code == 400


def test_control_delay_slows_responses(client: httpx.Client) -> None:
    client.post("/_control/delay", json={"seconds": 0.2, "method": "GET"})
    started = time.monotonic()
    client.get("/r")
    assert time.monotonic() - started >= 0.2


def test_control_reset_forgets_everything(client: httpx.Client, service: DemoService) -> None:
    client.post("/r", json={}, headers={"Idempotency-Key": "k"})
    client.post("/r", json={}, headers={"Idempotency-Key": "k"})
    service.fail(times=None)
    assert client.post("/_control/reset").status_code == 200
    assert (service.resources, service.requests, service.duplicates) == ({}, [], 0)
    assert client.post("/r", json={}, headers={"Idempotency-Key": "k"}).json()["id"] == "r-1"


def test_control_and_state_requests_are_not_recorded(
    client: httpx.Client, service: DemoService
) -> None:
    client.post("/_control/fail", json={"path_prefix": "/nothing"})
    client.get("/_state")
    assert service.requests == []


def test_faults_do_not_apply_to_control_requests(
    client: httpx.Client, service: DemoService
) -> None:
    service.fail(times=None)
    assert client.get("/_state").status_code == 200
    assert client.post("/_control/reset").status_code == 200


def test_an_unknown_control_route_is_404(client: httpx.Client) -> None:
    assert client.post("/_control/explode").status_code == 404
