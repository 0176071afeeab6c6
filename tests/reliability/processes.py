"""The processes a reliability scenario kills: the Temporal dev server and the workers.

Both run as real subprocesses in their own session, so a SIGKILL hits the process
itself (no shutdown hook, no goodbye to the server), exactly like a crashed host.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from interpreter.dev.devserver import DevServer, free_port

WORKER_SNIPPET = """
import asyncio, sys
from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from interpreter.worker._worker import run_worker

async def main() -> None:
    client = await Client.connect(sys.argv[1])
    await run_worker(client, sys.argv[2])

asyncio.run(main())
"""


def saga_executable() -> str | None:
    beside = Path(sys.executable).parent / "saga"
    return str(beside) if beside.exists() else shutil.which("saga")


@cache
def _saga_worker_available() -> bool:
    saga = saga_executable()
    if saga is None:
        return False
    probe = subprocess.run([saga, "worker", "--help"], capture_output=True, timeout=60)
    return probe.returncode == 0


@cache
def quiet_runtime() -> Runtime:
    """A client runtime that logs only errors: the scenarios stop the server on purpose,
    and the default runtime prints a warning line for every retried call."""
    logging = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    return Runtime(telemetry=TelemetryConfig(logging=logging))


async def connect(address: str) -> Client:
    return await Client.connect(address, runtime=quiet_runtime())


class _Process:
    """A subprocess in its own session, with its output appended to one log file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: signal.Signals, timeout: float = 15.0) -> None:
        """Send `sig` to the whole process group and wait for the process to end."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class TemporalServer(_Process):
    """`temporal server start-dev` on a fixed port with a persistent SQLite file."""

    def __init__(self, db_path: Path, log_path: Path, port: int | None = None) -> None:
        super().__init__(log_path)
        self.port = port or free_port()
        self.db_path = db_path
        self._command = DevServer(port=self.port, ui_port=None, db_filename=db_path).command()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30.0) -> TemporalServer:
        self._spawn(self._command)
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise RuntimeError(f"the Temporal server exited:\n{self.logs()[-2000:]}")
            try:
                await connect(self.address)
                return self
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)


class WorkerProcess(_Process):
    """The generic worker as its own process: `saga worker`, or `run_worker` directly."""

    def __init__(
        self,
        address: str,
        task_queue: str,
        log_path: Path,
        env: dict[str, str] | None = None,
        use_cli: bool | None = None,
    ) -> None:
        super().__init__(log_path)
        self.address, self.task_queue = address, task_queue
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.use_cli = _saga_worker_available() if use_cli is None else use_cli

    def argv(self) -> list[str]:
        if self.use_cli:
            saga = saga_executable()
            assert saga is not None
            return [saga, "worker", "--address", self.address, "--task-queue", self.task_queue]
        return [sys.executable, "-c", WORKER_SNIPPET, self.address, self.task_queue]

    def start(self) -> WorkerProcess:
        self._spawn(self.argv(), self.env)
        return self

    def restart(self) -> WorkerProcess:
        self.kill()
        return self.start()


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
