"""`saga run`, `status`, `result`, `list`, `cancel`, `resume` against a real server and worker."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from typing import Any

from temporalio.client import Client

from interpreter.dev.devserver import DevServer
from tests._signals import interruptible

from .conftest import FAST, SAGA, LoopThread, Result, Saga, Trip


def _fail_always(service: Any, method: str, status: int = 409) -> None:
    service.fail(method, None, status, times=None)


def _wait_for_step(saga: Saga, saga_id: str, step: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report: dict[str, Any] = saga("status", saga_id, "--json").json()
        if any(s["name"] == step and s["status"] == status for s in report["steps"]):
            return report
        time.sleep(0.1)
    raise AssertionError(f"{step} never reached {status}")


def _wait_for_status(saga: Saga, saga_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report: dict[str, Any] = saga("status", saga_id, "--json").json()
        if report["status"] == status:
            return report
        time.sleep(0.1)
    raise AssertionError(f"saga never reached {status}")


def test_completed_saga_prints_a_table_and_exits_0(saga: Saga, trip: Trip) -> None:
    result = saga("run", str(trip.path), "--input", trip.input)

    assert result.code == 0, result.err
    assert "COMPLETED" in result.out.splitlines()[0]
    for step in ("reserve_flight", "reserve_hotel", "reserve_car"):
        assert any(step in line and "SUCCEEDED" in line for line in result.out.splitlines())
    assert '"flight": "reservations-1"' in result.out
    assert len(trip.cars.resources["rentals"]) == 1


def test_progress_goes_to_stderr_one_line_per_change(saga: Saga, trip: Trip) -> None:
    result = saga("run", str(trip.path), "--input", trip.input)

    assert "Started saga trip-" in result.err
    assert any("reserve_car" in ln and "SUCCEEDED" in ln for ln in result.err.splitlines())
    assert result.err.rstrip().endswith("COMPLETED")


def test_json_prints_one_report_document(saga: Saga, trip: Trip) -> None:
    result = saga("run", str(trip.path), "--input", trip.input, "--json")

    report = result.json()
    assert result.code == 0
    assert report["status"] == "COMPLETED"
    assert report["saga_name"] == "trip"
    assert report["output"] == {"flight": "reservations-1"}
    assert [s["name"] for s in report["steps"]] == [
        "reserve_flight",
        "reserve_hotel",
        "reserve_car",
    ]
    assert all(s["status"] == "SUCCEEDED" and s["attempts"] == 1 for s in report["steps"])


def test_failed_step_compensates_and_exits_3(saga: Saga, trip: Trip) -> None:
    _fail_always(trip.cars, "POST")

    result = saga("run", str(trip.path), "--input", trip.input, "--json")

    report = result.json()
    assert result.code == 3
    assert (report["status"], report["reason"]) == ("COMPENSATED", "failure")
    assert report["failed_step"] == "reserve_car"
    assert trip.flights.resources["reservations"] == {}
    assert trip.hotels.resources["bookings"] == {}


def test_failed_compensation_exits_4_and_lists_it(saga: Saga, trip: Trip) -> None:
    _fail_always(trip.cars, "POST")
    _fail_always(trip.flights, "DELETE", 500)

    result = saga("run", str(trip.path), "--input", trip.input, "--json")

    report = result.json()
    assert result.code == 4
    assert report["status"] == "COMPENSATION_FAILED"
    assert [f.split(":")[0] for f in report["compensation_failures"]] == ["reserve_flight"]


def test_invalid_input_exits_1_before_contacting_temporal(saga: Saga, trip: Trip) -> None:
    result = saga("run", str(trip.path), "--input", '{"traveller": "ada"}')

    assert result.code == 1
    assert result.err.startswith("--input:1:1: error:")
    assert "trip_id" in result.err
    assert "Started" not in result.err
    assert trip.flights.requests == []


def test_invalid_file_exits_1_with_positioned_diagnostics(
    saga: Saga, trip: Trip, capsys: Any
) -> None:
    trip.write(steps=[{"name": "Bad Name", "action": {"url": "http://x", "method": "POST"}}])

    result = saga("run", str(trip.path), "--input", trip.input)

    assert result.code == 1
    assert result.out == ""
    first = result.err.splitlines()[0]
    assert first.startswith(f"{trip.path}:") and ": error: " in first
    assert "Traceback" not in result.err


def test_no_wait_prints_the_id_then_status_and_result_follow(saga: Saga, trip: Trip) -> None:
    started = saga("run", str(trip.path), "--input", trip.input, "--id", "trip-nowait", "--no-wait")
    assert (started.code, started.out.strip()) == (0, "trip-nowait")

    result = saga("result", "trip-nowait")
    assert result.code == 0
    assert json.loads(result.out) == {"flight": "reservations-1"}

    status = saga("status", "trip-nowait", "--json")
    assert status.code == 0
    assert status.json()["status"] == "COMPLETED"
    assert len(status.json()["steps"]) == 3


def test_result_of_a_compensated_saga_exits_3(saga: Saga, trip: Trip) -> None:
    _fail_always(trip.hotels, "POST")
    saga("run", str(trip.path), "--input", trip.input, "--id", "trip-result-3", "--no-wait")

    result = saga("result", "trip-result-3")

    assert result.code == 3
    assert result.out == ""
    assert "ended COMPENSATED (failure at reserve_hotel)" in result.err


def test_an_id_that_is_running_is_refused(saga: Saga, trip: Trip) -> None:
    trip.flights.delay(10)
    args = ("run", str(trip.path), "--input", trip.input, "--id", "trip-dup", "--no-wait")
    assert saga(*args).code == 0

    again = saga(*args)

    assert again.code == 1
    last = again.err.strip().splitlines()[-1]  # after the test saga's own warning
    assert last.startswith("Error: a saga with id 'trip-dup' already exists")
    saga("cancel", "trip-dup")


def test_an_id_whose_saga_has_ended_is_refused_too(saga: Saga, trip: Trip) -> None:
    args = ("run", str(trip.path), "--input", trip.input, "--id", "trip-once")
    assert saga(*args).code == 0
    sent = len(trip.flights.requests)

    again = saga(*args)

    assert again.code == 1
    assert "already exists (running or finished)" in again.err
    assert len(trip.flights.requests) == sent


def test_list_shows_the_run_with_name_and_status(saga: Saga, trip: Trip) -> None:
    saga("run", str(trip.path), "--input", trip.input, "--id", "trip-listed")

    listed = saga("list", "--json")
    table = saga("list")

    runs = {run["saga_id"]: run for run in listed.json()}
    assert runs["trip-listed"]["saga_name"] == "trip"
    assert runs["trip-listed"]["status"] == "COMPLETED"
    assert any(
        ln.split()[:3] == ["trip-listed", "trip", "COMPLETED"] for ln in table.out.splitlines()
    )


def test_cancel_compensates_with_reason_cancel(saga: Saga, trip: Trip) -> None:
    # The hotel applies the request and answers too late: cancelled while it waits, the
    # step's outcome is uncertain, so before its undo the request is sent again (once
    # more, same Idempotency-Key: answered at once) and the reservation it made is deleted.
    trip.hotels.delay(30, times=1)
    saga("run", str(trip.path), "--input", trip.input, "--id", "trip-cancel", "--no-wait")
    _wait_for_step(saga, "trip-cancel", "reserve_flight", "SUCCEEDED")

    cancelled = saga("cancel", "trip-cancel")
    result = saga("result", "trip-cancel")

    assert cancelled.code == 0
    assert result.code == 3
    report = saga("status", "trip-cancel", "--json").json()
    assert (report["status"], report["reason"]) == ("COMPENSATED", "cancel")
    assert trip.flights.resources["reservations"] == {}
    assert not trip.hotels.resources.get("reservations")


def test_cancel_of_an_ended_saga_is_refused(saga: Saga, trip: Trip) -> None:
    saga("run", str(trip.path), "--input", trip.input, "--id", "trip-ended")

    result = saga("cancel", "trip-ended")

    assert result.code == 1
    assert "has already ended" in result.err


def test_resume_retry_unparks_a_saga_once_the_service_is_back(saga: Saga, trip: Trip) -> None:
    trip.write(on_compensation_failure="park")
    _fail_always(trip.cars, "POST")
    trip.flights.fail("DELETE", None, 500, times=2)  # both compensation attempts fail
    saga("run", str(trip.path), "--input", trip.input, "--id", "trip-parked", "--no-wait")
    _wait_for_status(saga, "trip-parked", "PARKED")

    resumed = saga("resume", "trip-parked", "--retry")
    result = saga("result", "trip-parked")

    assert resumed.code == 0, resumed.err
    assert result.code == 3
    assert trip.flights.resources["reservations"] == {}


def test_resume_skip_gives_up_on_one_compensation(saga: Saga, trip: Trip) -> None:
    trip.write(on_compensation_failure="park")
    _fail_always(trip.cars, "POST")
    _fail_always(trip.flights, "DELETE", 500)
    saga("run", str(trip.path), "--input", trip.input, "--id", "trip-skip", "--no-wait")
    _wait_for_status(saga, "trip-skip", "PARKED")

    resumed = saga("resume", "trip-skip", "--skip", "reserve_flight")

    assert resumed.code == 0, resumed.err
    assert saga("result", "trip-skip").code == 3
    report = saga("status", "trip-skip", "--json").json()
    assert report["steps"][0]["compensation_skipped"] is True


def test_resume_of_a_saga_that_is_not_parked_is_refused(saga: Saga, trip: Trip) -> None:
    trip.hotels.delay(30)
    saga("run", str(trip.path), "--input", trip.input, "--id", "trip-unparked", "--no-wait")
    _wait_for_step(saga, "trip-unparked", "reserve_flight", "SUCCEEDED")

    result = saga("resume", "trip-unparked", "--retry")

    assert result.code == 1
    assert result.err.startswith("Error: cannot resume trip-unparked:")
    assert "not PARKED" in result.err
    saga("cancel", "trip-unparked")


def test_unknown_id_is_an_error_for_every_command(saga: Saga) -> None:
    for command in (["status"], ["result"], ["cancel"], ["resume", "--retry"]):
        result: Result = saga(command[0], "no-such-saga", *command[1:])
        assert result.code == 1, command
        assert result.err.strip() == "Error: no saga with id 'no-such-saga'", command


def test_ctrl_c_stops_following_but_not_the_saga(saga: Saga, trip: Trip) -> None:
    trip.hotels.delay(30)
    # The hotel's request outlives the test: on a loaded machine the Ctrl-C must still
    # find the saga running (with the usual 5 s timeout it could already have failed).
    trip.write(defaults={"timeout": "60s", "retry": FAST, "compensation": {"retry": FAST}})
    command = [SAGA, "run", str(trip.path), "--input", trip.input, "--id", "trip-detach"]
    command += ["--address", saga.address, "--task-queue", saga.task_queue]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    assert process.stderr is not None
    line = ""
    while not ("reserve_hotel" in line and "RUNNING" in line):  # its progress line
        line = process.stderr.readline()

    process.send_signal(signal.SIGINT)
    err = process.stderr.read()
    process.wait(10)

    assert process.returncode == 130
    assert "Stopped following trip-detach" in err
    assert "Traceback" not in err
    assert saga("status", "trip-detach", "--json").json()["status"] == "RUNNING"
    saga("cancel", "trip-detach")


def test_status_without_a_worker_says_what_it_cannot_tell(
    saga: Saga, trip: Trip, dev_server: DevServer, loop_thread: LoopThread
) -> None:
    started = saga("run", str(trip.path), "--input", trip.input, "--id", "trip-alone",
                   "--no-wait", "--task-queue", "nobody-polls-this")  # fmt: skip
    assert started.code == 0

    status = saga("status", "trip-alone", "--json")

    assert status.code == 0
    assert status.json()["status"] == "RUNNING"
    assert "no worker answered" in status.err

    # With no worker a cancel is never carried out: end the run, so the runs listed
    # later (newest open runs first) do not start with this one.
    async def terminate() -> None:
        client = await Client.connect(dev_server.address)
        await client.get_workflow_handle("trip-alone").terminate("test over")

    loop_thread.run(terminate())
