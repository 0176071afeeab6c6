"""The live progress of `saga run` and the final report, as text (pure unit tests)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from interpreter.cli import _progress
from interpreter.cli._progress import ProgressPrinter, print_report, print_runs
from interpreter.client._runs import RunSummary
from interpreter.contract import SagaReport, SagaStatus, StepReport, StepStatus, StepTransition

START = "2025-01-01T00:00:00+00:00"


def _at(seconds: float) -> str:
    return f"2025-01-01T00:00:{seconds:06.3f}+00:00"


def _step(name: str, *history: tuple[str, float]) -> StepReport:
    transitions = [StepTransition(status, _at(at)) for status, at in history]
    status = StepStatus(history[-1][0]) if history else StepStatus.PENDING
    return StepReport(name, status, attempts=1 if history else 0, transitions=transitions)


def _report(*steps: StepReport, status: SagaStatus = SagaStatus.RUNNING) -> SagaReport:
    return SagaReport("trip-1", "trip", status, steps=list(steps), started_at=START)


def _lines(printer: ProgressPrinter, report: SagaReport) -> list[str]:
    return [line.text.plain for line in printer.changes(report)]


def test_every_transition_is_printed_even_when_a_poll_missed_it() -> None:
    printer = ProgressPrinter(io.StringIO())
    _lines(printer, _report(_step("flight", ("RUNNING", 0.1))))

    late = _report(
        _step("flight", ("RUNNING", 0.1), ("SUCCEEDED", 0.2), ("COMPENSATING", 0.5)),
        _step("hotel", ("RUNNING", 0.3), ("FAILED", 0.4)),
        status=SagaStatus.COMPENSATING,
    )
    lines = _lines(printer, late)

    statuses = [line.split()[:2] for line in lines]
    assert statuses == [
        ["flight", "SUCCEEDED"],
        ["hotel", "RUNNING"],
        ["hotel", "FAILED"],
        ["flight", "COMPENSATING"],
        ["saga", "trip-1"],
    ]
    assert "COMPENSATING" in lines[-1]


def test_a_transition_is_printed_once() -> None:
    printer = ProgressPrinter(io.StringIO())
    report = _report(_step("flight", ("RUNNING", 0.1), ("SUCCEEDED", 0.2)))
    assert len(_lines(printer, report)) == 3  # the saga, then two transitions
    assert _lines(printer, report) == []


def test_a_line_is_timed_from_the_start_of_the_saga() -> None:
    out = io.StringIO()
    ProgressPrinter(out).update(_report(_step("flight", ("RUNNING", 1.5))), elapsed=9.0)
    assert out.getvalue().splitlines()[1].startswith("[   1.50s]   flight")


def test_reports_without_transitions_print_each_status_seen() -> None:
    printer = ProgressPrinter(io.StringIO())
    old = StepReport("flight", StepStatus.RUNNING)
    assert _lines(printer, _report(old))[1].split()[:2] == ["flight", "RUNNING"]
    assert _lines(printer, _report(old)) == []
    done = StepReport("flight", StepStatus.SUCCEEDED, attempts=1)
    assert [line.split()[:2] for line in _lines(printer, _report(done))] == [
        ["flight", "SUCCEEDED"]
    ]


def test_a_parked_saga_says_how_to_resume_it() -> None:
    printer = ProgressPrinter(io.StringIO())
    lines = _lines(printer, _report(status=SagaStatus.PARKED))
    assert lines == [
        "saga trip-1 PARKED (resume it with: saga resume trip-1 --retry | --skip STEP)"
    ]


def test_progress_off_a_terminal_is_plain_text() -> None:
    out = io.StringIO()
    ProgressPrinter(out).update(_report(_step("flight", ("FAILED", 0.1))), elapsed=0.2)
    assert "\033[" not in out.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Terminal()
    ProgressPrinter(out).update(_report(_step("flight", ("FAILED", 0.1))), elapsed=0.2)
    assert "\033[31m" in out.getvalue()


def test_no_color_turns_colour_off_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Terminal()
    ProgressPrinter(out).update(_report(_step("flight", ("FAILED", 0.1))), elapsed=0.2)
    assert "\033[" not in out.getvalue()


def test_the_report_table_is_plain_and_unwrapped_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = "flights answered 409: " + "x" * 60
    failed = StepReport("reserve_flight", StepStatus.FAILED, attempts=3, last_error=error)
    report = _report(failed, status=SagaStatus.COMPENSATED)
    report.reason, report.failed_step = "failure", "reserve_flight"

    print_report(report, as_json=False)

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Saga trip-1 (trip): COMPENSATED, failure at reserve_flight"
    assert lines[2].split() == ["STEP", "STATUS", "ATTEMPTS", "TIME", "NOTE"]
    assert lines[3].split()[:3] == ["reserve_flight", "FAILED", "3"]
    assert lines[3].endswith(error[: _progress.NOTE_WIDTH - 1] + "…")


def test_an_incomplete_saga_names_what_is_not_finished_and_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _report(_step("ship", ("FAILED", 0.1)), status=SagaStatus.INCOMPLETE)
    report.forward_failures = ["ship: failed after the pivot (not compensated): 409"]
    report.notes = ["cancel arrived while the pivot 'charge' was in flight"]

    print_report(report, as_json=False)

    out = capsys.readouterr().out
    assert "Not finished (past the pivot, not undone): ship: failed after the pivot" in out
    assert "Note: cancel arrived while the pivot 'charge' was in flight" in out


def test_json_is_the_report_document(capsys: pytest.CaptureFixture[str]) -> None:
    report = _report(_step("flight", ("RUNNING", 0.1)))
    print_report(report, as_json=True)
    assert json.loads(capsys.readouterr().out) == report.to_dict()


def test_the_runs_list_has_one_row_per_run(capsys: pytest.CaptureFixture[str]) -> None:
    started = datetime(2025, 1, 1, tzinfo=UTC)
    runs = [RunSummary("trip-1", "trip", "COMPLETED", started, started)]
    print_runs(runs)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [
        ["ID", "SAGA", "STATUS"],
        ["trip-1", "trip", "COMPLETED"],
    ]
