"""`python -m interpreter.dev.demo`: serves until SIGTERM or Ctrl-C, with --fail options."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from interpreter.dev.demo import DEMO_PORTS, main, ports_from
from tests._signals import interruptible

ROOT = Path(__file__).resolve().parents[2]
ANY_PORT = ["--port-base", "0"]


class Demo:
    """The demo command in a child process, with the urls it printed."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "interpreter.dev.demo", *ANY_PORT, *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=interruptible,
        )  # fmt: skip
        assert self.process.stdout is not None
        # On free ports, the banner ends with the variable of the last service.
        self.banner: list[str] = []
        for line in self.process.stdout:
            self.banner.append(line)
            if line.startswith("  SAGA_SERVICE_BANK_URL="):
                break
        self.urls = dict(line.split() for line in self.banner[1 : len(DEMO_PORTS) + 1])

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=10)
        return self.process.returncode, out


@pytest.fixture
def demo_failing_cars() -> Iterator[Demo]:
    demo = Demo("--fail", "cars")
    yield demo
    if demo.process.poll() is None:
        demo.process.kill()
        demo.process.wait()


def test_the_banner_lists_every_service_url(demo_failing_cars: Demo) -> None:
    assert demo_failing_cars.banner[0].startswith("Demo services")
    assert list(demo_failing_cars.urls) == list(DEMO_PORTS)
    assert all(url.startswith("http://127.0.0.1:") for url in demo_failing_cars.urls.values())


def test_fail_makes_creates_on_that_service_fail(demo_failing_cars: Demo) -> None:
    urls = demo_failing_cars.urls
    rejected = httpx.post(f"{urls['cars']}/rentals", json={})
    assert (rejected.status_code, rejected.json()) == (
        500,
        {"error": "cars: injected failure (--fail)"},
    )
    assert httpx.put(f"{urls['cars']}/rentals/r1", json={}).status_code == 500
    assert httpx.post(f"{urls['flights']}/reservations", json={}).status_code == 201


def test_sigterm_stops_cleanly_after_logging_requests(demo_failing_cars: Demo) -> None:
    httpx.post(f"{demo_failing_cars.urls['hotels']}/reservations", json={})
    code, out = demo_failing_cars.stop(signal.SIGTERM)
    assert code == 0
    assert "hotels     POST   /reservations -> 201" in out
    assert out.rstrip().endswith("Demo services stopped.")


def test_ctrl_c_stops_cleanly(demo_failing_cars: Demo) -> None:
    code, out = demo_failing_cars.stop(signal.SIGINT)
    assert (code, out.rstrip().splitlines()[-1]) == (0, "Demo services stopped.")


def test_fail_on_one_collection_leaves_the_others_alone() -> None:
    demo = Demo("--fail", "bank/credits:409")
    try:
        bank = demo.urls["bank"]
        assert httpx.put(f"{bank}/debits/t1", json={}).status_code == 201
        assert httpx.put(f"{bank}/credits/t1", json={}).status_code == 409
    finally:
        assert demo.stop()[0] == 0


def test_an_unknown_service_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fail", "trains"]) == 2
    assert "unknown service 'trains'" in capsys.readouterr().err


def test_an_invalid_status_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fail", "cars:oops"]) == 2
    assert "invalid status 'oops'" in capsys.readouterr().err


def test_a_busy_port_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code = main([*ANY_PORT, "--port", f"cars={port}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"Error: cannot listen on 127.0.0.1:{port} for cars: Address already in use\n"


def test_the_banner_names_the_variables_that_point_a_worker_at_moved_services(
    demo_failing_cars: Demo,
) -> None:
    banner = "".join(demo_failing_cars.banner)
    for name, url in demo_failing_cars.urls.items():
        assert f"  SAGA_SERVICE_{name.upper()}_URL={url}\n" in banner


def test_a_port_base_numbers_the_services_in_order() -> None:
    assert ports_from(9101) == {name: 9101 + i for i, name in enumerate(DEMO_PORTS)}
    assert ports_from(9101, {"cars": 0})["cars"] == 0
    assert ports_from(None) == DEMO_PORTS
    assert set(ports_from(0).values()) == {0}


def test_one_port_given_by_name_wins_over_the_base(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code = main(["--port-base", "0", "--port", f"hotels={port}"])
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port} for hotels" in capsys.readouterr().err
