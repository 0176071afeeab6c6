"""How a saga's report looks on a terminal: live progress lines and the final table.

Progress goes to stderr, one line per change seen between two polls; the final report
(table or JSON) goes to stdout, so `saga run ... --json | jq` sees only the report.
Colour only on a terminal, and never when NO_COLOR is set.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from interpreter.contract import SagaReport, SagaStatus, StepReport, StepStatus

if TYPE_CHECKING:
    from interpreter.client._runs import Outcome, RunSummary

__all__ = [
    "ProgressPrinter",
    "ended_line",
    "print_outcome",
    "print_report",
    "render_report",
    "render_runs",
    "use_colour",
]

_GREEN, _RED, _YELLOW, _CYAN, _RESET = "\033[32m", "\033[31m", "\033[33m", "\033[36m", "\033[0m"
_COLOURS = {
    "SUCCEEDED": _GREEN,
    "COMPLETED": _GREEN,
    "FAILED": _RED,
    "COMPENSATION_FAILED": _RED,
    "COMPENSATED": _YELLOW,
    "COMPENSATING": _YELLOW,
    "PARKED": _RED,
    "INCOMPLETE": _RED,
    "CANCELLED": _YELLOW,
    "RUNNING": _CYAN,
}
ERROR_WIDTH = 70


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _paint(text: str, status: str, colour: bool) -> str:
    code = _COLOURS.get(status)
    return f"{code}{text}{_RESET}" if colour and code else text


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def _step_detail(step: StepReport) -> str:
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


class ProgressPrinter:
    """Prints what changed since the previous report, one line per saga or step change."""

    def __init__(self, stream: TextIO, *, colour: bool | None = None) -> None:
        self.stream = stream
        self.colour = use_colour(stream) if colour is None else colour
        self._saga_status: SagaStatus | None = None
        self._steps: dict[str, StepStatus] = {}

    def update(self, report: SagaReport, elapsed: float) -> None:
        for line in self.changes(report):
            print(f"[{elapsed:7.2f}s] {line}", file=self.stream, flush=True)

    def changes(self, report: SagaReport) -> list[str]:
        lines = []
        for step in report.steps:
            if self._steps.get(step.name, StepStatus.PENDING) != step.status:
                self._steps[step.name] = step.status
                status = _paint(f"{step.status.value:<19}", step.status, self.colour)
                lines.append(f"  {step.name:<24} {status} {_step_detail(step)}".rstrip())
        if report.status != self._saga_status:
            first = self._saga_status is None
            self._saga_status = report.status
            # The saga's start reads best before its steps, any later change after them.
            lines.insert(0 if first else len(lines), self._saga_line(report))
        return lines

    def _saga_line(self, report: SagaReport) -> str:
        status = _paint(report.status.value, report.status, self.colour)
        line = f"saga {report.saga_id} {status}"
        if report.status == SagaStatus.PARKED:
            line += f" (resume it with: saga resume {report.saga_id} --retry | --skip STEP)"
        elif report.reason and report.status != SagaStatus.RUNNING:
            line += f" ({_reason_text(report)})"
        return line


def _reason_text(report: SagaReport) -> str:
    if report.reason == "failure" and report.failed_step:
        return f"failure at {report.failed_step}"
    return report.reason or ""


def render_report(report: SagaReport, *, colour: bool = False) -> str:
    """The final report as a table with a heading, for humans."""
    status = _paint(report.status.value, report.status, colour)
    heading = f"Saga {report.saga_id} ({report.saga_name}): {status}"
    if report.reason and report.status != SagaStatus.COMPLETED:
        heading += f", {_reason_text(report)}"
    lines = [heading, ""]
    lines += _step_table(report.steps, colour)
    if report.error:
        lines += ["", f"Error: {report.error}"]
    for failure in report.compensation_failures:
        lines.append(f"Compensation failed: {failure}")
    if report.status == SagaStatus.COMPLETED:
        lines += ["", "Output: " + json.dumps(report.output, indent=2)]
    return "\n".join(lines)


def _step_table(steps: list[StepReport], colour: bool) -> list[str]:
    rows = [("STEP", "STATUS", "ATTEMPTS", "TIME", "NOTE")]
    for step in steps:
        took = _format_seconds(_seconds_between(step.started_at, step.finished_at))
        note = step.compensation_error or step.last_error or ""
        if len(note) > ERROR_WIDTH:
            note = note[: ERROR_WIDTH - 1] + "…"
        rows.append((step.name, step.status.value, str(step.attempts or ""), took, note))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        if index:
            cells[1] = _paint(cells[1], row[1], colour)
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return lines


def render_runs(runs: list[RunSummary], *, as_json: bool = False) -> str:
    """`saga list`: one row per run, newest first."""
    if as_json:
        return json.dumps([_run_dict(run) for run in runs], indent=2)
    if not runs:
        return "No saga runs."
    rows = [("ID", "SAGA", "STATUS", "STARTED", "ENDED")]
    for run in runs:
        ended = _local(run.closed_at) if run.closed_at else ""
        rows.append((run.saga_id, run.saga_name, run.status, _local(run.started_at), ended))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


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


def print_report(report: SagaReport, as_json: bool) -> None:
    """The report on stdout: a table, or one JSON document."""
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(render_report(report, colour=use_colour(sys.stdout)))


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
