"""Starting and following runs over HTTP, every answer of the table."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from interpreter.dev.demo import DemoService

from .conftest import Gateway, GatewayFactory, definition, step


def start(gateway: Gateway, body: Any, **headers: str) -> httpx.Response:
    with gateway.client() as http:
        return http.post("/sagas/order/runs", json=body, headers=headers)


def test_a_start_answers_201_with_location_and_links_and_the_run_completes(
    gateway: Gateway, service: DemoService
) -> None:
    answer = start(gateway, {"order_id": "o-1"})
    assert answer.status_code == 201
    body = answer.json()
    assert answer.headers["location"] == f"/runs/{body['id']}" == body["links"]["self"]
    assert body["status"] == "RUNNING" and body["saga"] == "order"
    ended = gateway.wait_for_end(body["id"])
    assert ended["status"] == "COMPLETED"
    assert ended["report"]["status"] == "COMPLETED"
    assert [s["status"] for s in ended["report"]["steps"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert [r.path for r in service.requests] == ["/a", "/b"]


def test_the_report_of_a_run_and_of_an_unknown_run(gateway: Gateway) -> None:
    run_id = start(gateway, {"order_id": "o-2"}).json()["id"]
    gateway.wait_for_end(run_id)
    with gateway.client() as http:
        report = http.get(f"/runs/{run_id}")
        missing = http.get("/runs/no-such-run")
    assert report.status_code == 200
    assert report.json()["saga_id"] == run_id and report.json()["status"] == "COMPLETED"
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_start_through_the_single_endpoint_with_an_id(gateway: Gateway) -> None:
    with gateway.client() as http:
        answer = http.post("/start", json={"saga": "order", "input": {"order_id": "x"},
                                           "id": "order-by-start"})  # fmt: skip
        unknown = http.post("/start", json={"saga": "nope", "input": {}})
    assert answer.status_code == 201 and answer.json()["id"] == "order-by-start"
    assert unknown.status_code == 404
    assert gateway.wait_for_end("order-by-start")["status"] == "COMPLETED"


def test_a_body_that_is_not_json_is_a_400(gateway: Gateway) -> None:
    with gateway.client() as http:
        answer = http.post("/sagas/order/runs", content=b"{order",
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["status"] == 400 and answer.json()["title"] == "Bad Request"


def test_an_input_that_does_not_fit_is_a_422_with_json_pointers(gateway: Gateway) -> None:
    answer = start(gateway, {"order_id": "o", "qty": 0, "colour": "red"})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"] == "urn:saga:problem:invalid-input"
    pointers = {error["pointer"] for error in problem["errors"]}
    assert pointers == {"/qty", "/colour"}
    with gateway.client() as http:
        through_start = http.post("/start", json={"saga": "order", "input": {"qty": "many"}})
    pointers = {e["pointer"] for e in through_start.json()["errors"]}
    assert through_start.status_code == 422 and "/input/qty" in pointers


def test_an_invalid_saga_file_cannot_be_started(gateway: Gateway) -> None:
    with gateway.client() as http:
        answer = http.post("/sagas/broken/runs", json={})
        missing = http.post("/sagas/nope/runs", json={})
    assert answer.status_code == 409
    assert answer.json()["type"] == "urn:saga:problem:invalid-saga"
    assert answer.json()["errors"]
    assert missing.status_code == 404


def test_a_body_over_one_mebibyte_is_a_413(gateway: Gateway) -> None:
    big = json.dumps({"order_id": "x" * (1024 * 1024 + 10)}).encode()
    with gateway.client() as http:
        declared = http.post("/sagas/order/runs", content=big,
                             headers={"Content-Type": "application/json"})  # fmt: skip
        streamed = http.post("/sagas/order/runs", content=iter([big[:600_000], big[600_000:]]))
    assert declared.status_code == 413 and streamed.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"


def test_result_is_202_while_running_then_200_and_events_stream_each_change(
    gateway: Gateway, service: DemoService
) -> None:
    service.delay(2.0, "POST", "/a", times=1)
    run_id = start(gateway, {"order_id": "slow"}).json()["id"]
    with gateway.client() as http:
        waiting = http.get(f"/runs/{run_id}/result", params={"wait": "0s"})
        assert waiting.status_code == 202 and waiting.json() == {"status": "RUNNING"}
        events = _events(http, f"/runs/{run_id}/events")
    assert events[-1][0] == "end" and json.loads(events[-1][1])["status"] == "COMPLETED"
    reports = [json.loads(data) for name, data in events if name == "report"]
    assert len(reports) >= 2
    assert reports[-1]["status"] == "COMPLETED"
    assert len({json.dumps(r, sort_keys=True) for r in reports}) == len(reports)


def _events(http: httpx.Client, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    with http.stream("GET", path) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                found.append((name, line.split(":", 1)[1].strip()))
    return found


def test_events_of_an_unknown_run_are_a_404(gateway: Gateway) -> None:
    with gateway.client() as http:
        assert http.get("/runs/nope/events").status_code == 404


def test_a_running_saga_cancels_with_202_and_an_ended_one_answers_409(
    gateway: Gateway, service: DemoService
) -> None:
    service.delay(30.0, "POST", "/b", times=1)
    run_id = start(gateway, {"order_id": "cancel-me"}).json()["id"]
    _wait_for_request(service, "/b")
    with gateway.client() as http:
        assert http.post(f"/runs/{run_id}/cancel").status_code == 202
        ended = gateway.wait_for_end(run_id)
        assert ended["status"] == "COMPENSATED" and ended["report"]["reason"] == "cancel"
        again = http.post(f"/runs/{run_id}/cancel")
        assert again.status_code == 409
        assert http.post("/runs/nope/cancel").status_code == 404


def _wait_for_request(service: DemoService, path: str) -> None:
    for _ in range(600):
        if any(r.path == path for r in service.requests):
            return
        time.sleep(0.05)
    raise AssertionError(f"no request to {path}")


def test_resume_answers_409_unless_parked_and_422_for_a_bad_request(
    gateway: Gateway,
) -> None:
    run_id = start(gateway, {"order_id": "done"}).json()["id"]
    gateway.wait_for_end(run_id)
    with gateway.client() as http:
        assert http.post(f"/runs/{run_id}/resume", json={"retry": True}).status_code == 409
        bad = http.post(f"/runs/{run_id}/resume", json={"retry": True, "skip": "a"})
        assert bad.status_code == 422 and bad.json()["errors"]
        assert http.post("/runs/nope/resume", json={"retry": True}).status_code == 404


def test_a_parked_saga_resumes_over_http(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway = gateway_factory()
    service.fail("POST", "/c", status=400, times=None)
    service.fail("PUT", "/undo/b", status=409, times=1)
    steps = [step(service, "a"), step(service, "b"), step(service, "c")]
    gateway.write(definition("parks", steps, on_compensation_failure="park"))
    gateway.start()
    with gateway.client() as http:
        run_id = http.post("/sagas/parks/runs").json()["id"]
        for _ in range(600):
            if http.get(f"/runs/{run_id}").json()["status"] == "PARKED":
                break
            time.sleep(0.05)
        resumed = http.post(f"/runs/{run_id}/resume", json={"retry": True})
    assert resumed.status_code == 200
    assert resumed.json()["saga_id"] == run_id
    assert gateway.wait_for_end(run_id)["status"] == "COMPENSATED"


def test_recent_runs_are_listed_newest_first_and_filtered(
    gateway: Gateway, gateway_factory: GatewayFactory
) -> None:
    ids = [start(gateway, {"order_id": f"l-{n}"}).json()["id"] for n in range(2)]
    for run_id in ids:
        gateway.wait_for_end(run_id)
    with gateway.client() as http:
        for _ in range(200):  # the list is eventually consistent
            runs = http.get("/runs", params={"saga": "order", "limit": 100}).json()
            if {r["id"] for r in runs} >= set(ids):
                break
            time.sleep(0.1)
        assert [r["id"] for r in runs if r["id"] in ids] == ids[::-1]
        assert all(r["saga"] == "order" for r in runs)
        completed = http.get("/runs", params={"status": "COMPLETED", "limit": 100}).json()
        assert {r["status"] for r in completed} == {"COMPLETED"}
        assert http.get("/runs", params={"limit": 0}).status_code == 400


def test_result_wait_must_be_a_duration(gateway: Gateway) -> None:
    with gateway.client() as http:
        answer = http.get("/runs/x/result", params={"wait": "soon"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
