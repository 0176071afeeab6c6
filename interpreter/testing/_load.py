"""Reading a `*.test.yaml` file: every mistake as a `path:line:col` diagnostic.

The file is read by the language's own hardened loader, its structure judged by the
JSON Schema of `_model` (so messages match those of saga files: unknown keys with the
near miss, wrong kinds of values), then its meaning: the saga it names must be valid,
the input must fit it, and every step, service and pattern it mentions must exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dsl import Diagnostic, Document, Saga, load_and_check, load_input, validate_input

# The language's mapping of schema errors to positioned, plain-words diagnostics; the
# test-file format reuses it so both kinds of files speak alike.
from dsl._schema_errors import jsonschema_diagnostics, near_miss, pydantic_diagnostics
from interpreter.testing._model import FaultSpec, TestFile, saga_test_schema
from interpreter.testing._services import Answer, Fault

__all__ = ["LoadedTest", "faults_of", "load_test_file"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "*")


@dataclass
class LoadedTest:
    """A test file, its saga and input, or the diagnostics that stop it."""

    path: str
    model: TestFile | None = None
    saga: Saga | None = None
    input: Any = None
    answers: dict[str, dict[str, Answer]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.model is not None and self.saga is not None and not self.errors

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def load_test_file(path: str | Path) -> LoadedTest:
    """Load and check one test file. Never raises for a bad file."""
    loaded = LoadedTest(str(path))
    document, problems = load_input(path)
    if document is None:
        loaded.diagnostics = problems
        return loaded
    if not isinstance(document.data, dict):
        loaded.diagnostics = [_at(document, (), "a test file is a mapping of keys")]
        return loaded
    try:
        loaded.model = TestFile.model_validate(document.data)
    except ValidationError as error:
        loaded.diagnostics = _structure(document, error)
        return loaded
    _meaning(loaded, document, loaded.model)
    loaded.diagnostics = sorted(set(loaded.diagnostics))
    return loaded


def _structure(document: Document, error: ValidationError) -> list[Diagnostic]:
    found = jsonschema_diagnostics(document, _validator().iter_errors(document.data))
    found += pydantic_diagnostics(document, error.errors(include_url=False), bool(found))
    return sorted(set(found))


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(saga_test_schema())


def _at(document: Document, path: tuple[str | int, ...], message: str) -> Diagnostic:
    line, column = document.key_position(path) if path else (1, 1)
    return Diagnostic(document.path, line, column, "error", message)


def _meaning(loaded: LoadedTest, document: Document, model: TestFile) -> None:
    here = Path(loaded.path).parent
    if not (here / model.saga).is_file():
        message = f"no such saga file {model.saga!r} (relative to this file)"
        loaded.diagnostics.append(_at(document, ("saga",), message))
        return
    checked = load_and_check(here / model.saga)
    if not checked.ok or checked.saga is None:
        first = f"the saga {model.saga!r} is not valid"
        loaded.diagnostics.append(_at(document, ("saga",), first))
        loaded.diagnostics += checked.errors
        return
    loaded.saga = saga = checked.saga
    loaded.input = _input(loaded, document, model, here, saga)
    for index, case in enumerate(model.cases):
        _check_case(loaded, document, saga, index, case.fail or {}, case.expect)
    _check_services(loaded, document, saga, model)


def _input(loaded: LoadedTest, document: Document, model: TestFile, here: Path, saga: Saga) -> Any:
    if model.input_file is None:
        loaded.diagnostics += validate_input(saga, model.input, loaded.path, _input_doc(document))
        return model.input
    source, problems = load_input(here / model.input_file)
    loaded.diagnostics += problems
    if source is None:
        return None
    loaded.diagnostics += validate_input(saga, source.data, source.path, source)
    return source.data


def _input_doc(document: Document) -> Document:
    """The test file seen from its `input` key, so input diagnostics point into it."""
    prefix = ("input",)
    keys = {p[1:]: v for p, v in document.keys.items() if p[:1] == prefix}
    values = {p[1:]: v for p, v in document.values.items() if p[:1] == prefix}
    return Document(document.path, document.text, document.data.get("input"), keys, values)


def _check_case(
    loaded: LoadedTest,
    document: Document,
    saga: Saga,
    index: int,
    fail: dict[str, Any],
    expect: Any,
) -> None:
    steps = {step.name: step for step in saga.steps}
    for target, fault in fail.items():
        name, _, kind = target.partition(".")
        where = ("cases", index, "fail", target)
        if name not in steps:
            message = f"unknown step {name!r}{near_miss(name, steps)}"
            loaded.diagnostics.append(_at(document, where, message))
        elif kind not in ("", "compensation"):
            message = f"{target!r}: write 'STEP' for the action or 'STEP.compensation'"
            loaded.diagnostics.append(_at(document, where, message))
        elif kind and not _has_compensation(steps[name]):
            message = f"step {name!r} has no compensation to fail"
            loaded.diagnostics.append(_at(document, where, message))
        elif kind and _kind_of(fault) == "cancel":
            message = "'cancel' applies to a step's action, not to its compensation"
            loaded.diagnostics.append(_at(document, where, message))
    for key in ("failed_step", "compensated", "compensation_failed", "left_in_place"):
        value = getattr(expect, key, None) if expect is not None else None
        named = [((), value)] if isinstance(value, str) else list(enumerate(value or []))
        for position, name in named:
            if name not in steps:
                path = ("cases", index, "expect", key, *((position,) if position != () else ()))
                line, column = document.value_position(path)
                message = f"unknown step {name!r}{near_miss(name, steps)}"
                loaded.diagnostics.append(Diagnostic(loaded.path, line, column, "error", message))


def _has_compensation(step: Any) -> bool:
    return step.compensation is not None and not isinstance(step.compensation, str)


def _kind_of(fault: Any) -> str:
    return str(fault.fault if isinstance(fault, FaultSpec) else fault)


def _check_services(loaded: LoadedTest, document: Document, saga: Saga, model: TestFile) -> None:
    known = list(saga.services or {})
    for service, table in (model.services or {}).items():
        if service not in known and not service.startswith(("http://", "https://")):
            message = (
                f"unknown service {service!r}{near_miss(service, known)}: name a service "
                "of the saga, or the origin of an absolute url (http://host:port)"
            )
            loaded.diagnostics.append(_at(document, ("services", service), message))
        answers: dict[str, Answer] = {}
        for pattern, answer in table.items():
            method, _, route = pattern.strip().partition(" ")
            if method.upper() not in METHODS or not route.strip().startswith("/"):
                message = f"invalid pattern {pattern!r}: write 'METHOD /path', e.g. 'POST /items'"
                loaded.diagnostics.append(_at(document, ("services", service, pattern), message))
                continue
            answers[pattern] = _answer(answer)
        loaded.answers[service] = answers


def _answer(model: Any) -> Answer:
    from dsl import parse_duration

    delay = parse_duration(model.delay).total_seconds() if model.delay else 0.0
    return Answer(
        status=model.status,
        json_body=model.json_body,
        has_json="json_body" in model.model_fields_set,
        headers=dict(model.headers or {}),
        delay=delay,
    )


def faults_of(fail: dict[str, Any]) -> dict[tuple[str, str], Fault]:
    """The case's `fail` mapping as faults by (step, kind)."""
    faults = {}
    for target, value in fail.items():
        name, _, kind = target.partition(".")
        times = value.times if isinstance(value, FaultSpec) else 0
        faults[(name, kind or "action")] = Fault(_kind_of(value), times)
    return faults
