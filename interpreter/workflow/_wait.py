"""Wait steps inside the workflow: which data the `signal` update takes, and what the
data makes of the step.

A wait step sends its `notify` (if any), then is WAITING until data arrives by the
`signal` update or its `timeout` passes. The update's validator (`refusal`) refuses,
before anything is recorded, data for an unknown step, for a step that does not wait
(not a wait step, ended, already given its data, or a saga that is stopping) and data
that does not fit the step's `schema`. Data that arrives before the wait begins is kept
and used when it does. Once the data is there, `judge` evaluates the step's `success`
and `output` over `signal` here, in the workflow: no activity runs for the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio.exceptions import ApplicationError

from dsl import (
    ExpressionError,
    Saga,
    Step,
    compile_condition,
    compile_template,
    data_problems,
    evaluate_condition,
    format_duration,
)
from interpreter.contract import (
    SIGNAL_INVALID_DATA,
    SIGNAL_NOT_WAITING,
    SIGNAL_UNKNOWN_STEP,
    SagaReport,
    SagaStatus,
    SignalRequest,
    StepStatus,
)

__all__ = ["WAITS", "judge", "refusal", "timed_out"]

WAITS = (StepStatus.PENDING, StepStatus.RUNNING, StepStatus.WAITING)
"""A wait step in one of these will (still) use data delivered for it."""


def refusal(
    saga: Saga | None, report: SagaReport, delivered: Mapping[str, Any], request: SignalRequest
) -> ApplicationError | None:
    """Why the data of `request` is refused, or None when the step takes it."""
    steps = {step.name: step for step in report.steps}
    waits = [s.name for s in saga.steps if s.wait is not None] if saga else []
    if saga is None or request.step not in steps:
        listed = ", ".join(waits) or "none"
        return _refused(f"unknown step {request.step!r}; wait steps: {listed}", SIGNAL_UNKNOWN_STEP)
    name, status = request.step, steps[request.step].status
    step = saga.step(name)
    if step.wait is None:
        return _refused(f"step {name!r} is not a wait step", SIGNAL_NOT_WAITING)
    if name in delivered:
        at = steps[name].signal_at
        return _refused(f"step {name!r} already has its data (delivered {at})", SIGNAL_NOT_WAITING)
    if status not in WAITS:
        return _refused(f"step {name!r} has ended ({status}): it waits no more", SIGNAL_NOT_WAITING)
    if report.status != SagaStatus.RUNNING or (report.reason and status != StepStatus.WAITING):
        stopping = report.reason or str(report.status).lower()
        message = f"the saga is stopping ({stopping}): step {name!r} will not wait"
        return _refused(message, SIGNAL_NOT_WAITING)
    if step.wait.schema_ is None:
        return None
    problems = data_problems(step.wait.schema_, request.data)
    if not problems:
        return None
    errors = [{"message": message, "pointer": _pointer(path)} for path, message in problems]
    message = f"the data does not fit the schema of step {name!r}: {problems[0][1]}"
    return _refused(message, SIGNAL_INVALID_DATA, {"errors": errors})


def _refused(message: str, kind: str, details: Any = None) -> ApplicationError:
    extra = () if details is None else (details,)
    return ApplicationError(message, *extra, type=kind, non_retryable=True)


def _pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901: `/a/0/b~1c` for ("a", 0, "b/c")."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def judge(step: Step, data: Any, context: Mapping[str, Any]) -> tuple[Any, str | None, str | None]:
    """The step's output for `data`; when it failed, the step's reason ('rejected' when
    `success` is false) and the error (both None when it succeeded).

    `success` false is a failure that no retry can change; an expression that fails
    is one too. Raises nothing."""
    assert step.wait is not None
    variables = {**context, "signal": data}
    try:
        success = step.wait.success
        if success is not None and success is not True:
            if not evaluate_condition(compile_condition(success), variables, ordered=True):
                return None, "rejected", f"rejected: `success` is false for the data ({success})"
        if step.output is None:
            return data, None, None
        return compile_template(step.output).render(variables, ordered=True), None, None
    except ExpressionError as error:
        return None, None, error.message


def timed_out(step: Step) -> str:
    assert step.wait is not None
    return f"timeout: no data arrived within {format_duration(step.wait.timeout)}"
