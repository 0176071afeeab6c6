"""Reading a `*.test.yaml` file: every mistake as a `path:line:col` diagnostic.

The file is read by the language's own hardened loader, its structure judged by the
JSON Schema of `_model` (so messages match those of saga files: unknown keys with the
near miss, wrong kinds of values), then its meaning: the saga it names must be valid,
the input must fit it, every step, service and pattern it mentions must exist, and the
data it gives wait steps must fit their `schema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dsl import (
    Diagnostic,
    Document,
    ExpressionError,
    Saga,
    Step,
    compile_condition,
    data_problems,
    evaluate_condition,
    # The language's mapping of schema errors to positioned, plain-words diagnostics;
    # the test-file format reuses it so both kinds of files speak alike.
    jsonschema_diagnostics,
    load_and_check,
    load_input,
    near_miss,
    pydantic_diagnostics,
    validate_input,
)
from interpreter.testing._model import FaultSpec, TestCase, TestFile, saga_test_schema
from interpreter.testing._services import Answer, Fault

__all__ = ["LoadedTest", "faults_of", "load_test_file", "signals_of", "wait_data_problems"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "*")
WAIT_FAULTS = ("timeout", "rejected", "cancel")
"""The faults of a wait step itself (its notify request takes those of a request)."""


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
    rejections = model.rejections or {}
    for index, case in enumerate(model.cases):
        _check_case(loaded, document, saga, index, case.fail or {}, case.expect, rejections)
        where: tuple[str | int, ...] = ("cases", index, "signals")
        loaded.diagnostics += check_wait_data(saga, document, where, case.signals or {})
    loaded.diagnostics += check_wait_data(saga, document, ("signals",), model.signals or {})
    loaded.diagnostics += check_wait_data(
        saga, document, ("rejections",), rejections, rejecting=True, input=loaded.input
    )
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
    rejections: dict[str, Any],
) -> None:
    steps = {step.name: step for step in saga.steps}
    for target, fault in fail.items():
        name, _, kind = target.partition(".")
        message: str | None = None
        if name not in steps:
            message = f"unknown step {name!r}{near_miss(name, steps)}"
        else:
            message = _fault_problem(steps[name], target, kind, fault, rejections)
        if message is not None:
            loaded.diagnostics.append(_at(document, ("cases", index, "fail", target), message))
    for key in ("failed_step", "compensated", "compensation_failed", "left_in_place"):
        value = getattr(expect, key, None) if expect is not None else None
        named = [((), value)] if isinstance(value, str) else list(enumerate(value or []))
        for position, name in named:
            if name not in steps:
                path = ("cases", index, "expect", key, *((position,) if position != () else ()))
                line, column = document.value_position(path)
                message = f"unknown step {name!r}{near_miss(name, steps)}"
                loaded.diagnostics.append(Diagnostic(loaded.path, line, column, "error", message))


def _fault_problem(
    step: Step, target: str, kind: str, fault: Any, rejections: dict[str, Any]
) -> str | None:
    """Why `fault` cannot strike `target` (a step, its compensation or its notify)."""
    name, fault_kind = step.name, _kind_of(fault)
    if kind not in ("", "compensation", "notify"):
        return f"{target!r}: write 'STEP', 'STEP.compensation' or 'STEP.notify'"
    if kind == "compensation" and not _has_compensation(step):
        return f"step {name!r} has no compensation to fail"
    if kind == "notify" and (step.wait is None or step.wait.notify is None):
        return f"step {name!r} has no notify request to fail"
    if kind and fault_kind == "cancel":
        return f"'cancel' applies to a step's action or wait, not to its {kind}"
    if kind and fault_kind == "rejected":
        return f"'rejected' applies to a wait step's data, not to its {kind}"
    if step.wait is None and fault_kind == "rejected":
        return f"'rejected' applies to wait steps; {name!r} is not one"
    if kind or step.wait is None:
        return None
    return _wait_fault_problem(step, fault, rejections)


def _wait_fault_problem(step: Step, fault: Any, rejections: dict[str, Any]) -> str | None:
    assert step.wait is not None
    name = step.name
    if isinstance(fault, FaultSpec) or str(fault) not in WAIT_FAULTS:
        return (
            f"{name!r} is a wait step: its faults are 'timeout', 'rejected' and 'cancel' "
            f"(for its notify request, write '{name}.notify')"
        )
    if fault == "rejected" and step.wait.success in (None, True):
        return f"step {name!r} has no `success`: no data can reject it"
    if fault == "rejected" and name not in rejections:
        return f"'rejected' needs the data that rejects: add `rejections: {{{name}: DATA}}`"
    return None


def wait_data_problems(
    saga: Saga, data: dict[str, Any], rejecting: bool = False, input: Any = None
) -> list[str]:
    """`check_wait_data` without a file: the problems as plain messages (`rejecting`:
    the data must make the step's `success` false for this input)."""
    return [
        message
        for name, value in data.items()
        for _, message in _data_problems(saga, name, value, rejecting, input)
    ]


def check_wait_data(
    saga: Saga,
    document: Document,
    where: tuple[str | int, ...],
    data: dict[str, Any],
    rejecting: bool = False,
    input: Any = None,
) -> list[Diagnostic]:
    """Problems of data given to wait steps by name (at `where` in `document`): a name
    that is not a wait step, data its `schema` refuses. `rejecting` checks rejection
    data: the step must have a `success` that the data (with `input`) does not make true."""
    found = []
    for name, value in data.items():
        path = (*where, name)
        for inner, message in _data_problems(saga, name, value, rejecting, input):
            line, column = _position(document, path, inner)
            found.append(Diagnostic(document.path, line, column, "error", message))
    return found


def _position(
    document: Document, path: tuple[str | int, ...], inner: tuple[str | int, ...] | None
) -> tuple[int, int]:
    if inner is None:
        return document.key_position(path)
    return document.value_position((*path, *inner))


def _data_problems(
    saga: Saga, name: str, value: Any, rejecting: bool, input: Any
) -> list[tuple[tuple[str | int, ...] | None, str]]:
    """(where inside the data, or None for the step's key; the message)."""
    waits = [step.name for step in saga.steps if step.wait is not None]
    if name not in waits:
        listed = ", ".join(waits) or "none"
        known = any(step.name == name for step in saga.steps)
        what = f"step {name!r} is not a wait step" if known else f"unknown step {name!r}"
        return [(None, f"{what}{near_miss(name, waits)}; wait steps: {listed}")]
    wait = saga.step(name).wait
    assert wait is not None
    problems = [] if wait.schema_ is None else data_problems(wait.schema_, value)
    found: list[tuple[tuple[str | int, ...] | None, str]] = [
        (inner, f"the data for {name!r} does not fit its schema: {message}")
        for inner, message in problems
    ]
    if not rejecting or found:
        return found
    if wait.success in (None, True):
        return [(None, f"step {name!r} has no `success`: no data can reject it")]
    if _accepted(wait.success, value, input):
        return [((), f"this data does not reject {name!r}: its `success` is true for it")]
    return []


def _accepted(success: Any, data: Any, input: Any) -> bool:
    """True when `success` is surely true for `data` (False when it reads more than the
    data and the input, which only a run knows)."""
    try:
        condition = compile_condition(success)
        return bool(evaluate_condition(condition, {"input": input, "signal": data}, ordered=True))
    except ExpressionError:
        return False


def signals_of(model: TestFile, case: TestCase, saga: Saga) -> tuple[dict[str, Any], str | None]:
    """The data a case delivers to wait steps as its run starts (in the saga's order),
    and the wait step to cancel the saga at, if any."""
    given = {**(model.signals or {}), **(case.signals or {})}
    cancel = None
    for target, fault in (case.fail or {}).items():
        if "." in target or saga.step(target).wait is None:
            continue
        given.pop(target, None)
        if fault == "rejected":
            given[target] = (model.rejections or {})[target]
        elif fault == "cancel":
            cancel = target
    order = [step.name for step in saga.steps]
    return {name: given[name] for name in order if name in given}, cancel


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


def faults_of(fail: dict[str, Any], saga: Saga) -> dict[tuple[str, str], Fault]:
    """The case's `fail` mapping as the services' faults by (step, kind); the faults of
    wait steps themselves are not the services' (see `signals_of`)."""
    faults = {}
    for target, value in fail.items():
        name, _, kind = target.partition(".")
        if not kind and saga.step(name).wait is not None:
            continue
        times = value.times if isinstance(value, FaultSpec) else 0
        faults[(name, kind or "action")] = Fault(_kind_of(value), times)
    return faults
