"""Secrets stay in the worker; expressions cannot reach the machine; limits hold.

The secret scan looks everywhere a value could escape to: the workflow history as
Temporal stores it, what `saga run`, `saga status --json` and `saga result` print, and
the worker's own output. The service used here is hostile on purpose: it echoes the
credentials it receives, in successful answers and in error messages.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError

from dsl._expressions import ExpressionError, compile_template
from dsl._validate import check_text
from interpreter.client._runs import start_saga
from interpreter.contract import INVALID_INPUT_ERROR
from interpreter.dev.demo import DemoService

from .processes import SagaCli, TemporalServer, WorkerProcess, connect
from .scan import events_holding, found_in, history_bytes
from .workload import run_input

pytestmark = pytest.mark.timeout(300)

TOKEN, API_KEY, PASSWORD = (f"{kind}-{uuid.uuid4().hex}" for kind in ("tok", "key", "pw"))
BASIC = base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
WORKER_ENV = {
    "SAGA_SECRET_TOKEN": TOKEN,
    "SAGA_SECRET_API_KEY": API_KEY,
    "SAGA_SECRET_PASSWORD": PASSWORD,
}
CliAndWorker = tuple[SagaCli, WorkerProcess]
SECRET_VALUES = (TOKEN, API_KEY, PASSWORD, BASIC)


class _EchoHandler(BaseHTTPRequestHandler):
    """/echo: 200 with the request's headers in the body; /deny: 401 naming the
    credentials; anything else: 200 {"ok": true}."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.startswith("/deny"):
            text = f"invalid credentials {headers.get('authorization')} {headers.get('x-api-key')}"
            self._send(401, {"error": text}, headers)
        elif self.path.startswith("/echo"):
            self._send(200, {"echo": headers}, headers)
        else:
            self._send(200, {"ok": True}, headers)

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Seen-Authorization", headers.get("authorization", ""))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


FAST = {"max_attempts": 2, "initial_interval": "50ms", "max_interval": "50ms"}


def secret_saga(url: str, success_path: str) -> dict[str, Any]:
    bearer = {"bearer": {"secret": "TOKEN"}}
    return {
        "version": 1,
        "name": "secret-handling",
        "services": {"echo": {"url": url, "headers": {"X-Api-Key": {"secret": "API_KEY"}}}},
        "defaults": {"timeout": "5s", "retry": FAST, "compensation": {"retry": FAST}},
        "steps": [
            {
                "name": "login",
                "action": {
                    "service": "echo",
                    "method": "POST",
                    "path": success_path,
                    "auth": bearer,
                },
                "compensation": {
                    "service": "echo",
                    "method": "POST",
                    "path": success_path + "/undo",
                    "auth": {"basic": {"username": "ops", "password": {"secret": "PASSWORD"}}},
                },
            },
            {
                "name": "pay",
                "action": {"service": "echo", "method": "POST", "path": "/deny", "auth": bearer},
                "compensation": "none",
            },
        ],
    }


def report_of(stdout: str) -> dict[str, Any]:
    """The JSON report `saga run --json` printed: stdout holds nothing else."""
    report: dict[str, Any] = json.loads(stdout)
    return report


async def run_and_scan(
    saga_cli: tuple[SagaCli, WorkerProcess],
    server: TemporalServer,
    saga: dict[str, Any],
    folder: Path,
) -> tuple[dict[str, Any], dict[str, list[str]], list[str]]:
    """Run the saga, read it back every way a user can, and look for the secrets.

    Returns the report, {place: secrets found there}, and the history events that hold one.
    """
    cli, worker = saga_cli
    cli.outputs.clear()
    path = folder / "secrets.json"
    path.write_text(json.dumps(saga))
    run = cli("run", str(path), "--json")
    assert run.returncode == 3, run.stderr  # COMPENSATED: /deny refused the payment
    report = report_of(run.stdout)
    cli("status", report["saga_id"], "--json")
    cli("result", report["saga_id"])
    client = await connect(server.address)
    scanned = {
        "history": await history_bytes(client, report["saga_id"]),
        "command output": "\n".join(cli.outputs).encode(),
        "worker log": worker.logs().encode(),
    }
    found = {where: found_in(data, SECRET_VALUES) for where, data in scanned.items()}
    events = await events_holding(client, report["saga_id"], SECRET_VALUES)
    return report, {where: names for where, names in found.items() if names}, events


