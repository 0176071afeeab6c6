"""`saga demo`: the quickstart in one command, against the session's dev server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from interpreter.client._prepare import parse_input, prepare
from interpreter.dev.demo import DEMO_PORTS, DemoService
from interpreter.dev.quickstart import relocate

from .conftest import Saga

SAGAS = Path(__file__).resolve().parents[2] / "sagas"


def test_the_demo_trip_fails_at_the_car_and_undoes_flight_and_hotel(saga: Saga) -> None:
    result = saga("demo", "--task-queue", saga.task_queue)

    assert result.code == 3
    assert "creates fail on cars (503)" in result.err
    assert "cars       POST   /rentals -> 503 (injected)" in result.err
    assert "flights    DELETE /reservations/reservations-1 -> 204" in result.err
    assert "hotels     DELETE /reservations/reservations-1 -> 204" in result.err
    assert "COMPENSATED" in result.out


def test_the_demo_services_take_free_ports_not_the_fixed_ones(saga: Saga) -> None:
    result = saga("demo", "--no-fail", "--task-queue", saga.task_queue)

    assert result.code == 0
    started = next(line for line in result.err.splitlines() if "Demo services started" in line)
    ports = {name: int(port) for name, port in re.findall(r"(\w+) :(\d+)", started)}
    assert list(ports) == list(DEMO_PORTS)
    assert not set(ports.values()) & set(DEMO_PORTS.values())


def test_the_demo_without_failures_completes(saga: Saga) -> None:
    result = saga("demo", "--no-fail", "--json", "--task-queue", saga.task_queue)

    assert result.code == 0
    assert result.json()["status"] == "COMPLETED"
    assert "DELETE" not in result.err


def test_an_unknown_example_is_a_usage_error(saga: Saga) -> None:
    result = saga("demo", "no-such-saga")
    assert result.code == 2
    assert "Error: Invalid value for '[SAGA]'" in result.err


def test_relocate_moves_service_and_absolute_urls_to_the_running_services() -> None:
    name = "order-fulfilment"
    prepared = prepare(str(SAGAS / f"{name}.yaml"), parse_input(f"@{SAGAS / name}.input.json"))
    services = [DemoService(service, port=40_000 + i) for i, service in enumerate(DEMO_PORTS)]

    moved = relocate(prepared, services)

    text = json.dumps(moved.definition)
    assert re.findall(r"127\.0\.0\.1:(900\d)", text) == []
    assert moved.definition["services"]["shipping"]["url"] == "http://127.0.0.1:40005"
    notify = next(s for s in moved.definition["steps"] if s["name"] == "notify_customer")
    assert notify["action"]["url"] == "http://127.0.0.1:40005/notifications"
    assert moved.definition_hash != prepared.definition_hash
    assert prepared.definition["services"]["shipping"]["url"] == "http://127.0.0.1:9006"
