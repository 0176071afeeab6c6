"""Semantic checks of a saga that passed the schema (SPEC 3.1). Every problem is collected.

Errors: duplicate step names, unknown `after` targets and services, cycles, templates
that do not parse or read what they may not (`dsl._templates`), more than one pivot,
finite retries after the pivot, a wait step after the pivot, an `input` or a wait's
`schema` that is not a JSON Schema.
Warnings: a mutating step with no compensation, a compensation that can never run,
a step whose retries (or wait) outlast the saga's `timeout`.

After a cycle in `after`, the checks that need to know which step finishes first
(reads of steps not guaranteed to have finished, the pivot's descendants) are skipped.

Pivot rules: at most one step is the pivot. Steps after it (its descendants) are never
compensated, so they must retry without limit, and need no compensation; the pivot's
own compensation runs only with `compensate_on: attempt` (a pivot that succeeded is
never undone).
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache
from typing import Any

from dsl._dag import StepGraph
from dsl._diagnostics import Diagnostic, Severity
from dsl._loader import Document, JsonPath
from dsl._model import MUTATING_METHODS, Request, Saga, effective_request, format_duration
from dsl._schema_errors import near_miss
from dsl._templates import check_input_reads, check_template_reads, find_templates

__all__ = ["check_saga", "input_validator"]


class _Report:
    def __init__(self, document: Document) -> None:
        self.document = document
        self.found: list[Diagnostic] = []

    def at_value(self, path: JsonPath, message: str, severity: Severity = "error") -> None:
        line, column = self.document.value_position(path)
        self.found.append(Diagnostic(self.document.path, line, column, severity, message))

    def at_key(self, path: JsonPath, message: str, severity: Severity = "error") -> None:
        line, column = self.document.key_position(path)
        self.found.append(Diagnostic(self.document.path, line, column, severity, message))


def check_saga(saga: Saga, document: Document) -> list[Diagnostic]:
    report = _Report(document)
    graph = StepGraph.of(saga)
    _step_names(saga, report)
    _after_targets(saga, report)
    # With a cycle, which step finishes before which is undefined: the checks built on
    # that order would only report consequences of the cycle, so they wait for its fix.
    ordered = not _cycles(graph, report)
    _services(saga, report)
    uses, problems = find_templates(document)
    report.found += problems
    attempt = {i for i, step in enumerate(saga.steps) if step.compensate_on == "attempt"}
    waits = {i for i, step in enumerate(saga.steps) if step.wait is not None}
    report.found += check_template_reads(
        document, uses, graph, attempt, ordered=ordered, wait_steps=waits
    )
    report.found += check_input_reads(document, uses, saga.input)
    pivot = _pivots(saga, report)
    if pivot is not None and ordered:
        _after_pivot(saga, graph, pivot, report)
    _compensations(saga, graph, pivot if ordered else None, report)
    _compensation_retries(saga, graph, pivot if ordered else None, report)
    _timeouts(saga, report)
    _history_size(saga, report)
    _input_schema(saga, report)
    _wait_schemas(saga, report)
    return sorted(set(report.found))


def _step_names(saga: Saga, report: _Report) -> None:
    first: dict[str, int] = {}
    for i, step in enumerate(saga.steps):
        if step.name in first:
            line = report.document.value_position(("steps", first[step.name], "name"))[0]
            message = f"duplicate step name {step.name!r} (first used on line {line})"
            report.at_value(("steps", i, "name"), message)
        first.setdefault(step.name, i)


def _after_targets(saga: Saga, report: _Report) -> None:
    names = [step.name for step in saga.steps]
    for i, step in enumerate(saga.steps):
        for j, target in enumerate(step.after or []):
            if target not in names:
                message = f"unknown step {target!r} in `after`{near_miss(target, names)}"
                report.at_value(("steps", i, "after", j), message)


def _cycles(graph: StepGraph, report: _Report) -> bool:
    """Report each cycle; True when there is one."""
    cycles = graph.cycles()
    for cycle in cycles:
        start = cycle[0]
        path: JsonPath = ("steps", start, "after")
        if len(cycle) == 2:
            report.at_key(path, f"step {graph.names[start]!r} waits for itself")
            continue
        walk = " -> ".join(graph.names[i] for i in cycle)
        report.at_key(path, f"steps wait for each other in a cycle: {walk}")
    return bool(cycles)


def _requests(saga: Saga) -> list[tuple[JsonPath, Request]]:
    found: list[tuple[JsonPath, Request]] = []
    for i, step in enumerate(saga.steps):
        if step.action is not None:
            found.append((("steps", i, "action"), step.action))
        if step.wait is not None and step.wait.notify is not None:
            found.append((("steps", i, "wait", "notify"), step.wait.notify))
        if isinstance(step.compensation, Request):
            found.append((("steps", i, "compensation"), step.compensation))
    return found


def _services(saga: Saga, report: _Report) -> None:
    declared = list(saga.services or {})
    for path, request in _requests(saga):
        if request.service is not None and request.service not in declared:
            hint = near_miss(request.service, declared) or (
                "" if declared else " (no `services` are declared)"
            )
            report.at_value((*path, "service"), f"unknown service {request.service!r}{hint}")


def _pivots(saga: Saga, report: _Report) -> int | None:
    pivots = [i for i, step in enumerate(saga.steps) if step.pivot]
    for extra in pivots[1:]:
        message = f"a saga has at most one pivot, and {saga.steps[pivots[0]].name!r} is already it"
        report.at_value(("steps", extra, "pivot"), message)
    return pivots[0] if pivots else None


def _after_pivot(saga: Saga, graph: StepGraph, pivot: int, report: _Report) -> None:
    pivot_name = saga.steps[pivot].name
    for i in graph.descendants(pivot):
        step = saga.steps[i]
        if step.action is None:
            if i != pivot:
                message = (
                    f"wait step {step.name!r} runs after the pivot {pivot_name!r}, where "
                    "nothing may fail: a wait can time out or be refused; put it before "
                    "the pivot, or make it the pivot"
                )
                report.at_key(("steps", i, "wait"), message)
            continue
        attempts = effective_request(saga, step.action, "action").retry.max_attempts
        if attempts == 0 or i == pivot:
            continue
        message = (
            f"step {step.name!r} runs after the pivot {pivot_name!r}, so it must retry until "
            f"it succeeds: set `max_attempts: 0` (it is {attempts})"
        )
        report.at_value(_attempts_path(saga, i), message)


def _attempts_path(saga: Saga, i: int) -> JsonPath:
    """Where the finite `max_attempts` of step i comes from."""
    action = saga.steps[i].action
    retry = action.retry if action is not None else None
    if retry is not None and retry.max_attempts is not None:
        return ("steps", i, "action", "retry", "max_attempts")
    defaults = saga.defaults.retry if saga.defaults else None
    if defaults is not None and defaults.max_attempts is not None:
        return ("defaults", "retry", "max_attempts")
    return ("steps", i, "name")


def _compensations(saga: Saga, graph: StepGraph, pivot: int | None, report: _Report) -> None:
    committed = set(graph.descendants(pivot)) if pivot is not None else set()
    for i, step in enumerate(saga.steps):
        has_request = isinstance(step.compensation, Request)
        if i in committed:
            if has_request:
                message = f"the compensation of {step.name!r} never runs: it comes after the pivot"
                report.at_key(("steps", i, "compensation"), message, "warning")
        elif i == pivot:
            if has_request and step.compensate_on == "success":
                message = (
                    f"the compensation of the pivot {step.name!r} never runs: a pivot that "
                    "succeeded is never undone (use `compensate_on: attempt` or remove it)"
                )
                report.at_key(("steps", i, "compensation"), message, "warning")
        elif step.compensation is None and step.action and step.action.method in MUTATING_METHODS:
            message = (
                f"step {step.name!r} changes something ({step.action.method}) but has no "
                "compensation: add one, or say `compensation: none`"
            )
            report.at_value(("steps", i, "name"), message, "warning")
        if step.compensate_on == "attempt" and not has_request:
            message = "`compensate_on: attempt` has no effect without a compensation"
            report.at_value(("steps", i, "compensate_on"), message, "warning")


def _compensation_retries(saga: Saga, graph: StepGraph, pivot: int | None, report: _Report) -> None:
    """A compensation that may stop retrying can leave its step's effect in place."""
    never_run = set(graph.descendants(pivot)) if pivot is not None else set()
    if pivot is not None and saga.steps[pivot].compensate_on == "success":
        never_run.add(pivot)
    from_defaults: list[str] = []
    shared = 0
    for i, step in enumerate(saga.steps):
        if not isinstance(step.compensation, Request) or i in never_run:
            continue
        attempts = effective_request(saga, step.compensation, "compensation").retry.max_attempts
        if attempts == 0:
            continue
        own = step.compensation.retry
        if own is not None and own.max_attempts is not None:
            message = (
                f"the compensation of {step.name!r} gives up after {attempts} attempts and can "
                "leave the step's effect in place: remove `max_attempts` (compensations retry "
                "without limit) or set it to 0"
            )
            report.at_value(
                ("steps", i, "compensation", "retry", "max_attempts"), message, "warning"
            )
        else:  # it comes from defaults.compensation.retry: the same for each of them
            from_defaults.append(step.name)
            shared = attempts
    if from_defaults:
        names = ", ".join(repr(name) for name in from_defaults)
        message = (
            f"compensations give up after {shared} attempts ({names}) and can leave an "
            "effect in place: remove `max_attempts` (compensations retry without limit) or "
            "set it to 0"
        )
        path: JsonPath = ("defaults", "compensation", "retry", "max_attempts")
        report.at_value(path, message, "warning")


