"""How a WAITING step reads in reports: the time it has waited and its deadline."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from interpreter.cli._progress import ProgressPrinter, waiting_note
from interpreter.contract import SagaReport, StepReport, StepStatus, StepTransition

SINCE = "2025-03-01T09:00:00+00:00"
DEADLINE = "2025-03-04T09:00:00+00:00"


def waiting(**keys: Any) -> StepReport:
    return StepReport(
        "approval",
        StepStatus.WAITING,
        waiting_since=SINCE,
        deadline=DEADLINE,
        transitions=[StepTransition("WAITING", SINCE)],
        **keys,
    )


def test_a_waiting_step_shows_how_long_it_has_waited_and_its_deadline() -> None:
    now = datetime(2025, 3, 1, 10, 5, 30, tzinfo=UTC)
    assert waiting_note(waiting(), now) == "waiting 1h05m, deadline 2025-03-04 09:00:00Z"


def test_short_waits_read_in_minutes_and_seconds() -> None:
    now = datetime(2025, 3, 1, 9, 2, 7, tzinfo=UTC)
    assert waiting_note(waiting(), now) == "waiting 2m07s, deadline 2025-03-04 09:00:00Z"


def test_data_that_arrived_is_mentioned() -> None:
    now = datetime(2025, 3, 1, 9, 0, 3, tzinfo=UTC)
    note = waiting_note(waiting(signal_at="2025-03-01T09:00:02+00:00"), now)
    assert note == "waiting 3s, deadline 2025-03-04 09:00:00Z, data received"


def test_other_steps_have_no_waiting_note() -> None:
    assert waiting_note(StepReport("pay", StepStatus.RUNNING, waiting_since=SINCE)) == ""


def test_live_progress_prints_the_wait_with_its_deadline() -> None:
    out = io.StringIO()
    report = SagaReport("expense-1", "expense", steps=[waiting()])
    ProgressPrinter(out, colour=False).update(report, 1.0)
    assert "approval" in out.getvalue() and "WAITING" in out.getvalue()
    assert "deadline 2025-03-04 09:00:00Z" in out.getvalue()