async def test_secrets_stay_out_of_history_reports_logs_and_errors(
    saga_cli: CliAndWorker, temporal_server: TemporalServer, echo: str, tmp_path: Path
) -> None:
    saga = secret_saga(echo, "/quiet")
    report, found, events = await run_and_scan(saga_cli, temporal_server, saga, tmp_path)
    assert "401" in report["error"] and "[secret]" in report["error"]
    assert found == {}, events


async def test_a_secret_echoed_back_by_a_service_stays_out_of_the_history(
    saga_cli: CliAndWorker, temporal_server: TemporalServer, echo: str, tmp_path: Path
) -> None:
    saga = secret_saga(echo, "/echo")
    _, found, events = await run_and_scan(saga_cli, temporal_server, saga, tmp_path)
    assert found == {}, events


HOSTILE_EXPRESSIONS = [
    "env.HOME",
    "os.environ",
    "process.env",
    "environ['HOME']",
    "file('/etc/passwd')",
    "read('/etc/hostname')",
    "open('/etc/passwd')",
    "__import__('os')",
    "getenv('HOME')",
    "now()",
    "rand()",
    "SAGA_SECRET_TOKEN",
]


@pytest.mark.parametrize("expression", HOSTILE_EXPRESSIONS)
def test_no_expression_can_read_the_environment_or_files(expression: str) -> None:
    saga: dict[str, Any] = {
        "version": 1,
        "name": "hostile",
        "steps": [
            {
                "name": "probe",
                "action": {"url": "http://127.0.0.1:9/x", "method": "POST", "json": {"v": ""}},
                "compensation": "none",
            }
        ],
    }
    saga["steps"][0]["action"]["json"]["v"] = "${ " + expression + " }"
    result = check_text(json.dumps(saga), "hostile.json")
    assert not result.ok
    with pytest.raises(ExpressionError):
        compile_template("${ " + expression + " }").render({"input": {}, "saga": {}, "steps": {}})


def test_python_attribute_names_are_only_map_keys() -> None:
    template = compile_template("${ input.__class__ }")
    assert template.render({"input": {"__class__": "plain data"}}) == "plain data"
    with pytest.raises(ExpressionError):
        template.render({"input": {}})


async def test_input_text_is_never_evaluated_as_an_expression(
    saga_cli: CliAndWorker, tmp_path: Path
) -> None:
    cli, _ = saga_cli
    with DemoService("notes") as notes:
        saga = {
            "version": 1,
            "name": "injection",
            "steps": [
                {
                    "name": "note",
                    "action": {"url": notes.url + "/notes", "method": "POST", "json": "${ input }"},
                    "compensation": "none",
                }
            ],
        }
        path = tmp_path / "injection.json"
        path.write_text(json.dumps(saga))
        payload = {"text": "${ saga.id }", "env": "${ env.HOME }"}
        run = cli.run_saga(path, payload)
        sent = [r.json for r in notes.requests]
    assert run.returncode == 0, run.stderr
    assert sent == [payload]


def limits_saga(url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "limits",
        "input": {"type": "object", "properties": {"blob": {"type": "string"}}},
        "defaults": {"timeout": "10s", "retry": FAST, "compensation": {"retry": FAST}},
        "steps": [
            {
                "name": "hold",
                "action": {"url": url + "/holds", "method": "POST", "json": {"n": 1}},
                "compensation": {
                    "url": url + "/holds/${ steps.hold.output.id }",
                    "method": "DELETE",
                },
            },
            {
                "name": "fetch",
                "action": {"url": url + "/_big", "method": "GET", "query": {"bytes": "2000000"}},
            },
            {
                "name": "upload",
                "action": {"url": url + "/uploads", "method": "POST", "json": "${ input }"},
                "compensation": "none",
            },
        ],
    }