MAX_SECONDS = timedelta(days=36_500).total_seconds()
"""Worst cases beyond a century are reported as a century: no clock needs more."""


def _worst_case(saga: Saga, request: Request) -> tuple[timedelta, int] | None:
    """The longest an action may take, and its attempts; None when retried without limit."""
    effective = effective_request(saga, request, "action")
    retry = effective.retry
    if retry.max_attempts == 0:
        return None
    cap = retry.max_interval.total_seconds()
    total = effective.timeout.total_seconds() * retry.max_attempts
    wait, waits = retry.initial_interval.total_seconds(), retry.max_attempts - 1
    # Waits grow until they reach max_interval, then stay there: add the growing ones one
    # by one (a few dozen at most), the rest in one product, so a huge count costs nothing.
    while waits and wait < cap and retry.backoff > 1:
        total, wait, waits = total + wait, wait * retry.backoff, waits - 1
    total += min(wait, cap) * waits
    return timedelta(seconds=min(total, MAX_SECONDS)), retry.max_attempts


EVENTS_PER_UNDONE_STEP = 12
"""A step writes 6 history events (its activity's 3 and a workflow task), its undo 6 more."""
EVENTS_PER_RUN = 4
"""The run's start and end, and the marker that records its semantics version."""
HISTORY_WARNING_EVENTS = 10_240
"""Where Temporal starts warning about a run's history."""
HISTORY_LIMIT_EVENTS = 51_200
"""Where Temporal terminates a run, without compensating it."""
HISTORY_WARNING_BYTES = 10 * 1024 * 1024
HISTORY_LIMIT_BYTES = 50 * 1024 * 1024
PAYLOAD_WARNING_BYTES = 512 * 1024
PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024
BYTES_PER_EVENT = 256
"""What an event costs beyond the payloads it carries (ids, times, retry policy)."""


