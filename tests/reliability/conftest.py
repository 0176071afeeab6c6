"""One Temporal dev server (a subprocess with a persistent file) for the tests of this
folder that are not scenarios; each test gets its own task queue and worker process.

The scenarios start their own servers, since they stop and kill them.
"""

from __future__ import annotations

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
async def temporal_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TemporalServer]:
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
        """Run the saga in `path` with `value` as input (from a file: it may be large)."""
        source = path.with_suffix(".input.json")
        source.write_text(json.dumps(value))
        return self("run", str(path), "--input", f"@{source}", "--json")


@pytest.fixture(scope="module")
async def saga_cli(
    request: pytest.FixtureRequest,
    temporal_server: TemporalServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[SagaCli, WorkerProcess]]:
    """One worker process for the module, on its own task queue, with the environment
    the module names in WORKER_ENV (e.g. secrets); and the `saga` command against it."""
    queue = f"reliability-{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = getattr(request.module, "WORKER_ENV", {})
    worker = WorkerProcess(temporal_server.address, queue, log, env=env).start()
    # The command line gets no secret: whatever it prints came through Temporal.
    yield SagaCli(temporal_server.address, queue, dict(os.environ)), worker
    worker.kill()
