"""`saga demo`: the quickstart in one command, against the session's dev server."""

from __future__ import annotations

from conftest import Saga


def test_the_demo_trip_fails_at_the_car_and_undoes_flight_and_hotel(saga: Saga) -> None:
    result = saga("demo", "--task-queue", saga.task_queue)

    assert result.code == 3
    assert "creates fail on cars (503)" in result.err
    assert "cars       POST   /rentals -> 503 (injected)" in result.err
    assert "flights    DELETE /reservations/reservations-1 -> 204" in result.err
    assert "hotels     DELETE /reservations/reservations-1 -> 204" in result.err
    assert "COMPENSATED" in result.out


def test_the_demo_without_failures_completes(saga: Saga) -> None:
    result = saga("demo", "--no-fail", "--json", "--task-queue", saga.task_queue)

    assert result.code == 0
    assert result.json()["status"] == "COMPLETED"
    assert "DELETE" not in result.err


def test_an_unknown_example_is_a_usage_error(saga: Saga) -> None:
    result = saga("demo", "no-such-saga")
    assert result.code == 2
    assert "Error: Invalid value for '[SAGA]'" in result.err
