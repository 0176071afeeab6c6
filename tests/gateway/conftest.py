"""The real thing: a Temporal dev server and a `saga worker` process per session, demo
HTTP services on loopback, and the gateway itself as a `saga serve` process per test.

Sagas are written into the test's own folder; the gateway serves that folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from interpreter.dev.demo import DemoService
from interpreter.dev.devserver import DevServer, free_port

SAGA = str(Path(sys.executable).parent / "saga")
ENV_VARS = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE")
FAST = {"max_attempts": 2, "initial_interval": "50ms", "backoff": 1.0, "max_interval": "50ms"}
WRITE_KEY, READ_KEY = "w-secret-0123456789", "r-secret-0123456789"


@pytest.fixture(autouse=True)
def no_temporal_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the machine's Temporal settings (env vars or config file)."""
    for name in (*ENV_VARS, "SAGA_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "no-temporal.toml"))


@pytest.fixture(scope="session")
def dev_server() -> Iterator[DevServer]:
    server = DevServer(port=0, ui_port=None)
    asyncio.run(server.start())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def task_queue(dev_server: DevServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A task queue of the session's own, served by a real `saga worker` process."""
    queue = f"gw-{uuid.uuid4().hex[:10]}"
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [SAGA, "worker", "--address", dev_server.address, "--task-queue", queue],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield queue
    worker.terminate()
    worker.wait(30)


@pytest.fixture
def service() -> Iterator[DemoService]:
    with DemoService("svc") as svc:
        yield svc


def step(svc: DemoService, name: str, **keys: Any) -> dict[str, Any]:
    """A POST step on `svc` at /NAME, undone by PUT /undo/NAME."""
    return {
        "name": name,
        "action": {"url": f"{svc.url}/{name}", "method": "POST"},
        "compensation": {"url": f"{svc.url}/undo/{name}", "method": "PUT"},
        **keys,
    }


def definition(name: str, steps: list[dict[str, Any]], **keys: Any) -> dict[str, Any]:
    defaults = {"retry": FAST, "timeout": "5s", "compensation": {"retry": FAST}}
    return {"version": 1, "name": name, "defaults": defaults, "steps": steps, **keys}


ORDER_INPUT = {
    "type": "object",
    "required": ["order_id"],
    "properties": {"order_id": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}


@dataclass
class Gateway:
    """One `saga serve` process on a free port, and an HTTP client for it."""

    folder: Path
    address: str
    task_queue: str
    keys: Path | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        args = [SAGA, "serve", "--sagas", str(self.folder), "--port", str(self.port),
                "--address", self.address, "--task-queue", self.task_queue]  # fmt: skip
        if self.keys is not None:
            args += ["--api-keys", str(self.keys)]
        self.log = self.folder.parent / f"gateway-{self.port}.log"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the gateway did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def write(self, definition: dict[str, Any], file: str | None = None) -> Path:
        path = self.folder / (file or f"{definition['name']}.json")
        path.write_text(json.dumps(definition, indent=1))
        return path

    def client(self, key: str | None = WRITE_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key and self.keys else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=90)

    def wait_for_end(self, run_id: str) -> dict[str, Any]:
        with self.client() as http:
            for _ in range(10):
                answer = http.get(f"/runs/{run_id}/result", params={"wait": "30s"})
                if answer.status_code == 200:
                    return dict(answer.json())
        raise AssertionError(f"run {run_id} did not end")


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def gateway_factory(
    dev_server: DevServer, task_queue: str, tmp_path: Path
) -> Iterator[GatewayFactory]:
    started: list[Gateway] = []

    def make(*, keys: bool = False, address: str | None = None) -> Gateway:
        folder = tmp_path / f"sagas-{len(started)}"
        folder.mkdir()
        keys_file = None
        if keys:
            keys_file = tmp_path / "keys.txt"
            keys_file.write_text(f"# keys\nops:write:{WRITE_KEY}\nviewer:read:{READ_KEY}\n")
        gateway = Gateway(folder, address or dev_server.address, task_queue, keys_file)
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, service: DemoService) -> Gateway:
    """A gateway serving `order` (two steps on `service`, an input schema) and `broken`."""
    gw = gateway_factory()
    gw.write(definition("order", [step(service, "a"), step(service, "b")], input=ORDER_INPUT,
                        output={"a": "${ steps.a.output }"}))  # fmt: skip
    (gw.folder / "broken.yaml").write_text("version: 1\nname: broken\nsteps: []\n")
    return gw.start()


def env_without_keys() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SAGA_API_KEYS_FILE"}
