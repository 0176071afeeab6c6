"""The runtime commands against real things: one Temporal dev server per session (started by
`interpreter.dev.devserver`, from the pip-installed binary), a worker per test on its own task
queue, and demo HTTP services on loopback.

The command under test runs its own event loop (`asyncio.run` in `main`), so the worker
lives on another loop, in a background thread, and keeps serving while the command blocks.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from interpreter.cli import main
from interpreter.dev.demo import DemoService
from interpreter.dev.devserver import DevServer
from interpreter.worker._worker import build_worker

T = TypeVar("T")
SAGA = str(Path(sys.executable).parent / "saga")
ENV_VARS = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE")

# Retries that surface a failure in milliseconds.
FAST = {"max_attempts": 2, "initial_interval": "50ms", "backoff": 1.0, "max_interval": "50ms"}


class LoopThread:
    """An event loop in a daemon thread, for what must run while a test blocks."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="session")
def dev_server(loop_thread: LoopThread) -> Iterator[DevServer]:
    server = DevServer(port=0, ui_port=None)
    loop_thread.run(server.start())
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_temporal_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the machine's Temporal settings (env vars or config file)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "no-temporal.toml"))


@pytest.fixture
def task_queue(dev_server: DevServer, loop_thread: LoopThread) -> Iterator[str]:
    """A task queue of the test's own, served by a real worker."""
    queue = f"cli-{uuid.uuid4().hex[:10]}"

    async def start() -> tuple[Worker, asyncio.Future[None]]:
        client = await Client.connect(dev_server.address)
        worker = build_worker(client, queue)
        return worker, asyncio.ensure_future(worker.run())

    worker, running = loop_thread.run(start())
    yield queue

    async def stop() -> None:
        await worker.shutdown()
        await running

    loop_thread.run(stop())


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Saga:
    """Runs `saga` commands in-process against the session's server and the test's queue."""

    address: str
    task_queue: str
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        extra = ["--address", self.address]
        if args[0] == "run" and "--task-queue" not in args:
            extra += ["--task-queue", self.task_queue]
        code = main([*args, *extra])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def saga(dev_server: DevServer, task_queue: str, capsys: pytest.CaptureFixture[str]) -> Saga:
    return Saga(dev_server.address, task_queue, capsys)


@dataclass
class Trip:
    """Three services and a saga file that reserves a flight, a hotel and a car."""

    flights: DemoService
    hotels: DemoService
    cars: DemoService
    path: Path
    input: str

    def write(self, **top: Any) -> Path:
        """Rewrite the saga file with top-level keys added or replaced."""
        self.path.write_text(json.dumps({**trip_definition(self), **top}, indent=2))
        return self.path


def _step(name: str, service: str, collection: str) -> dict[str, Any]:
    return {
        "name": name,
        "action": {"service": service, "method": "POST", "path": f"/{collection}",
                   "json": {"trip": "${ input.trip_id }"}},
        "compensation": {"service": service, "method": "DELETE",
                         "path": f"/{collection}/${{ steps.{name}.output.id }}"},
    }  # fmt: skip


def trip_definition(trip: Trip) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "trip",
        "input": {"type": "object", "required": ["trip_id"]},
        "services": {
            "flights": {"url": trip.flights.url},
            "hotels": {"url": trip.hotels.url},
            "cars": {"url": trip.cars.url},
        },
        "defaults": {"timeout": "5s", "retry": FAST, "compensation": {"retry": FAST}},
        "steps": [
            _step("reserve_flight", "flights", "reservations"),
            _step("reserve_hotel", "hotels", "bookings"),
            _step("reserve_car", "cars", "rentals"),
        ],
        "output": {"flight": "${ steps.reserve_flight.output.id }"},
    }


@pytest.fixture
def trip(tmp_path: Path) -> Iterator[Trip]:
    with (
        DemoService("flights") as flights,
        DemoService("hotels") as hotels,
        DemoService("cars") as cars,
    ):
        input_path = tmp_path / "trip-input.json"
        input_path.write_text('{"trip_id": "t-1"}')
        value = Trip(flights, hotels, cars, tmp_path / "trip.json", f"@{input_path}")
        value.write()
        yield value


def _run_process(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SAGA, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def saga_process() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs the installed `saga` script in a subprocess (environment: the test's)."""
    return _run_process
