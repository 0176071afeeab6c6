"""POST /runs/{id}/signals/{step}: data for a wait step, every answer of the table; and
`saga signal`, the same delivery from the command line, against the same server."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from interpreter.dev.demo import DemoService

from .conftest import SAGA, Gateway, GatewayFactory, definition, step

SCHEMA = {
    "type": "object",
    "required": ["approved"],
    "properties": {"approved": {"type": "boolean"}, "by": {"type": "string"}},
}


def approval_saga(service: DemoService) -> dict[str, Any]:
    wait = {
        "name": "approval",
        "wait": {"timeout": "1h", "schema": SCHEMA, "success": "${ signal.approved }"},
        "output": {"by": "${ signal.by }"},
    }
    return definition("expense", [step(service, "reserve"), wait, step(service, "pay")])


def started(gateway_factory: GatewayFactory, service: DemoService) -> tuple[Gateway, str]:
    gateway = gateway_factory()
    gateway.write(approval_saga(service))
    gateway.start()
    with gateway.client() as http:
        run_id = str(http.post("/sagas/expense/runs", json={}).json()["id"])
        for _ in range(600):
            steps = http.get(f"/runs/{run_id}").json()["steps"]
            if steps[1]["status"] == "WAITING":
                return gateway, run_id
            time.sleep(0.05)
    raise AssertionError("the approval never began waiting")


def test_data_for_a_waiting_step_answers_200_with_the_report_and_the_run_completes(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway, run_id = started(gateway_factory, service)
    with gateway.client() as http:
        answer = http.post(f"/runs/{run_id}/signals/approval", json={"approved": True, "by": "ann"})
    assert answer.status_code == 200
    assert answer.json()["saga_id"] == run_id
    assert answer.json()["steps"][1]["signal_at"] is not None
    ended = gateway.wait_for_end(run_id)
    assert ended["status"] == "COMPLETED"
    assert ended["output"]["approval"] == {"by": "ann"}


def test_refusals_answer_404_409_and_422_and_change_nothing(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway, run_id = started(gateway_factory, service)
    with gateway.client() as http:
        no_run = http.post("/runs/no-such-run/signals/approval", json={"approved": True})
        no_step = http.post(f"/runs/{run_id}/signals/aproval", json={"approved": True})
        not_wait = http.post(f"/runs/{run_id}/signals/reserve", json={})
        invalid = http.post(f"/runs/{run_id}/signals/approval", json={"approved": "yes"})
        not_json = http.post(f"/runs/{run_id}/signals/approval", content=b"{yes",
                             headers={"Content-Type": "application/json"})  # fmt: skip
        still = http.get(f"/runs/{run_id}").json()["steps"][1]
        http.post(f"/runs/{run_id}/signals/approval", json={"approved": False, "by": "bob"})
        second = http.post(f"/runs/{run_id}/signals/approval", json={"approved": True})
    assert (no_run.status_code, no_step.status_code) == (404, 404)
    assert "aproval" in no_step.json()["detail"]
    assert not_wait.status_code == 409
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert invalid.json()["errors"][0]["pointer"] == "/approved"
    assert not_json.status_code == 400
    assert (still["status"], still["signal_at"]) == ("WAITING", None)
    assert second.status_code == 409
    ended = gateway.wait_for_end(run_id)
    assert ended["status"] == "COMPENSATED"
    assert ended["report"]["steps"][1]["reason"] == "rejected"


def test_saga_signal_delivers_data_and_says_why_it_refuses(
    gateway_factory: GatewayFactory, service: DemoService, dev_server: Any
) -> None:
    gateway, run_id = started(gateway_factory, service)

    def signal(step: str, data: str) -> subprocess.CompletedProcess[str]:
        args = [SAGA, "signal", run_id, step, "--data", data, "--address", dev_server.address]
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)

    invalid = signal("approval", json.dumps({"approved": "yes"}))
    unknown = signal("aproval", "{}")
    taken = signal("approval", json.dumps({"approved": True, "by": "ann"}))
    again = signal("approval", json.dumps({"approved": True, "by": "ann"}))
    assert invalid.returncode == 1 and invalid.stderr.startswith("Error: ")
    assert "does not fit the schema of step 'approval'" in invalid.stderr
    assert unknown.returncode == 1 and "unknown step 'aproval'" in unknown.stderr
    assert taken.returncode == 0, taken.stderr
    assert "took the data" in taken.stdout
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert gateway.wait_for_end(run_id)["status"] == "COMPLETED"
