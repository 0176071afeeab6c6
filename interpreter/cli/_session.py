"""Where a command's Temporal comes from: a configured server, the one on the default
address, or (for `saga run` only) an embedded dev server with an in-process worker.
Also the long-running `saga worker` and `saga dev`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from temporalio.client import Client

from interpreter.client._connection import (
    CannotReachTemporal,
    ConnectionSettings,
    connect,
    is_listening,
)
from interpreter.contract import DEFAULT_TASK_QUEUE
from interpreter.dev.devserver import DevServer

__all__ = ["connect_existing", "dev", "run_command_line", "serve_worker", "temporal_for_run"]

NOTHING_LISTENING = "nothing is listening there (start a server with `saga dev`)"


async def connect_existing(settings: ConnectionSettings) -> Client:
    """A client of a server that must already run (configured, or on the default address)."""
    if not settings.configured and not is_listening(settings.address):
        raise CannotReachTemporal(settings.address, NOTHING_LISTENING)
    return await connect(settings)


@contextlib.asynccontextmanager
async def temporal_for_run(
    settings: ConnectionSettings, task_queue: str, *, allow_embedded: bool = True
) -> AsyncIterator[tuple[Client, bool]]:
    """A client for `saga run`, and whether it talks to an embedded server.

    With no address configured and nothing on the default address, an in-memory dev
    server and a worker on `task_queue` run for as long as the block does.
    """
    if not allow_embedded or settings.configured or is_listening(settings.address):
        yield await connect_existing(settings), False
        return
    print(
        f"No Temporal server at {settings.address}: starting an embedded one for this run…",
        file=sys.stderr,
        flush=True,
    )
    async with _embedded(settings, task_queue) as client:
        yield client, True


@contextlib.asynccontextmanager
async def _embedded(settings: ConnectionSettings, task_queue: str) -> AsyncIterator[Client]:
    from interpreter.worker._worker import build_worker

    # The run's report shows every failed HTTP call; the SDK's warning with a traceback
    # for each one would only bury it.
    activity_logger = logging.getLogger("temporalio.activity")
    level = activity_logger.level
    activity_logger.setLevel(logging.ERROR)
    try:
        async with DevServer(port=0, ui_port=None) as server:
            client = await connect(replace(settings, address=server.address, namespace="default"))
            async with build_worker(client, task_queue):
                yield client
    finally:
        activity_logger.setLevel(level)


async def serve_worker(
    settings: ConnectionSettings,
    task_queue: str,
    *,
    secrets_dir: Path | None,
    max_concurrent_activities: int | None,
    stop: asyncio.Event | None = None,
) -> None:
    """`saga worker`: run until SIGINT/SIGTERM (or `stop`), then shut down cleanly."""
    from interpreter.ops.logs import announce
    from interpreter.worker._worker import run_worker

    client = await connect_existing(settings)
    announce(
        f"Worker polling task queue {task_queue!r} at {settings.address} "
        f"(namespace {settings.namespace}). Ctrl-C to stop.",
        stream=sys.stdout,
        logger="saga.worker",
    )
    await run_worker(
        client,
        task_queue,
        secrets_dir=secrets_dir,
        max_concurrent_activities=max_concurrent_activities,
        stop=stop,
    )
    announce("Worker stopped.", logger="saga.worker")


async def dev(
    server: DevServer,
    task_queue: str,
    *,
    secrets_dir: Path | None,
    stop: asyncio.Event | None = None,
) -> None:
    """`saga dev`: the dev server and a worker in the foreground until Ctrl-C."""
    from interpreter.worker._worker import run_worker

    async with server:
        client = await connect(ConnectionSettings(address=server.address))
        _print_dev_banner(server, task_queue)
        await run_worker(client, task_queue, secrets_dir=secrets_dir, stop=stop)
        print("Stopping the worker and the Temporal dev server…", file=sys.stderr, flush=True)
    print("Stopped.", file=sys.stderr, flush=True)


def _print_dev_banner(server: DevServer, task_queue: str) -> None:
    lines = [
        f"Temporal dev server  {server.address} (namespace default)",
        f"Web UI               {server.ui_url or 'off'}",
        f"Data                 {server.db_filename or 'in memory (lost on exit)'}",
        f"Worker               task queue {task_queue!r}",
        "",
        "Run a saga from another terminal (the example needs `saga demo-services` running):",
        f"  {run_command_line(server.address, task_queue)}",
        "Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def run_command_line(address: str, task_queue: str, sagas: Path = Path("sagas")) -> str:
    """The exact `saga run` command for a server at `address` and a worker on `task_queue`."""
    example = sagas / "trip-booking.yaml"
    if example.is_file():
        file, input_file = str(example), str(sagas / "trip-booking.input.json")
    else:
        file, input_file = "SAGA.yaml", "INPUT.json"
    line = f"saga run {file} --address {address} --input @{input_file}"
    return line if task_queue == DEFAULT_TASK_QUEUE else f"{line} --task-queue {task_queue}"