def _history_size(saga: Saga, report: _Report) -> None:
    """The worst case: every step succeeds, then the last one fails and all are undone.

    Counted: the events, and the bytes of the definition (the run's input holds it) and
    of every request as written (each activity's input holds it, rendered). Not counted:
    what responses bring back, which no file can know.
    """
    steps = len(saga.steps)
    events = EVENTS_PER_UNDONE_STEP * steps + EVENTS_PER_RUN
    definition = len(saga.model_dump_json(by_alias=True, exclude_none=True))
    size = _worst_case_bytes(saga, definition, events)
    _definition_size(definition, report)
    if events > HISTORY_LIMIT_EVENTS:
        message = (
            f"this saga can write up to {events:,} history events ({steps:,} steps, undone "
            f"from the end), over Temporal's limit of {HISTORY_LIMIT_EVENTS:,} by "
            f"{events - HISTORY_LIMIT_EVENTS:,}: Temporal would stop the run without "
            f"compensating it; split it into sagas of at most {_max_steps():,} steps"
        )
        report.at_value(("steps",), message)
    elif events > HISTORY_WARNING_EVENTS:
        message = (
            f"{steps} steps write about {events} history events when undone from the end; "
            "Temporal warns past 10,240 and stops a run at 51,200: split the saga"
        )
        report.at_value(("steps",), message, "warning")
    if size > HISTORY_LIMIT_BYTES:
        message = (
            f"this saga can write a history of about {_mb(size)} (its definition and "
            f"requests, undone from the end, responses not counted), over Temporal's limit "
            f"of 50 MB by {_mb(size - HISTORY_LIMIT_BYTES)}: split it, or make its "
            "requests smaller"
        )
        report.at_value(("steps",), message)
    elif size > HISTORY_WARNING_BYTES:
        message = (
            f"this saga can write a history of about {_mb(size)} before counting any "
            "response; Temporal warns past 10 MB and stops a run at 50 MB: split the saga"
        )
        report.at_value(("steps",), message, "warning")


