"""The failure matrix: every single-fault case of a saga, made from the saga alone.

Per step: its action fails for good, times out, is uncertain (applied, the answer lost),
and the saga is cancelled while the step's request is with the service. Per compensation:
it fails for good, after a later step failed so that it runs. Once: the saga's timeout
expires while the last step before the pivot is still running. And a run with no fault.

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

from datetime import timedelta

from dsl import MUTATING_METHODS, Request, Saga, Step, StepGraph, effective_request
from dsl import format_duration as duration
from interpreter.testing._cases import Case
from interpreter.testing._invariants import Violation
from interpreter.testing._services import Fault

__all__ = ["failing_status", "matrix_cases", "worst_case"]

_FAILING = (409, 422, 400, 403, 418)
_UNBOUNDED = timedelta(days=365 * 100)


def matrix_cases(saga: Saga) -> list[Case]:
    graph = StepGraph.of(saga)
    past = _past_pivot(saga, graph)
    cases = [Case("no fault")]
    unanswered = _after_a_wait(saga, graph)
    for step in saga.steps:
        if step.action is None:  # wait steps get no simulated faults (yet)
            continue
        made = _action_cases(saga, step, step.action, forever=step.name in past)
        for case in made if step.name in unanswered else []:
            case.skipped = (
                f"{step.name} runs only once a wait step is answered, which the matrix does not do"
            )
        cases += made
    for step in saga.steps:
        if isinstance(step.compensation, Request):
            cases.append(_compensation_case(saga, graph, step, past))
    cases.append(_timeout_case(saga, graph, past))
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


def _after_a_wait(saga: Saga, graph: StepGraph) -> dict[str, str]:
    """The steps that run only after a wait step: never reached, since nothing answers."""
    found: dict[str, str] = {}
    for i, step in enumerate(saga.steps):
        if step.wait is not None:
            found.update({graph.names[j]: step.name for j in graph.descendants(i)})
    return found


def _unlimited(saga: Saga, request: Request, kind: str, forever: bool) -> bool:
    effective = effective_request(saga, request, kind)  # type: ignore[arg-type]
    return forever or effective.retry.max_attempts == 0


def _action_cases(saga: Saga, step: Step, action: Request, forever: bool) -> list[Case]:
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
        case.step = name
    return made


def _compensation_case(saga: Saga, graph: StepGraph, step: Step, past: set[str]) -> Case:
    assert isinstance(step.compensation, Request)
    status = failing_status(saga, step.compensation, "compensation")
    name = f"{step.name} compensation fails ({status})"
    case = Case(name, step=step.name, fault=f"compensation {status}")
    trigger = _trigger(saga, graph, step, past)
    if trigger is None:
        case.skipped = f"no step after {step.name} can fail, so its compensation never runs"
        return case
    assert trigger.action is not None  # _trigger picks steps with an action
    trigger_status = failing_status(saga, trigger.action, "action")
    case.name += f", after {trigger.name} fails"
    case.faults = {
        (step.name, "compensation"): Fault(str(status)),
        (trigger.name, "action"): Fault(str(trigger_status)),
    }
    return case


def _trigger(saga: Saga, graph: StepGraph, step: Step, past: set[str]) -> Step | None:
    """A step whose failure makes `step` be undone: the last that runs after it, else one
    that runs beside it (in-flight steps finish before compensation starts); never one
    past the pivot, whose failure undoes nothing."""
    index = graph.names.index(step.name)
    later = [graph.names[i] for i in graph.descendants(index) if graph.names[i] not in past]
    ancestors = {graph.names[i] for i in graph.ancestors(index)}
    beside = [s.name for s in saga.steps if s.name not in past | ancestors | {step.name, *later}]
    candidates = [name for name in later or beside if saga.step(name).action is not None]
    return saga.step(candidates[-1]) if candidates else None


def _timeout_case(saga: Saga, graph: StepGraph, past: set[str]) -> Case:
    case = Case("the saga's timeout expires", fault="saga timeout")
    if saga.timeout is None:
        case.skipped = "the saga has no timeout"
        return case
    before = [step for step in saga.steps if step.name not in past]
    if not before:
        case.skipped = "every step is past the pivot"
        return case
    slow = before[-1]
    case.step = slow.name
    case.name += f" while {slow.name} runs"
    case.faults = {(slow.name, "action"): Fault("slow")}
    case.findings = _timeout_findings(saga, graph, past)
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
