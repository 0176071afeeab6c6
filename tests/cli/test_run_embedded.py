"""`saga run` with no server configured and none on the default address: an embedded one."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from interpreter.cli import main
from interpreter.dev.devserver import free_port

from .conftest import SAGA, Trip

EMBEDDED = "starting an embedded one for this run…"


def _dev_servers_of(parent: int) -> set[int]:
    """Pids of the `temporal server start-dev` processes started by `parent`."""
    found = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes()
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"start-dev" in command:
            found.add(int(entry.name))
    return found


@pytest.fixture
def nothing_listening(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the default address at a port nothing listens on (never rely on 7233 being free)."""
    address = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("SAGA_DEFAULT_ADDRESS", address)
    return address


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_run_starts_an_embedded_server_and_worker_and_stops_them(
    trip: Trip, nothing_listening: str
) -> None:
    run = subprocess.Popen(
        [SAGA, "run", str(trip.path), "--input", trip.input, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    servers: set[int] = set()
    while run.poll() is None:
        servers |= _dev_servers_of(run.pid)
        time.sleep(0.05)
    out, err = run.communicate()

    assert run.returncode == 0, err
    assert f"No Temporal server at {nothing_listening}: {EMBEDDED}" in err
    assert json.loads(out)["status"] == "COMPLETED"
    assert "Traceback" not in err
    assert len(servers) == 1
    assert not Path(f"/proc/{servers.pop()}").exists()


def test_embedded_run_reports_compensation_like_any_other(
    trip: Trip, nothing_listening: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trip.cars.fail("POST", None, 409, times=None)

    code = main(["run", str(trip.path), "--input", trip.input])

    captured = capsys.readouterr()
    assert code == 3
    assert EMBEDDED in captured.err
    assert "COMPENSATED, failure at reserve_car" in captured.out
    # The SDK's per-failure warning (with a traceback) is kept out of the run's output.
    assert "Traceback" not in captured.err


def test_an_address_that_is_configured_is_never_replaced(
    trip: Trip, nothing_listening: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(trip.path), "--input", trip.input, "--address", nothing_listening])

    captured = capsys.readouterr()
    assert code == 5
    assert EMBEDDED not in captured.err
    last = captured.err.splitlines()[-1]  # after the test saga's own warning
    assert last.startswith(f"Error: cannot reach Temporal at {nothing_listening}:")


def test_no_wait_needs_a_running_server(
    trip: Trip, nothing_listening: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(trip.path), "--input", trip.input, "--no-wait"])

    assert code == 5
    assert "start a server with `saga dev`" in capsys.readouterr().err