def _max_steps() -> int:
    return (HISTORY_LIMIT_EVENTS - EVENTS_PER_RUN) // EVENTS_PER_UNDONE_STEP


def _definition_size(size: int, report: _Report) -> None:
    """The definition travels in the run's input: one payload, which Temporal refuses
    over 2 MB (and warns about over 512 KB)."""
    if size > PAYLOAD_LIMIT_BYTES:
        message = (
            f"the definition is {_mb(size)} as JSON, and a run carries it in its input: over "
            f"Temporal's limit of 2 MB for one payload by {_mb(size - PAYLOAD_LIMIT_BYTES)}, "
            "so no run could start: split the saga"
        )
        report.at_value(("steps",), message)
    elif size > PAYLOAD_WARNING_BYTES:
        message = (
            f"the definition is {_mb(size)} as JSON, and a run carries it in its input; "
            "Temporal warns about payloads over 512 KB and refuses them over 2 MB"
        )
        report.at_value(("steps",), message, "warning")


def _worst_case_bytes(saga: Saga, definition: int, events: int) -> int:
    requests = sum(
        len(request.model_dump_json(by_alias=True, exclude_none=True))
        for _, request in _requests(saga)
    )
    return definition + requests + events * BYTES_PER_EVENT


def _mb(size: int) -> str:
    """Sizes as Temporal states its limits: MB of 1,048,576 bytes."""
    return f"{size / 1024 / 1024:.1f} MB"


def _timeouts(saga: Saga, report: _Report) -> None:
    if saga.timeout is None:
        return
    for i, step in enumerate(saga.steps):
        if step.wait is not None and step.wait.timeout > saga.timeout:
            message = (
                f"step {step.name!r} waits up to {format_duration(step.wait.timeout)}, longer "
                f"than the saga's timeout {format_duration(saga.timeout)}"
            )
            report.at_value(("steps", i, "wait", "timeout"), message, "warning")
        worst = _worst_case(saga, step.action) if step.action is not None else None
        if worst is None or worst[0] <= saga.timeout:
            continue
        message = (
            f"step {step.name!r} may take up to {format_duration(worst[0])} ({worst[1]} "
            f"attempts with their waits), longer than the saga's timeout "
            f"{format_duration(saga.timeout)}"
        )
        report.at_value(("steps", i, "name"), message, "warning")


def _input_schema(saga: Saga, report: _Report) -> None:
    if saga.input is None:
        return
    for path, message in _schema_problems(json.dumps(saga.input, sort_keys=True)):
        report.at_value(("input", *path), f"`input` is not a valid JSON Schema: {message}")


