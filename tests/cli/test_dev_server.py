"""The embedded dev server, and `saga dev` started and stopped like a user does (Ctrl-C)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from interpreter.cli import main
from interpreter.cli._session import run_command_line
from interpreter.client._connection import is_listening
from interpreter.dev.devserver import DevServer, DevServerError, find_temporal_binary, free_port

from .conftest import SAGA, Trip

ROOT = Path(__file__).resolve().parents[2]


def test_the_binary_is_the_one_installed_with_the_package() -> None:
    assert find_temporal_binary() == str(Path(sys.executable).parent / "temporal")


async def test_dev_server_keeps_workflows_in_its_file_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "state" / "t.db"
    async with DevServer(port=0, ui_port=None, db_filename=db) as first:
        client = await Client.connect(first.address)
        await client.start_workflow("Saga", id="kept", task_queue="nobody-polls")
    assert not first.running
    assert not is_listening(first.address)

    async with DevServer(port=0, ui_port=None, db_filename=db) as second:
        client = await Client.connect(second.address)
        description = await client.get_workflow_handle("kept").describe()

    assert description.workflow_type == "Saga"


async def test_a_busy_port_is_refused_with_a_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(DevServerError) as caught:
            await DevServer(port=port, ui_port=None).start()

    assert f"port {port} on 127.0.0.1 is already in use" in caught.value.message


class DevProcess:
    """`saga dev` in a subprocess, on free ports."""

    def __init__(self, db: Path) -> None:
        self.port, self.ui_port = free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        args = ["dev", "--port", str(self.port), "--ui-port", str(self.ui_port), "--db", str(db)]
        self.process = subprocess.Popen(
            [SAGA, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.banner = self._read_banner()

    def _read_banner(self) -> str:
        assert self.process.stdout is not None
        lines = []
        for line in self.process.stdout:
            lines.append(line)
            if "Ctrl-C to stop" in line:
                return "".join(lines)
        raise AssertionError(f"saga dev ended early: {self.process.stderr}")

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@pytest.fixture
def dev_process(tmp_path: Path) -> Iterator[DevProcess]:
    dev = DevProcess(tmp_path / "dev.db")
    yield dev
    if dev.process.poll() is None:
        os.kill(dev.process.pid, signal.SIGKILL)
        dev.process.wait()


def _run_on(address: str, trip: Trip, *extra: str) -> int:
    return main(["run", str(trip.path), "--input", trip.input, "--address", address, *extra])


def test_dev_serves_sagas_and_the_ui_and_stops_cleanly_on_ctrl_c(
    dev_process: DevProcess, trip: Trip, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ui = f"http://localhost:{dev_process.ui_port}"
    assert ui in dev_process.banner
    assert (
        f"  saga run sagas/trip-booking.yaml --address {dev_process.address} "
        "--input @sagas/trip-booking.input.json\n"
    ) in dev_process.banner
    assert httpx.get(ui, timeout=10).status_code == 200

    assert _run_on(dev_process.address, trip) == 0
    code, err = dev_process.interrupt()

    assert code == 0
    assert err.rstrip().endswith("Stopped.")
    assert "Traceback" not in err
    deadline = time.monotonic() + 5
    while is_listening(dev_process.address) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_listening(dev_process.address)
    assert (tmp_path / "dev.db").stat().st_size > 0


def test_the_run_command_line_names_a_task_queue_that_is_not_the_default(tmp_path: Path) -> None:
    sagas = tmp_path / "sagas"
    sagas.mkdir()
    (sagas / "trip-booking.yaml").write_text("")
    line = run_command_line("127.0.0.1:7300", "mine", sagas)
    example = sagas / "trip-booking"
    assert line == (
        f"saga run {example}.yaml --address 127.0.0.1:7300 --input @{example}.input.json "
        "--task-queue mine"
    )


def test_the_run_command_line_without_the_examples_has_placeholders(tmp_path: Path) -> None:
    line = run_command_line("127.0.0.1:7233", "sagas", tmp_path / "none")
    assert line == "saga run SAGA.yaml --address 127.0.0.1:7233 --input @INPUT.json"
