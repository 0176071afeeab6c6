"""Starting and stopping services: ephemeral ports, restarts, the quickstart set."""

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from interpreter.dev.demo import DEMO_PORTS, DemoService, serve_demo


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_port_zero_binds_a_free_port_shown_in_the_url() -> None:
    with DemoService("x") as service:
        assert service.port > 0
        assert service.url == f"http://127.0.0.1:{service.port}"
        assert httpx.get(f"{service.url}/r").status_code == 200


def test_a_stopped_service_refuses_connections() -> None:
    service = DemoService("x").start()
    service.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{service.url}/r")


def test_a_restart_keeps_the_port_and_the_state() -> None:
    service = DemoService("x").start()
    url = service.url
    httpx.post(f"{url}/r", json={})
    service.stop()
    with service.start():
        assert service.url == url
        assert httpx.get(f"{url}/r/r-1").status_code == 200


def test_starting_twice_is_an_error(service: DemoService) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        service.start()


def test_stop_closes_idle_keep_alive_connections(service: DemoService) -> None:
    with httpx.Client(base_url=service.url) as http:
        http.get("/r")
        service.stop()
        with pytest.raises(httpx.TransportError):
            http.get("/r")


def test_a_busy_port_is_reported_by_name(busy_port: int) -> None:
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{busy_port} for flights"):
        DemoService("flights", port=busy_port).start()


def test_serve_demo_starts_every_quickstart_service() -> None:
    services = serve_demo({name: 0 for name in DEMO_PORTS})
    try:
        assert [service.name for service in services] == list(DEMO_PORTS)
        assert len({service.port for service in services}) == len(DEMO_PORTS)
        assert all(httpx.get(f"{s.url}/_state").json() == {} for s in services)
    finally:
        for service in services:
            service.stop()


def test_serve_demo_refuses_an_unknown_service() -> None:
    with pytest.raises(ValueError, match="unknown demo service 'trains'"):
        serve_demo({"trains": 0})


def test_serve_demo_stops_what_it_started_when_a_port_is_busy(busy_port: int) -> None:
    with pytest.raises(OSError, match="for bank"):
        serve_demo({name: 0 for name in DEMO_PORTS} | {"bank": busy_port})
    serving = [thread.name for thread in threading.enumerate()]
    assert not [name for name in serving if name.startswith("demo-")]
