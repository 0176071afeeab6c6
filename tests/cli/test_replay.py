"""`saga replay`: recorded histories, edited copies, garbage, and runs on a real server."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from interpreter.cli import main

from .conftest import SAGA, Result, Saga, Trip

HISTORIES = Path(__file__).parents[1] / "interpreter" / "histories"
SEQUENCE = HISTORIES / "test_a_sequence_runs_in_list_order_and_returns_the_outputs.json"
RECORDED = sorted(HISTORIES.rglob("*.json"))


def replay(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = main(["replay", *args])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def _edited(tmp_path: Path, name: str, edit: Any) -> Path:
    """A copy of the sequence history with `edit` applied (the committed file is untouched)."""
    history = json.loads(SEQUENCE.read_text(encoding="utf-8"))
    edit(history)
    path = tmp_path / name
    path.write_text(json.dumps(history), encoding="utf-8")
    return path


def _run_id(history_path: Path) -> str:
    events = json.loads(history_path.read_text(encoding="utf-8"))["events"]
    return str(events[0]["workflowExecutionStartedEventAttributes"]["originalExecutionRunId"])


def _rename_first_activity(history: dict[str, Any]) -> None:
    for event in history["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            scheduled["activityId"] = "renamed_step/action"
            return


def _rename_workflow_type(history: dict[str, Any]) -> None:
    history["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"] = (
        "Other"
    )


# --- files ----------------------------------------------------------------------------------


def test_every_recorded_history_replays(capsys: pytest.CaptureFixture[str]) -> None:
    result = replay(capsys, str(HISTORIES))

    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert len([line for line in lines if line.startswith("ok ")]) == len(RECORDED)
    assert lines[-1] == f"Replayed {len(RECORDED)} histories: {len(RECORDED)} ok, 0 did not replay."
    assert f"(run {_run_id(SEQUENCE)})" in result.out


def test_an_edited_history_is_nondeterministic_and_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    edited = _edited(tmp_path, "edited.json", _rename_first_activity)
    result = replay(capsys, str(SEQUENCE), str(edited))

    assert result.code == 6
    ok, bad, summary = result.out.splitlines()
    assert ok.startswith("ok ") and str(SEQUENCE) in ok
    assert bad.startswith(f"NONDETERMINISTIC  {edited}  (run {_run_id(SEQUENCE)}): ")
    assert "Nondeterminism error" in bad and "'renamed_step/action'" in bad
    assert summary == "Replayed 2 histories: 1 ok, 1 did not replay."


def test_the_console_script_reports_without_logs_or_traceback(tmp_path: Path) -> None:
    edited = _edited(tmp_path, "edited.json", _rename_first_activity)
    done = subprocess.run(
        [SAGA, "replay", str(edited)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 6
    assert done.stdout.startswith("NONDETERMINISTIC")
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json at all", "not JSON (Expecting value: line 1 column 1 (char 0))"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "not a workflow history (no list of `events`)"),
        ('{"events": []}', "not a workflow history (no list of `events`)"),
        ('{"events": [{"eventId": "x"}]}', "not a workflow history: "),
        ('{"events": [{"eventId": "1"}]}', "it does not start with the run's start"),
    ],
)
def test_a_file_that_is_not_a_history_exits_1_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes, reason: str
) -> None:
    path = tmp_path / "garbage.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = replay(capsys, str(SEQUENCE), str(path))

    assert result.code == 1
    assert result.err.startswith(f"Error: {path}: ")
    assert reason in result.err
    assert result.out == ""  # nothing is replayed while an input is wrong


def test_a_history_of_another_workflow_type_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = _edited(tmp_path, "other.json", _rename_workflow_type)
    result = replay(capsys, str(other))

    assert result.code == 1
    assert result.err == (
        f"Error: {other}: a history of workflow type 'Other', not of sagas ('Saga')\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to replay: give HISTORY files or folders, or --from-server"),
        (["missing.json"], "no such file or folder: 'missing.json'"),
        ([str(SEQUENCE), "--from-server"], "give HISTORY files or --from-server, not both"),
        ([str(SEQUENCE), "--saga", "trip"], "--saga and --limit go with --from-server"),
        ([str(SEQUENCE), "--limit", "3"], "--saga and --limit go with --from-server"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    result = replay(capsys, *args)
    assert (result.code, result.err) == (2, f"Error: {message}\n")


def test_an_empty_folder_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = replay(capsys, str(tmp_path))
    assert result.code == 2
    assert result.err == f"Error: no *.json histories in the folder {str(tmp_path)!r}\n"


def test_a_limit_that_is_not_positive_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", "--from-server", "--limit", "0"]) == 2
    assert "Invalid value for '--limit': 0 is not in the range x>=1" in capsys.readouterr().err


# --- from the server --------------------------------------------------------------------------


def test_from_server_when_temporal_cannot_be_reached_exits_5(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = replay(capsys, "--from-server", "--address", address)
    assert result.code == 5
    assert result.err.startswith(f"Error: cannot reach Temporal at {address}: ")


def _saga_id(result: Result) -> str:
    report: dict[str, Any] = result.json()
    return str(report["saga_id"])


def test_from_server_replays_the_runs_of_one_saga(saga: Saga, trip: Trip) -> None:
    ours = [_saga_id(saga("run", str(trip.path), "--input", trip.input, "--json")) for _ in "ab"]
    trip.write(name="other-trip")
    other = _saga_id(saga("run", str(trip.path), "--input", trip.input, "--json"))

    result = saga("replay", "--from-server", "--saga", "trip")

    assert result.code == 0, result.out + result.err
    assert other not in result.out
    lines = result.out.splitlines()
    for saga_id in ours:
        assert any(line.startswith(f"ok                {saga_id}  (run ") for line in lines)
    assert lines[-1].endswith(" did not replay.") and ", 0 did not replay." in lines[-1]


def test_from_server_takes_the_newest_runs_up_to_the_limit(saga: Saga, trip: Trip) -> None:
    # A saga of its own: other tests' runs on the shared server may still be open, and
    # Temporal lists open runs before closed ones.
    definition = json.loads(trip.path.read_text())
    definition["name"] = f"trip-{uuid.uuid4().hex[:8]}"
    own = trip.path.with_name("own-trip.json")
    own.write_text(json.dumps(definition))
    first = _saga_id(saga("run", str(own), "--input", trip.input, "--json"))
    newest = _saga_id(saga("run", str(own), "--input", trip.input, "--json"))

    result = saga("replay", "--from-server", "--saga", definition["name"], "--limit", "1")

    assert result.code == 0, result.out + result.err
    assert result.out.splitlines() == [
        result.out.splitlines()[0],
        "Replayed 1 history: 1 ok, 0 did not replay.",
    ]
    assert newest in result.out and first not in result.out
