"""Validation of saga files and run inputs: the public entry points of the language.

A file goes through three stages, and every problem of a stage is reported at once:

1. loading (`dsl._loader`): YAML or JSON syntax, duplicate keys, hostile files;
2. structure: the JSON Schema of `dsl._schema` and the pydantic models of `dsl._model`;
3. meaning (`dsl._checks`): references, cycles, expressions, pivot rules.

A later stage runs only when the earlier ones found no error. For speed, the models
(in strict mode) judge the structure first; the JSON Schema, which they agree with,
is consulted only to explain a document they refuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsl._diagnostics import Diagnostic, InvalidSaga
from dsl._loader import Document, LoadError, load_file, load_text

if TYPE_CHECKING:
    from dsl._model import Saga

__all__ = [
    "ValidationResult",
    "canonical_json",
    "check_document",
    "check_text",
    "data_problems",
    "definition_snapshot",
    "input_problems",
    "load_and_check",
    "load_input",
    "load_input_text",
    "validate_input",
]


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating one file: the saga when it is valid, and every problem."""

    path: str
    saga: Saga | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    document: Document | None = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        """True when the saga is valid (it may still have warnings)."""
        return self.saga is not None and not self.errors

    def unwrap(self) -> Saga:
        """The saga; raises InvalidSaga with every diagnostic when it has errors."""
        if self.saga is None or self.errors:
            raise InvalidSaga(self.diagnostics)
        return self.saga


def load_and_check(path: str | Path) -> ValidationResult:
    """Load and validate one saga file. Never raises for a bad file."""
    try:
        document = load_file(path)
    except LoadError as error:
        return ValidationResult(str(path), None, [error.diagnostic])
    return check_document(document)


def check_text(text: str | bytes, path: str = "<string>") -> ValidationResult:
    """Validate a saga given as YAML or JSON text; `path` names it in diagnostics."""
    try:
        document = load_text(text, path)
    except LoadError as error:
        return ValidationResult(path, None, [error.diagnostic])
    return check_document(document)


def check_document(document: Document) -> ValidationResult:
    saga, diagnostics = _structure(document)
    if saga is None:
        return ValidationResult(document.path, None, diagnostics, document)
    from dsl._checks import check_saga

    diagnostics = sorted(check_saga(saga, document))
    valid = not any(d.is_error for d in diagnostics)
    return ValidationResult(document.path, saga if valid else None, diagnostics, document)


def _structure(document: Document) -> tuple[Saga | None, list[Diagnostic]]:
    from pydantic import ValidationError

    from dsl._model import Saga
    from dsl._schema_errors import jsonschema_diagnostics, pydantic_diagnostics

    try:
        return Saga.model_validate(document.data, strict=True), []
    except ValidationError as error:
        errors = error.errors(include_url=False)
    found = jsonschema_diagnostics(document, _saga_validator().iter_errors(document.data))
    found += pydantic_diagnostics(document, errors, only_rules=bool(found))
    return None, sorted(set(found))


@cache
def _saga_validator() -> Any:
    from jsonschema import Draft202012Validator

    from dsl._schema import generate_schema

    return Draft202012Validator(generate_schema())


# --- run inputs ---------------------------------------------------------------------


def load_input(path: str | Path) -> tuple[Document | None, list[Diagnostic]]:
    """Read an input document (any JSON value, in YAML or JSON) from a file."""
    try:
        return load_file(path, root="any"), []
    except LoadError as error:
        return None, [error.diagnostic]


def load_input_text(text: str, label: str = "--input") -> tuple[Document | None, list[Diagnostic]]:
    """Read an input document given inline (JSON, or YAML), with the limits of a file."""
    try:
        return load_text(text, label, root="any"), []
    except LoadError as error:
        return None, [error.diagnostic]


def validate_input(
    saga: Saga, value: Any, path: str = "<input>", document: Document | None = None
) -> list[Diagnostic]:
    """Check a run's input against the saga's `input` schema; [] when it conforms.

    `document` (from `load_input`) lets the diagnostics point into the input file.
    """
    if saga.input is None:
        return []
    from dsl._checks import input_validator
    from dsl._schema_errors import jsonschema_diagnostics

    located = document or Document(path, "", value)
    validator, problem = input_validator(saga.input)
    if validator is None:
        return [Diagnostic(path, 1, 1, "error", f"the saga's input schema is invalid: {problem}")]
    try:
        errors = list(validator.iter_errors(value))
    except Exception as error:  # unresolvable $ref and the like, found only while validating
        message = f"cannot check the input against the saga's input schema: {error}"
        return [Diagnostic(path, 1, 1, "error", message)]
    found = jsonschema_diagnostics(located, errors)
    if errors and not any(d.is_error for d in found):
        # The explanations may fold an error into a "did you mean" that another rule
        # gives; whatever they show, an input with errors is never accepted.
        found += [Diagnostic(path, 1, 1, "error", _plain(error)) for error in errors]
    return found


def input_problems(saga: Saga, value: Any) -> list[str]:
    """Where a run's input does not fit the saga's `input` schema, one message each.

    The same judgement as `validate_input` (JSON Schema 2020-12, formats asserted),
    without positions: what the workflow checks before its first step.
    """
    return [d.message for d in validate_input(saga, value) if d.is_error]


def data_problems(schema: dict[str, Any], value: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Where `value` does not fit `schema` (a wait step's data): the path into the value
    and a message, one per problem; [] when it fits. The same judgement as
    `validate_input` (JSON Schema 2020-12, formats asserted)."""
    from dsl._checks import input_validator
    from dsl._schema_errors import jsonschema_diagnostics

    validator, problem = input_validator(schema)
    if validator is None:
        return [((), f"the step's schema is invalid: {problem}")]
    try:
        errors = list(validator.iter_errors(value))
    except Exception as failure:  # unresolvable $ref and the like, found only while validating
        return [((), f"cannot check the data against the step's schema: {failure}")]
    found: list[tuple[tuple[str | int, ...], str]] = []
    located = Document("<data>", "", value)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        messages = [d.message for d in jsonschema_diagnostics(located, [error]) if d.is_error]
        path = tuple(error.absolute_path)
        found += [(path, message) for message in messages or [_plain(error, "data")]]
    return found


def _plain(error: Any, root: str = "input") -> str:
    where = "".join(f"[{part!r}]" for part in error.absolute_path)
    return f"{root}{where}: {error.message}"


# --- the definition snapshot sent with each run -------------------------------------


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def definition_snapshot(saga: Saga) -> tuple[dict[str, Any], str]:
    """The saga as the workflow receives it, and the sha256 (hex) of its canonical JSON."""
    # Without what holds its default: the snapshot enters every run's history, and
    # parsing it gives the same saga.
    import hashlib  # here, not at the top: `saga validate` never needs it

    definition: dict[str, Any] = saga.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
    )
    digest = hashlib.sha256(canonical_json(definition).encode("utf-8")).hexdigest()
    return definition, digest
