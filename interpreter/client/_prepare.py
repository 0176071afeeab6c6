"""A saga file and a run's input, checked and frozen into what the workflow receives.

`prepare()` is the one place `saga run` validates: the file, then the input, before
anything is started. It raises `InvalidSaga` with every diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dsl import (
    Diagnostic,
    Document,
    InvalidSaga,
    Saga,
    definition_snapshot,
    load_and_check,
    load_input,
    load_input_text,
    validate_input,
)

__all__ = ["Prepared", "RunInput", "parse_input", "prepare"]


@dataclass(frozen=True)
class RunInput:
    """The value of `--input`, with where it came from for diagnostics."""

    value: Any = None
    label: str = "<input>"
    document: Document | None = None
    """Set when the input came from a file, so diagnostics point into it."""


@dataclass(frozen=True)
class Prepared:
    saga: Saga
    definition: dict[str, Any]
    """The canonical definition: what the workflow interprets, whatever the file becomes."""
    definition_hash: str
    input: Any
    warnings: list[Diagnostic] = field(default_factory=list)


def parse_input(text: str | None) -> RunInput:
    """`--input`: inline JSON, or `@FILE` holding JSON or YAML."""
    if text is None:
        return RunInput()
    if text.startswith("@"):
        document, problems = load_input(text[1:])
        if document is None:
            raise InvalidSaga(problems)
        return RunInput(document.data, text[1:], document)
    # Inline text goes through the same hardened loader as a file: depth, size and
    # number limits, no NaN or Infinity.
    document, problems = load_input_text(text, "--input")
    if document is None:
        raise InvalidSaga(problems)
    return RunInput(document.data, "--input", document)


def prepare(path: str, run_input: RunInput) -> Prepared:
    """Validate the saga file and the input against it; raise InvalidSaga if either fails."""
    result = load_and_check(path)
    saga = result.unwrap()
    problems = validate_input(saga, run_input.value, run_input.label, run_input.document)
    if problems:
        raise InvalidSaga(problems)
    definition, digest = definition_snapshot(saga)
    return Prepared(saga, definition, digest, run_input.value, result.warnings)
