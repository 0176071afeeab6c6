"""One Temporal dev server (a subprocess with a persistent file) for the tests of this
folder that are not scenarios; each test gets its own task queue and worker process.

The scenarios start their own servers, since they stop and kill them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .processes import TemporalServer, WorkerProcess, saga_executable


@pytest.fixture(scope="session")
async def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TemporalServer]:
    folder = tmp_path_factory.mktemp("temporal")
    server = TemporalServer(folder / "temporal.db", folder / "temporal.log")
    await server.start()
    yield server
    server.stop()


@dataclass
class SagaCli:
    """`saga` as a user runs it, against the test's server and task queue."""

    address: str
    task_queue: str
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)
    """Everything every command printed, for the secret scan."""

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        saga = saga_executable()
        assert saga is not None, "the saga command is not installed"
        argv = [saga, *args, "--address", self.address]
        if args[0] in ("run", "worker"):
            argv += ["--task-queue", self.task_queue]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env)
        self.outputs += [done.stdout, done.stderr]
        return done

    def run_saga(self, path: Path, value: Any) -> subprocess.CompletedProcess[str]:
        return self("run", str(path), "--input", json.dumps(value), "--json")


@pytest.fixture
async def worker_with(
    temporal_server: TemporalServer, tmp_path: Path
) -> AsyncIterator[Any]:
    """`worker_with(env)` starts a worker process on a fresh task queue; returns (cli, worker)."""
    started: list[WorkerProcess] = []

    async def start(env: dict[str, str]) -> tuple[SagaCli, WorkerProcess]:
        queue = f"security-{uuid.uuid4().hex[:8]}"
        worker = WorkerProcess(temporal_server.address, queue, tmp_path / "worker.log", env=env)
        started.append(worker.start())
        await asyncio.sleep(0)  # the worker polls when ready; sagas wait for it meanwhile
        # The command line gets no secret: whatever it prints came through Temporal.
        return SagaCli(temporal_server.address, queue, dict(os.environ)), worker

    yield start
    for worker in started:
        worker.kill()
