"""One Temporal dev server (a subprocess with a persistent file) for the tests of this
folder that are not scenarios; each test gets its own task queue and worker process.

The scenarios start their own servers, since they stop and kill them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from .processes import SagaCli, TemporalServer, WorkerProcess


@pytest.fixture(scope="session")
async def temporal_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TemporalServer]:
    folder = tmp_path_factory.mktemp("temporal")
    server = TemporalServer(folder / "temporal.db", folder / "temporal.log")
    await server.start()
    yield server
    server.stop()


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