def _wait_schemas(saga: Saga, report: _Report) -> None:
    for i, step in enumerate(saga.steps):
        if step.wait is None or step.wait.schema_ is None:
            continue
        for path, message in _schema_problems(json.dumps(step.wait.schema_, sort_keys=True)):
            where: JsonPath = ("steps", i, "wait", "schema", *path)
            report.at_value(where, f"`schema` is not a valid JSON Schema: {message}")


@lru_cache(maxsize=64)
def _schema_problems(schema_json: str) -> tuple[tuple[JsonPath, str], ...]:
    schema = json.loads(schema_json)
    if _plainly_valid(schema):
        return ()  # the common case, decided without loading jsonschema (~35 ms)
    from jsonschema import Draft202012Validator

    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    errors = meta.iter_errors(schema)
    return tuple(sorted(((tuple(e.absolute_path), _meta_message(e)) for e in errors), key=str))


_TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"]

# What the 2020-12 meta-schema says of the keywords most schemas use. `_plainly_valid`
# accepts a schema only when every keyword in it is one of these, with a value the
# meta-schema accepts; anything else goes to the meta-schema itself, which words the
# problems. It may say "not sure" of a valid schema; it never accepts an invalid one.
_ANY = frozenset({"const", "default"})
_STRINGS = frozenset({"title", "description", "$comment", "format", "pattern"})
_BOOLEANS = frozenset({"uniqueItems", "deprecated", "readOnly", "writeOnly"})
_NUMBERS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_COUNTS = frozenset(
    {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}
)
_SCHEMAS = frozenset({"items", "additionalProperties", "not"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_LISTS = frozenset({"enum", "examples"})


def _plainly_valid(schema: Any, depth: int = 0) -> bool:
    """True when `schema` certainly satisfies the JSON Schema 2020-12 meta-schema
    (formats not asserted, as the meta-schema check does); False means "ask it"."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or depth > 32:
        return False
    for key, value in schema.items():
        if key in _ANY:
            continue
        if key == "type":
            kinds = value if isinstance(value, list) else [value]
            if not kinds or not all(k in _TYPES for k in kinds) or len(set(kinds)) < len(kinds):
                return False
        elif key == "properties":
            if not isinstance(value, dict):
                return False
            if not all(_plainly_valid(item, depth + 1) for item in value.values()):
                return False
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
                return False
            if len(set(value)) < len(value):
                return False
        elif key in _STRINGS:
            if not isinstance(value, str):
                return False
        elif key in _BOOLEANS:
            if not isinstance(value, bool):
                return False
        elif key in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
        elif key in _COUNTS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return False
        elif key in _SCHEMAS:
            if not _plainly_valid(value, depth + 1):
                return False
        elif key in _SCHEMA_LISTS:
            if not isinstance(value, list) or not value:
                return False
            if not all(_plainly_valid(item, depth + 1) for item in value):
                return False
        elif key in _LISTS:
            if not isinstance(value, list):
                return False
        else:
            return False
    return True


def _meta_message(error: Any) -> str:
    path = list(error.absolute_path)
    if path and path[-1] == "type" and isinstance(error.instance, str):
        return f"unknown type {error.instance!r}{near_miss(error.instance, _TYPES)}"
    message = str(error.message)
    return message[:1].lower() + message[1:]


def input_validator(schema: dict[str, Any]) -> tuple[Any, str]:
    """A validator of run inputs for the saga's `input`; (None, why) when it is invalid."""
    problems = _schema_problems(json.dumps(schema, sort_keys=True))
    if problems:
        return None, problems[0][1]
    return _input_validator(json.dumps(schema, sort_keys=True)), ""


@lru_cache(maxsize=64)
def _input_validator(schema_json: str) -> Any:
    from jsonschema import Draft202012Validator

    # `format` is asserted: a saga that says `format: date` means it.
    checker = Draft202012Validator.FORMAT_CHECKER
    return Draft202012Validator(json.loads(schema_json), format_checker=checker)
