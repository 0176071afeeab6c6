"""How a saga's report looks on a terminal: live progress lines and the final table.

Progress goes to stderr, one line per status a step entered (none skipped, even when a
poll came late) and per change of the saga's status; the final report (table or JSON)
goes to stdout, so `saga run ... --json | jq` sees only the report. rich draws the
tables and colours, colour only on a terminal and never when NO_COLOR is set; anywhere
else the output is plain text that is never wrapped.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from interpreter.contract import SagaReport, SagaStatus, StepReport, StepStatus

if TYPE_CHECKING:
    from interpreter.client._runs import Outcome, RunSummary

__all__ = [
    "ProgressPrinter",
    "console",
    "ended_line",
    "print_outcome",
    "print_report",
    "print_runs",
    "use_colour",
]

STYLES = {
    "SUCCEEDED": "green",
    "COMPLETED": "green",
    "FAILED": "red",
    "COMPENSATION_FAILED": "red",
    "INCOMPLETE": "red",
    "PARKED": "red",
    "COMPENSATED": "yellow",
    "COMPENSATING": "yellow",
    "CANCELLED": "yellow",
    "RUNNING": "cyan",
    "WAITING": "cyan",
}
NOTE_WIDTH = 70
PLAIN_WIDTH = 10_000
"""Off a terminal nothing is wrapped: a line is as long as its text."""


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def console(stream: TextIO, *, colour: bool | None = None) -> Console:
    """A rich console on `stream`: styled on a terminal (unless NO_COLOR), else plain."""
    styled = use_colour(stream) if colour is None else colour
    return Console(
        file=stream,
        force_terminal=styled,
        no_color=not styled,
        color_system="auto" if styled else None,
        width=None if stream.isatty() else PLAIN_WIDTH,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=True,
    )


def _status(status: str, width: int = 0) -> Text:
    """A status name, coloured by what it means."""
    name = str(status)
    return Text(name.ljust(width), style=STYLES.get(name, ""))


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment)
    except ValueError:
        return None


def _seconds_between(start: str | None, end: str | None) -> float | None:
    first, last = _parse(start), _parse(end)
    return (last - first).total_seconds() if first and last else None


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def waiting_note(step: StepReport, now: datetime | None = None) -> str:
    """`waiting 1m05s, deadline 2025-01-02 10:00:00Z`: how long a WAITING step has waited
    (by this machine's clock) and when its wait times out; "" for any other step."""
    since, deadline = _parse(step.waiting_since), _parse(step.deadline)
    if step.status != StepStatus.WAITING or since is None:
        return ""
    waited = max(((now or datetime.now(UTC)) - since).total_seconds(), 0.0)
    note = f"waiting {_format_wait(waited)}"
    if deadline is not None:
        note += f", deadline {deadline.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"
    return note + (", data received" if step.signal_at else "")


def _format_wait(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _step_detail(step: StepReport) -> str:
    if step.status == StepStatus.WAITING:
        return waiting_note(step)
    parts = [_format_seconds(_seconds_between(step.started_at, step.finished_at))]
    if step.attempts > 1:
        parts.append(f"{step.attempts} attempts")
    if step.status == StepStatus.FAILED and step.last_error:
        parts.append(step.last_error)
    if step.compensation_attempts > 1:
        parts.append(f"{step.compensation_attempts} undo attempts")
    if step.status == StepStatus.COMPENSATION_FAILED:
        parts.append(f"undo failed: {step.compensation_error or 'unknown error'}")
    if step.compensation_skipped:
        parts.append("undo skipped by an operator")
    return ", ".join(part for part in parts if part)


# --- live progress --------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    at: float
    """Seconds since the saga started (or since following began, when unknown)."""
    text: Text


class ProgressPrinter:
    """Prints, at each poll, every step transition and saga status not printed yet."""

    def __init__(self, stream: TextIO, *, colour: bool | None = None) -> None:
        self.console = console(stream, colour=colour)
        self._saga_status: SagaStatus | None = None
        self._printed: dict[str, int] = {}
        """Per step: transitions printed (or, for reports without them, 1 per status seen)."""
        self._statuses: dict[str, StepStatus] = {}

    def update(self, report: SagaReport, elapsed: float) -> None:
        for line in self.changes(report, elapsed):
            self.console.print(Text(f"[{line.at:7.2f}s] ").append_text(line.text))
        self.console.file.flush()

    def changes(self, report: SagaReport, elapsed: float = 0.0) -> list[_Line]:
        steps: list[tuple[float, int, _Line]] = []
        for index, step in enumerate(report.steps):
            for line in self._step_lines(report, step, elapsed):
                steps.append((line.at, index, line))
        lines = [line for *_, line in sorted(steps, key=lambda item: item[:2])]
        if report.status != self._saga_status:
            first = self._saga_status is None
            self._saga_status = report.status
            # The saga's start reads best before its steps, any later change after them.
            lines.insert(0 if first else len(lines), _Line(elapsed, self._saga_text(report)))
        return lines

    def _step_lines(self, report: SagaReport, step: StepReport, elapsed: float) -> list[_Line]:
        if not step.transitions:
            return self._status_change(step, elapsed)
        new = step.transitions[self._printed.get(step.name, 0) :]
        self._printed[step.name] = len(step.transitions)
        self._statuses[step.name] = step.status
        lines = []
        for number, transition in enumerate(new, start=1):
            last = number == len(new) and transition.status == step.status
            at = _seconds_between(report.started_at, transition.at)
            text = self._step_text(step.name, transition.status, _step_detail(step) if last else "")
            lines.append(_Line(elapsed if at is None else at, text))
        return lines

    def _status_change(self, step: StepReport, elapsed: float) -> list[_Line]:
        """Reports from before transitions were kept: only the status seen at each poll."""
        if self._statuses.get(step.name, StepStatus.PENDING) == step.status:
            return []
        self._statuses[step.name] = step.status
        return [_Line(elapsed, self._step_text(step.name, step.status, _step_detail(step)))]

    @staticmethod
    def _step_text(name: str, status: str, detail: str) -> Text:
        text = Text(f"  {name:<24} ").append_text(_status(status, 19))
        if detail:
            return text.append(f" {detail}")
        text.rstrip()
        return text

    @staticmethod
    def _saga_text(report: SagaReport) -> Text:
        text = Text(f"saga {report.saga_id} ").append_text(_status(report.status))
        if report.status == SagaStatus.PARKED:
            text.append(f" (resume it with: saga resume {report.saga_id} --retry | --skip STEP)")
        elif report.reason and report.status != SagaStatus.RUNNING:
            text.append(f" ({_reason_text(report)})")
        return text


def _reason_text(report: SagaReport) -> str:
    if report.reason == "failure" and report.failed_step:
        return f"failure at {report.failed_step}"
    return report.reason or ""


# --- the final report -----------------------------------------------------------------


def _table(*headings: str) -> Table:
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_edge=False)
    for heading in headings:
        table.add_column(heading, header_style="bold", overflow="fold", no_wrap=True)
    return table


def _step_table(steps: list[StepReport]) -> Table:
    table = _table("STEP", "STATUS", "ATTEMPTS", "TIME", "NOTE")
    for step in steps:
        took = _format_seconds(_seconds_between(step.started_at, step.finished_at))
        note = step.compensation_error or step.last_error or waiting_note(step)
        if len(note) > NOTE_WIDTH:
            note = note[: NOTE_WIDTH - 1] + "…"
        status = _status(step.status)
        table.add_row(step.name, status, str(step.attempts or ""), took, note)
    return table


def _heading(report: SagaReport) -> Text:
    heading = Text(f"Saga {report.saga_id} ({report.saga_name}): ")
    heading.append_text(_status(report.status))
    if report.reason and report.status != SagaStatus.COMPLETED:
        heading.append(f", {_reason_text(report)}")
    return heading


def print_report(report: SagaReport, as_json: bool) -> None:
    """The report on stdout: a table, or one JSON document."""
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    out = console(sys.stdout)
    out.print(_heading(report))
    out.print()
    out.print(_step_table(report.steps))
    if report.error:
        out.print(Text(f"\nError: {report.error}"))
    for failure in report.compensation_failures:
        out.print(Text(f"Compensation failed: {failure}"))
    for failure in report.forward_failures:
        out.print(Text(f"Not finished (past the pivot, not undone): {failure}"))
    for note in report.notes:
        out.print(Text(f"Note: {note}"))
    if report.status == SagaStatus.COMPLETED:
        out.print(Text("\nOutput: " + json.dumps(report.output, indent=2)))


def print_runs(runs: list[RunSummary], *, as_json: bool = False) -> None:
    """`saga list`: one row per run, newest first."""
    if as_json:
        print(json.dumps([_run_dict(run) for run in runs], indent=2))
        return
    if not runs:
        print("No saga runs.")
        return
    table = _table("ID", "SAGA", "STATUS", "STARTED", "ENDED")
    for run in runs:
        ended = _local(run.closed_at) if run.closed_at else ""
        status = _status(run.status)
        table.add_row(run.saga_id, run.saga_name, status, _local(run.started_at), ended)
    console(sys.stdout).print(table)


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _run_dict(run: RunSummary) -> dict[str, Any]:
    return {
        "saga_id": run.saga_id,
        "saga_name": run.saga_name,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "closed_at": run.closed_at.isoformat() if run.closed_at else None,
    }


def print_outcome(report: SagaReport | None, outcome: Outcome, as_json: bool) -> int:
    """The end of a followed saga: its report, or why there is none; the exit code."""
    if report is not None:
        print_report(report, as_json)
    elif as_json:
        print(json.dumps({"error": outcome.error}))
    if report is None and outcome.error:
        print(f"Error: {outcome.error}", file=sys.stderr)
    return outcome.exit_code


def ended_line(report: SagaReport) -> str:
    """One line saying how a saga ended, e.g. for `saga result`."""
    line = f"saga {report.saga_id} ended {report.status.value}"
    if report.reason:
        line += f" ({report.reason}{' at ' + report.failed_step if report.failed_step else ''})"
    return line + (f": {report.error}" if report.error else "")
