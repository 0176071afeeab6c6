"""The gateway keeps no state: a restart loses nothing; without Temporal it answers 503."""

from __future__ import annotations

from interpreter.dev.demo import DemoService
from interpreter.dev.devserver import free_port

from .conftest import Gateway, GatewayFactory, definition, step


def test_a_run_survives_a_gateway_restart_and_the_new_process_serves_it(
    gateway: Gateway, service: DemoService
) -> None:
    service.delay(3.0, "POST", "/a", times=1)
    with gateway.client() as http:
        run_id = http.post("/sagas/order/runs", json={"order_id": "restart"}).json()["id"]
    gateway.stop()
    gateway.start()
    with gateway.client() as http:
        report = http.get(f"/runs/{run_id}")
    assert report.status_code == 200 and report.json()["saga_id"] == run_id
    ended = gateway.wait_for_end(run_id)
    assert ended["status"] == "COMPLETED"
    assert [r.path for r in service.requests] == ["/a", "/b"]


def test_without_temporal_api_calls_answer_503_with_retry_after(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway = gateway_factory(address=f"127.0.0.1:{free_port()}")
    gateway.write(definition("order", [step(service, "a")]))
    gateway.start()
    with gateway.client() as http:
        for answer in (
            http.get("/runs"),
            http.get("/runs/some-id"),
            http.post("/sagas/order/runs", json={}),
        ):
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "5"
            assert answer.headers["content-type"] == "application/problem+json"
            assert "cannot reach Temporal" in answer.json()["detail"]
        ready = http.get("/readyz")
        assert ready.status_code == 503 and "cannot reach Temporal" in ready.json()["detail"]
        assert http.get("/healthz").status_code == 200
        assert http.get("/sagas").status_code == 200  # the catalogue needs no Temporal


def test_readyz_says_when_no_worker_polls_the_task_queue(
    gateway_factory: GatewayFactory, gateway: Gateway
) -> None:
    with gateway.client() as http:
        assert http.get("/readyz").json() == {"status": "ok"}
    idle = gateway_factory()
    idle.task_queue = "a-queue-nobody-polls"
    idle.start()
    with idle.client() as http:
        answer = http.get("/readyz")
    assert answer.status_code == 503
    assert "no worker is polling" in answer.json()["detail"]
