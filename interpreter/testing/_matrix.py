"""The failure matrix: every single-fault case of a saga, made from the saga alone.

Per step: its action fails for good, times out, is uncertain (applied, the answer lost),
and the saga is cancelled while the step's request is with the service. Per wait step:
nobody answers (its timeout passes), its data is rejected (`success` false), the saga is
cancelled while it waits, and its notify request fails for good. Per compensation: it
fails for good, after a later step failed so that it runs. Once: the saga's timeout
expires while the last step before the pivot is still running. And a run with no fault.

Every case delivers the data known for the wait steps (`signals`) as its run starts,
except to the wait step its fault is on. A step behind a wait step whose data is not
known is never reached: its cases are listed as skipped, with the key that gives it.

A request that retries without limit (a compensation by default, or any step past the
pivot) would retry a lasting timeout forever, so there the timeout and the uncertain
answer strike the first attempt only. A failure "for good" is a status the request
neither expects nor retries, so it fails at once.

The saga's timeout is also set against the worst case of its steps (every attempt
timing out, with the waits between them) along the longest chain: a timeout that can
expire while a step's request is in flight, on a step undone only when it succeeded,
can leave that step's effect in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dsl import MUTATING_METHODS, Request, Saga, Step, StepGraph, effective_request
from dsl import format_duration as duration
from interpreter.testing._cases import Case
from interpreter.testing._invariants import Violation
from interpreter.testing._services import Fault

__all__ = ["failing_status", "matrix_cases", "worst_case"]

_FAILING = (409, 422, 400, 403, 418)
_UNBOUNDED = timedelta(days=365 * 100)


def matrix_cases(
    saga: Saga,
    signals: Mapping[str, Any] | None = None,
    rejections: Mapping[str, Any] | None = None,
) -> list[Case]:
    """The cases; `signals` answers wait steps, `rejections` is data their `success`
    refuses (both by step)."""
    graph = StepGraph.of(saga)
    past = _past_pivot(saga, graph)
    given = signals or {}
    known = {step.name: given[step.name] for step in saga.steps if step.name in given}
    unanswered = _unanswered(saga, graph, known)
    cases = [Case("no fault", signals=dict(known))]
    for step in saga.steps:
        if step.action is not None:
            made = _action_cases(saga, step, step.action, step.name in past, known)
        else:
            made = _wait_cases(saga, step, known, rejections or {})
        for case in made if step.name in unanswered else []:
            case.skipped = _no_data(step.name, unanswered[step.name])
        cases += made
    for step in saga.steps:
        if isinstance(step.compensation, Request):
            cases.append(_compensation_case(saga, graph, step, past, known, unanswered))
    cases.append(_timeout_case(saga, graph, past, known, unanswered))
    # The cases that hold a request run first, on a test server no lost answer or
    # time-out has touched yet: after one, a held request was seen to time out while
    # the server's clock was meant to stand still (see docs/TESTING.md).
    return sorted(cases, key=lambda case: case.fault != "cancel")


def failing_status(saga: Saga, request: Request, kind: str) -> int:
    """A status the request neither expects nor retries: it fails at once, for good."""
    from dsl import status_matches

    effective = effective_request(saga, request, kind)  # type: ignore[arg-type]
    for status in _FAILING:
        retried = status_matches(status, list(effective.retry.on_status))
        if not status_matches(status, list(effective.expect)) and not retried:
            return status
    return 400


def _past_pivot(saga: Saga, graph: StepGraph) -> set[str]:
    """The pivot and every step after it: they retry until they succeed."""
    pivots = [i for i, step in enumerate(saga.steps) if step.pivot]
    return {graph.names[j] for i in pivots for j in [i, *graph.descendants(i)]}


def _unanswered(saga: Saga, graph: StepGraph, known: Mapping[str, Any]) -> dict[str, str]:
    """The steps that run only after a wait step whose data is not known (never reached,
    since nothing answers it), each with the first such wait step."""
    found: dict[str, str] = {}
    for i, step in enumerate(saga.steps):
        if step.wait is not None and step.name not in known:
            for j in graph.descendants(i):
                found.setdefault(graph.names[j], step.name)
    return found


def _no_data(name: str, wait: str) -> str:
    return (
        f"{name} runs only once {wait} is answered: add `signals: {{{wait}: DATA}}` to the "
        f"saga's test file, or pass --signal {wait}=JSON"
    )


def _without(known: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {step: data for step, data in known.items() if step != name}


def _unlimited(saga: Saga, request: Request, kind: str, forever: bool) -> bool:
    effective = effective_request(saga, request, kind)  # type: ignore[arg-type]
    return forever or effective.retry.max_attempts == 0


def _action_cases(
    saga: Saga, step: Step, action: Request, forever: bool, known: Mapping[str, Any]
) -> list[Case]:
    name = step.name
    status = failing_status(saga, action, "action")
    once = 1 if _unlimited(saga, action, "action", forever) else 0
    first = " (first attempt)" if once else ""
    kinds = [(str(status), 0, f"fails ({status})"), ("timeout", once, f"times out{first}")]
    kinds.append(("uncertain", once, f"is uncertain{first}"))
    made = [
        Case(f"{name} {label}", {(name, "action"): Fault(kind, times)}, fault=kind)
        for kind, times, label in kinds
    ]
    made.append(
        Case(f"cancel while {name} runs", {(name, "action"): Fault("cancel")}, fault="cancel")
    )
    for case in made:
        case.step, case.signals = name, dict(known)
    return made


def _wait_cases(
    saga: Saga, step: Step, known: Mapping[str, Any], rejections: Mapping[str, Any]
) -> list[Case]:
    """Nobody answers; the data is rejected; a cancel while it waits; the notify fails."""
    assert step.wait is not None
    name, silent = step.name, _without(known, step.name)
    made = [
        Case(f"{name} is not answered (timeout)", fault="timeout", signals=silent),
        Case(f"cancel while {name} waits", fault="cancel", signals=silent, cancel_waiting=name),
    ]
    if step.wait.success not in (None, True):
        rejected = Case(f"{name} is rejected", fault="rejected")
        if name in rejections:
            rejected.signals = {**known, name: rejections[name]}
        else:
            rejected.skipped = (
                f"no data that rejects {name}: add `rejections: {{{name}: DATA}}` to the "
                f"saga's test file, or pass --reject {name}=JSON"
            )
        made.insert(1, rejected)
    if step.wait.notify is not None:
        status = failing_status(saga, step.wait.notify, "action")
        fault = {(name, "notify"): Fault(str(status))}
        made.append(Case(f"{name}'s notify fails ({status})", fault, fault=f"notify {status}"))
        made[-1].signals = dict(known)
    for case in made:
        case.step = name
    return made


def _compensation_case(
    saga: Saga,
    graph: StepGraph,
    step: Step,
    past: set[str],
    known: Mapping[str, Any],
    unanswered: Mapping[str, str],
) -> Case:
    assert isinstance(step.compensation, Request)
    status = failing_status(saga, step.compensation, "compensation")
    name = f"{step.name} compensation fails ({status})"
    case = Case(name, step=step.name, fault=f"compensation {status}", signals=dict(known))
    trigger = _trigger(saga, graph, step, past, unanswered)
    if trigger is None:
        case.skipped = f"no step after {step.name} can fail, so its compensation never runs"
        return case
    case.faults = {(step.name, "compensation"): Fault(str(status))}
    if trigger.action is None:  # a wait step: nobody answers it
        case.name += f", after {trigger.name} is not answered"
        case.signals = _without(known, trigger.name)
        return case
    trigger_status = failing_status(saga, trigger.action, "action")
    case.name += f", after {trigger.name} fails"
    case.faults[(trigger.name, "action")] = Fault(str(trigger_status))
    return case


def _trigger(
    saga: Saga, graph: StepGraph, step: Step, past: set[str], unanswered: Mapping[str, str]
) -> Step | None:
    """A step whose failure makes `step` be undone: the last that runs after it, else one
    that runs beside it (in-flight steps finish before compensation starts); the pivot
    itself may fail, never a step past it, whose failure undoes nothing; and never a
    step that is not reached (behind a wait step nothing answers)."""
    index = graph.names.index(step.name)
    pivots = {s.name for s in saga.steps if s.pivot}
    excluded = (past - pivots) | set(unanswered)
    later = [graph.names[i] for i in graph.descendants(index) if graph.names[i] not in excluded]
    ancestors = {graph.names[i] for i in graph.ancestors(index)}
    others = excluded | ancestors | {step.name, *later}
    beside = [s.name for s in saga.steps if s.name not in others]
    candidates = later or beside
    return saga.step(candidates[-1]) if candidates else None


def _timeout_case(
    saga: Saga,
    graph: StepGraph,
    past: set[str],
    known: Mapping[str, Any],
    unanswered: Mapping[str, str],
) -> Case:
    case = Case("the saga's timeout expires", fault="saga timeout", signals=dict(known))
    if saga.timeout is None:
        case.skipped = "the saga has no timeout"
        return case
    before = [step for step in saga.steps if step.name not in past]
    if not before:
        case.skipped = "every step is past the pivot"
        return case
    slow = before[-1]
    case.step = slow.name
    case.findings = _timeout_findings(saga, graph, past)
    if slow.name in unanswered:
        case.skipped = _no_data(slow.name, unanswered[slow.name])
    elif slow.action is None:  # a wait step: nobody answers it
        case.name += f" while {slow.name} waits"
        case.signals = _without(known, slow.name)
    else:
        case.name += f" while {slow.name} runs"
        case.faults = {(slow.name, "action"): Fault("slow")}
    return case


def worst_case(saga: Saga, step: Step) -> timedelta | None:
    """The longest a step's action can take: every attempt timing out; None: no limit."""
    if step.action is None:
        return None
    effective = effective_request(saga, step.action, "action")
    retry = effective.retry
    if retry.max_attempts == 0:
        return None
    total, wait = effective.timeout * retry.max_attempts, retry.initial_interval
    for _ in range(retry.max_attempts - 1):
        total += min(wait, retry.max_interval)
        wait = wait * retry.backoff
    return total


def _timeout_findings(saga: Saga, graph: StepGraph, past: set[str]) -> list[Violation]:
    """Steps the saga's timeout can interrupt with their effect landed and not undone."""
    assert saga.timeout is not None
    finish: dict[int, timedelta] = {}
    found = []
    for index in sorted(range(len(saga.steps)), key=lambda i: len(graph.ancestors(i))):
        step = saga.steps[index]
        if step.name in past:
            continue
        own = worst_case(saga, step) or _UNBOUNDED
        start = max((finish.get(d, timedelta()) for d in graph.deps[index]), default=timedelta())
        finish[index] = start + own
        if finish[index] > saga.timeout and _left_when_interrupted(step):
            worst = duration(finish[index]) if own < _UNBOUNDED else "unbounded"
            found.append(
                Violation(
                    1,
                    f"the saga's timeout ({duration(saga.timeout)}) can expire while "
                    f"{step.name}'s request is in flight (worst case by then: {worst}); "
                    f"undone only when it succeeded, its effect would stay in place",
                )
            )
    return found


def _left_when_interrupted(step: Step) -> bool:
    mutating = step.action is not None and step.action.method in MUTATING_METHODS
    return mutating and step.compensate_on == "success" and step.compensation != "none"