async def test_a_response_over_one_mebibyte_fails_the_step_cleanly(
    saga_cli: CliAndWorker, tmp_path: Path
) -> None:
    cli, worker = saga_cli
    with DemoService("big") as big:
        path = tmp_path / "limits.json"
        path.write_text(json.dumps(limits_saga(big.url)))
        run = cli.run_saga(path, {"blob": "small"})
        fetches = [r for r in big.requests if r.path == "/_big"]
        left = big.resources.get("holds", {})
    report = report_of(run.stdout)
    assert run.returncode == 3, run.stderr
    assert (report["failed_step"], len(fetches)) == ("fetch", 1)  # not retried
    assert "over 1 MiB" in report["error"] and "Traceback" not in run.stderr
    assert left == {} and worker.running


async def test_a_request_body_over_one_mebibyte_is_never_sent(
    saga_cli: CliAndWorker, tmp_path: Path
) -> None:
    cli, _ = saga_cli
    with DemoService("big") as big:
        saga = limits_saga(big.url)
        del saga["steps"][1]
        path = tmp_path / "upload.json"
        path.write_text(json.dumps(saga))
        run = cli.run_saga(path, {"blob": "x" * (1024 * 1024 + 10)})
        uploads = [r for r in big.requests if r.path == "/uploads"]
    report = report_of(run.stdout)
    assert run.returncode == 3, run.stderr
    assert report["failed_step"] == "upload" and "over 1 MiB" in report["error"]
    assert uploads == []


async def test_an_input_too_big_for_temporal_is_refused_with_a_clear_error(
    saga_cli: CliAndWorker, tmp_path: Path
) -> None:
    cli, _ = saga_cli
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(limits_saga("http://127.0.0.1:9")))
    big_input = tmp_path / "input.json"
    big_input.write_text(json.dumps({"blob": "x" * (3 * 1024 * 1024)}))
    run = cli("run", str(path), "--input", f"@{big_input}")
    assert run.returncode != 0
    lines = run.stderr.splitlines()
    assert any(line.startswith("Error:") or ": error:" in line for line in lines), run.stderr
    assert "Traceback" not in run.stderr


async def test_run_json_prints_only_json_even_for_a_large_input(
    saga_cli: CliAndWorker, tmp_path: Path
) -> None:
    cli, _ = saga_cli
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(limits_saga("http://127.0.0.1:9")))
    source = tmp_path / "input.json"
    source.write_text(json.dumps({"blob": "x" * (600 * 1024)}))
    run = cli("run", str(path), "--input", f"@{source}", "--json", "--no-wait")
    assert run.returncode == 0, run.stderr
    assert set(json.loads(run.stdout)) == {"saga_id"}


BAD_INPUTS: tuple[Any, ...] = ({"blob": 5}, [], "text", {"blob": None})


async def test_a_saga_started_around_the_cli_with_a_bad_input_sends_nothing(
    saga_cli: CliAndWorker, temporal_server: TemporalServer
) -> None:
    """The workflow checks the input itself: a client that skips `saga run` gets no
    further than the command line would."""
    cli, _ = saga_cli
    client = await connect(temporal_server.address)
    with DemoService("orders") as orders:
        saga = limits_saga(orders.url)
        handles = [
            await start_saga(
                client,
                run_input(saga, value),
                saga_id=f"bad-input-{uuid.uuid4().hex[:8]}",
                task_queue=cli.task_queue,
            )
            for value in BAD_INPUTS
        ]
        errors = []
        for handle in handles:
            with pytest.raises(WorkflowFailureError) as failed:
                await handle.result()
            errors.append(getattr(failed.value.cause, "type", None))
        sent = orders.requests
    assert errors == [INVALID_INPUT_ERROR] * 4 and sent == []
