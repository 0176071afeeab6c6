"""What the workflow makes of what happened, in facts and in short messages.

An activity's failure gives the attempts made, whether the request was sent, whether its
effect may have landed unannounced, and a one-line message; a compensation says whether
it needs its step's output; a run's input gives its schema problems (semantics 1; later
runs ask `dsl.input_problems`); a run's end gives the message of its typed error.
The HTTP activity puts `{"attempt": N, "sent": bool}` in its errors' details and in its
heartbeats, so the facts survive a failure, a timeout and a cancellation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import jsonschema
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    RetryState,
    TimeoutError,
)

from dsl import Request, Step, compile_condition, compile_template
from interpreter.contract import HttpCall, SagaReport, SagaStatus

__all__ = [
    "attempts_of",
    "describe",
    "input_problems",
    "may_have_landed",
    "reads_own_output",
    "summary",
    "was_sent",
]

UNANSWERED = "HttpConnection"
"""The activity's error type for a request that got no answer (refused, reset, timed out)."""


def _facts(error: ActivityError) -> dict[str, Any]:
    cause = error.cause
    details: Sequence[Any] = ()
    if isinstance(cause, ApplicationError | CancelledError):
        details = cause.details
    elif isinstance(cause, TimeoutError):
        details = cause.last_heartbeat_details
    first = details[0] if details else None
    return first if isinstance(first, dict) else {}


def attempts_of(error: ActivityError) -> int:
    """How many attempts the activity made (0 when it never started)."""
    attempt = _facts(error).get("attempt")
    return attempt if isinstance(attempt, int) else 0


def was_sent(error: ActivityError) -> bool:
    """Whether the request may have reached the service (so its effect may have landed)."""
    if isinstance(error.cause, TimeoutError):
        return True
    facts = _facts(error)
    if "sent" in facts:
        return bool(facts["sent"])
    # A cancelled attempt that had started may have sent its request.
    return isinstance(error.cause, CancelledError) and bool(error.started_event_id)


def may_have_landed(error: ActivityError) -> bool:
    """Whether the request was sent and no answer said how it went: an attempt timed out,
    the connection was lost after sending, or the step was cancelled while on the wire.

    An answer, even an error status, is taken at its word; silence is not "not applied".
    """
    cause = error.cause
    if isinstance(cause, TimeoutError):
        return True
    if isinstance(cause, ApplicationError) and cause.type != UNANSWERED:
        return False
    return was_sent(error)


def reads_own_output(step: Step) -> bool:
    """Whether the step's compensation reads `steps.<step>.output` (or reads `steps`
    dynamically): without the action's output such a compensation cannot be rendered."""
    if not isinstance(step.compensation, Request):
        return False
    mention = rf"\bsteps\s*(?:\.\s*{step.name}\b|\[\s*['\"]{step.name}['\"]\s*\])"
    for expression in _compensation_expressions(step.compensation):
        if expression.refs.dynamic_steps:
            return True
        total = len(re.findall(mention, expression.source))
        status = len(re.findall(mention + r"\s*\.\s*status\b", expression.source))
        if total > status:
            return True
    return False


def _compensation_expressions(request: Request) -> Iterator[Any]:
    for text in _strings(request.model_dump(exclude={"success"}, by_alias=True)):
        yield from compile_template(text).expressions()
    if request.success is not None and request.success is not True:
        yield from compile_condition(request.success).expressions()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def describe(error: ActivityError, call: HttpCall | None) -> str:
    """A one-line message: the activity's own, or what Temporal saw."""
    cause = error.cause
    target = f"{call.method} {call.base_url}{call.path}" if call else "request"
    if isinstance(cause, ApplicationError):
        message = cause.message
    elif isinstance(cause, TimeoutError):
        kind = cause.type.name.lower() if cause.type else "timeout"
        message = f"{target}: the worker did not finish the attempt in time ({kind})"
    elif isinstance(cause, CancelledError):
        message = f"{target}: cancelled"
    else:
        message = f"{target}: {cause or error}"
    if error.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED:
        message += f" (gave up after {attempts_of(error) or 'all'} attempts)"
    return message


def input_problems(schema: dict[str, Any] | None, value: Any) -> list[str]:
    """Where the input does not fit the saga's `input` schema, one line each."""
    if schema is None:
        return []
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    errors = sorted(
        validator_class(schema).iter_errors(value), key=lambda e: [str(p) for p in e.path]
    )
    return [f"input{''.join(f'[{p!r}]' for p in error.path)}: {error.message}" for error in errors]


def summary(report: SagaReport) -> str:
    """The message of the error a saga that did not complete ends with."""
    name = f"saga {report.saga_name!r}"
    if report.status == SagaStatus.INCOMPLETE:
        count = len(report.forward_failures)
        return f"{name} is incomplete: committed by its pivot, {count} step(s) not done: " + (
            "; ".join(report.forward_failures)
        )
    if report.status == SagaStatus.COMPENSATION_FAILED:
        count = len(report.compensation_failures)
        return f"{name} needs attention: {count} step(s) not undone: " + "; ".join(
            report.compensation_failures
        )
    if report.reason == "failure" and report.failed_step:
        return f"{name} was compensated: step {report.failed_step!r} failed: {report.error}"
    return f"{name} was compensated: {report.error}"
