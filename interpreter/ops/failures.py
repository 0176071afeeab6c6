"""Failures as the runtime writes them: a saga's outcome carries no stack trace.

Temporal's failure converter writes the Python stack trace of every error into the
history. For a fault (a bug, a crash) that is what an operator needs. A saga that was
compensated, or an HTTP call that got the wrong status, is an outcome the runtime raises
on purpose: its stack trace is always the same few frames of the runtime and the SDK,
about a kilobyte per failure in every history, and the message and the report already
say all there is to say. So these failures are written without it:

- the error a saga that did not complete ends with (`SagaCompensated`, ...,
  `SagaInvalidInput`, `SagaInvalidDefinition`);
- the HTTP activity's errors (category BENIGN: `HttpStatus`, `HttpConnection`, ...).

Everything else keeps its stack trace. Reading a failure is unchanged: a failure with
or without one reads the same.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from interpreter.contract import ERROR_TYPES, INVALID_DEFINITION_ERROR, INVALID_INPUT_ERROR

__all__ = [
    "OUTCOMES",
    "OutcomeFailureConverter",
    "OutcomeFailureConverterWithEncodedAttributes",
    "is_outcome",
]

OUTCOMES = frozenset({*ERROR_TYPES.values(), INVALID_INPUT_ERROR, INVALID_DEFINITION_ERROR})
"""The error types with which the workflow ends a saga that did not complete."""


def is_outcome(error: BaseException) -> bool:
    """True for an error the runtime raises on purpose to say how something ended."""
    if not isinstance(error, ApplicationError):
        return False
    return error.type in OUTCOMES or error.category == ApplicationErrorCategory.BENIGN


class OutcomeFailureConverter(DefaultFailureConverter):
    """Temporal's default failure converter, without the stack trace of an outcome."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        if not is_outcome(exception):
            super().to_failure(exception, payload_converter, failure)
            return
        # Hidden for the conversion only: the error itself is left as it was raised.
        kept: Any = exception.__traceback__
        exception.__traceback__ = None
        try:
            super().to_failure(exception, payload_converter, failure)
        finally:
            exception.__traceback__ = kept


class OutcomeFailureConverterWithEncodedAttributes(OutcomeFailureConverter):
    """The same, with message and stack trace in an encoded payload (encryption on)."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)
