"""Cases and their verdicts: run a list of cases of one saga, side by side, and judge each.

A case is a set of faults and the data its wait steps get, plus what must hold: the
invariants (always, unless a hand-written case turns them off) and, for a hand-written
case, its `expect`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dsl import Saga
from interpreter.contract import SagaReport, StepStatus
from interpreter.testing._invariants import Violation, judge
from interpreter.testing._model import Expect
from interpreter.testing._runner import CaseRun, Simulator
from interpreter.testing._services import Answer, Fault

__all__ = ["Case", "CaseResult", "Suite", "run_suite"]


@dataclass
class Case:
    name: str
    faults: dict[tuple[str, str], Fault] = field(default_factory=dict)
    expect: Expect | None = None
    invariants: bool = True
    step: str = ""
    """The step the fault is on, for the report."""
    fault: str = "none"
    """The fault in words, for the report."""
    findings: list[Violation] = field(default_factory=list)
    """Problems found without running (the saga's timeout against its worst case)."""
    skipped: str | None = None
    """Why the case cannot happen, when it cannot."""
    signals: dict[str, Any] = field(default_factory=dict)
    """Data for wait steps, delivered as the run starts; a wait step without any is
    never answered (its timeout passes)."""
    cancel_waiting: str | None = None
    """A wait step: the saga is cancelled once the step waits."""


@dataclass
class CaseResult:
    case: Case
    status: str
    """The saga's end status, or SKIPPED / ERROR."""
    failures: list[str] = field(default_factory=list)
    left_in_place: list[str] = field(default_factory=list)
    on_purpose: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class Suite:
    """The cases of one saga with one input: a test file, or a saga's matrix."""

    label: str
    saga: Saga
    input: Any
    cases: list[Case]
    answers: Mapping[str, Mapping[str, Answer]] = field(default_factory=dict)
    results: list[CaseResult] = field(default_factory=list)


async def run_suite(simulator: Simulator, suite: Suite) -> Suite:
    """Run every case of the suite, one after the other.

    One at a time on purpose: the test server has one clock, skipped forward while a
    client waits for a result. Cases side by side would skip each other's time while a
    request is held (a cancel while it runs), and lock it while another waits for a
    back-off; in sequence each case sees exactly its own timers.
    """
    suite.results = [await _run_case(simulator, suite, case) for case in suite.cases]
    return suite


async def _run_case(simulator: Simulator, suite: Suite, case: Case) -> CaseResult:
    if case.skipped:
        return CaseResult(case, "SKIPPED")
    started = time.perf_counter()
    run = await simulator.run(
        suite.saga, suite.input, suite.answers, case.faults, case.signals, case.cancel_waiting
    )
    result = _verdict(suite.saga, case, run)
    result.seconds = time.perf_counter() - started
    return result


def _verdict(saga: Saga, case: Case, run: CaseRun) -> CaseResult:
    if run.report is None or run.services is None:
        return CaseResult(case, "ERROR", [run.problem or "the case did not run"])
    judgement = judge(saga, run.report, run.services)
    failures = [str(v) for v in case.findings] if case.invariants else []
    if case.invariants:
        failures += [str(v) for v in judgement.violations]
    if case.expect is not None:
        failures += _unmet(case.expect, run.report, judgement.left_in_place)
    return CaseResult(
        case,
        str(run.report.status),
        failures,
        judgement.left_in_place,
        judgement.on_purpose,
    )


def _unmet(expect: Expect, report: SagaReport, left: list[str]) -> list[str]:
    """Where the run differs from the case's `expect`."""
    found = []
    if expect.status is not None and str(report.status) != expect.status:
        found.append(f"expected status {expect.status}, got {report.status}")
    if expect.reason is not None and report.reason != expect.reason:
        found.append(f"expected reason {expect.reason}, got {report.reason}")
    if expect.failed_step is not None and report.failed_step != expect.failed_step:
        found.append(f"expected failed_step {expect.failed_step}, got {report.failed_step}")
    found += _same_steps("compensated", expect.compensated, _with(report, "COMPENSATED"))
    found += _same_steps(
        "compensation_failed", expect.compensation_failed, _with(report, "COMPENSATION_FAILED")
    )
    found += _same_steps("left_in_place", expect.left_in_place, left)
    if expect.output is not None and report.output != expect.output:
        found.append(f"expected output {expect.output!r}, got {report.output!r}")
    return found


def _with(report: SagaReport, status: str) -> list[str]:
    return [step.name for step in report.steps if step.status == StepStatus(status)]


def _same_steps(key: str, expected: list[str] | None, actual: list[str]) -> list[str]:
    if expected is None or sorted(expected) == sorted(actual):
        return []
    shown = ", ".join(actual) or "none"
    return [f"expected {key} [{', '.join(expected)}], got [{shown}]"]
