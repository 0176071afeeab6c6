"""The four invariants every run of a saga must keep, judged from what the services saw.

1. The saga ends COMPLETED; or COMPENSATED with every applied effect undone (the effect
   of a step marked `compensation: none` is left on purpose: listed, not failed); or
   COMPENSATION_FAILED, PARKED or INCOMPLETE naming every effect left in place.
2. Each compensation starts after the compensations of every step that depends on it
   have finished.
3. Every retry of a request carries the same Idempotency-Key.
4. Once the pivot has succeeded, nothing is undone.

"Applied effects" come from the simulated services' record: a mutating action the
service applied, not undone by a compensation the service accepted. They are never
taken from the saga's own report, which is what is being checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl import Saga, StepGraph
from interpreter.contract import SagaReport, SagaStatus, StepStatus
from interpreter.testing._services import RecordedRequest, SimulatedServices

__all__ = ["INVARIANTS", "Judgement", "Violation", "judge"]

INVARIANTS = {
    1: "every applied effect is undone or named",
    2: "compensations run in dependency order",
    3: "retries carry the same Idempotency-Key",
    4: "nothing is undone past the pivot",
}
NEEDS_A_PERSON = ("COMPENSATION_FAILED", "PARKED", "INCOMPLETE")


@dataclass(frozen=True)
class Violation:
    invariant: int
    message: str

    def __str__(self) -> str:
        return f"invariant {self.invariant} ({INVARIANTS[self.invariant]}): {self.message}"


@dataclass
class Judgement:
    """The violations found, and the effects left in place (on purpose or not)."""

    violations: list[Violation] = field(default_factory=list)
    left_in_place: list[str] = field(default_factory=list)
    """Steps whose applied effect nothing undid (committed ones excluded)."""
    on_purpose: list[str] = field(default_factory=list)
    """Steps marked `compensation: none` whose effect stays."""


def judge(saga: Saga, report: SagaReport, services: SimulatedServices) -> Judgement:
    """Check the four invariants on one finished run."""
    committed = _committed(saga, report)
    effects, undone = services.effects(), services.undone()
    steps = {step.name: step for step in saga.steps}
    completed = str(report.status) == SagaStatus.COMPLETED
    kept = [] if completed else [name for name in effects if name not in undone]
    judgement = Judgement(
        left_in_place=[] if committed else [n for n in kept if steps[n].compensation != "none"],
        on_purpose=[n for n in kept if steps[n].compensation == "none"],
    )
    found = judgement.violations
    found += _ends_well(report, judgement.left_in_place, committed)
    found += _in_order(saga, services.record)
    found += _same_keys(services.record)
    if committed:
        found += _nothing_undone(committed, services.record)
    return judgement


def _committed(saga: Saga, report: SagaReport) -> str | None:
    """The pivot's name when it succeeded in this run."""
    pivot = next((step.name for step in saga.steps if step.pivot), None)
    for step in report.steps:
        succeeded = step.status == StepStatus.SUCCEEDED or any(
            t.status == StepStatus.SUCCEEDED for t in step.transitions
        )
        if step.name == pivot and succeeded:
            return pivot
    return None


def _named(report: SagaReport) -> set[str]:
    """The steps the report names as needing a person."""
    lines = report.compensation_failures + report.forward_failures
    names = {line.split(":", 1)[0].strip() for line in lines}
    return names | {s.name for s in report.steps if s.status == StepStatus.COMPENSATION_FAILED}


def _ends_well(report: SagaReport, left: list[str], committed: str | None) -> list[Violation]:
    status = str(report.status)
    if status == SagaStatus.COMPLETED:
        return []
    if status == SagaStatus.COMPENSATED:
        if not left:
            return []
        return [Violation(1, f"ended COMPENSATED but left in place: {', '.join(left)}")]
    if status not in NEEDS_A_PERSON:
        return [Violation(1, f"ended {status}, which is not an end state")]
    named = _named(report)
    if committed:
        failed = [s.name for s in report.steps if s.status == StepStatus.FAILED]
        unnamed = [name for name in failed if name not in named]
        what = "failed past the pivot but not named"
    else:
        unnamed = [name for name in left if name not in named]
        what = "left in place but not named"
    if not unnamed:
        return []
    return [Violation(1, f"ended {status}; {what}: {', '.join(unnamed)}")]


def _in_order(saga: Saga, record: list[RecordedRequest]) -> list[Violation]:
    graph = StepGraph.of(saga)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for entry in record:
        if entry.kind == "compensation":
            first.setdefault(entry.step, entry.seq)
            last[entry.step] = max(last.get(entry.step, 0), entry.answered_seq)
    found = []
    for index, name in enumerate(graph.names):
        if name not in first:
            continue
        for later in graph.descendants(index):
            dependent = graph.names[later]
            if dependent in last and last[dependent] > first[name]:
                found.append(
                    Violation(
                        2,
                        f"{name}'s compensation started before that of {dependent} "
                        f"(which depends on it) had finished",
                    )
                )
    return found


def _same_keys(record: list[RecordedRequest]) -> list[Violation]:
    keys: dict[tuple[str, str], list[str | None]] = {}
    for entry in record:
        if entry.step:
            keys.setdefault((entry.step, entry.kind), []).append(entry.idempotency_key)
    found = []
    for (step, kind), sent in keys.items():
        distinct = list(dict.fromkeys(sent))
        if len(distinct) > 1:
            shown = ", ".join(repr(key) for key in distinct)
            found.append(Violation(3, f"retries of {step}'s {kind} carried {shown}"))
    return found


def _nothing_undone(pivot: str, record: list[RecordedRequest]) -> list[Violation]:
    undone = list(dict.fromkeys(e.step for e in record if e.kind == "compensation"))
    if not undone:
        return []
    return [Violation(4, f"the pivot {pivot} succeeded, yet compensated: {', '.join(undone)}")]
