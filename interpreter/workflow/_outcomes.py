"""What the workflow makes of what happened, in facts and in short messages.

An activity's failure gives the attempts made, whether the request was sent, and a
one-line message; a run's input gives its schema problems; a run's end gives the
message of its typed error. The HTTP activity puts `{"attempt": N, "sent": bool}` in
its errors' details and in its heartbeats, so the facts survive a failure, a timeout
and a cancellation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonschema
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    RetryState,
    TimeoutError,
)

from interpreter.contract import HttpCall, SagaReport, SagaStatus

__all__ = ["attempts_of", "describe", "input_problems", "summary", "was_sent"]


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
    if report.status == SagaStatus.COMPENSATION_FAILED:
        count = len(report.compensation_failures)
        return f"{name} needs attention: {count} step(s) not undone: " + "; ".join(
            report.compensation_failures
        )
    if report.reason == "failure" and report.failed_step:
        return f"{name} was compensated: step {report.failed_step!r} failed: {report.error}"
    return f"{name} was compensated: {report.error}"
