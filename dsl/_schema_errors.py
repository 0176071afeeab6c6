"""Structural errors as diagnostics: JSON Schema errors and pydantic errors, each at the
position of the offending key or value, in plain words.

Every error of the document is reported. A union (`anyOf`) that fails is explained by
the branch the user evidently meant (the one whose shape matches the value), so a
misspelt key inside a compensation says "unknown key", not "not valid under any of
the given schemas".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from dsl._diagnostics import Diagnostic
from dsl._loader import Document, JsonPath

__all__ = [
    "describe_value",
    "field_name",
    "near_miss",
    "jsonschema_diagnostics",
    "pydantic_diagnostics",
]

_PATTERN_MESSAGES = {
    "duration": "invalid duration {value}: use a form such as '250ms', '10s', '1h30m'",
    "timeout": "invalid timeout {value}: use a duration of at least 1ms, such as '250ms', '10s'",
    "step": "invalid step name {value}: use lower-case letters, digits and '_', "
    "not starting with a digit",
    "saga": "invalid saga name {value}: use lower-case letters, digits, '-' and '_', "
    "starting with a letter, at most 63 characters",
    "secret": "invalid secret name {value}: use letters, digits and '_', not starting with a digit",
    "url": "invalid service url {value}: it must start with 'http://' or 'https://'",
    "status": "invalid status {value}: use a number such as 201 or a class such as '2xx'",
}


def _pattern_kind(pattern: str) -> str | None:
    from dsl import _model as model

    kinds = {
        model.DURATION_PATTERN: "duration",
        model.TIMEOUT_PATTERN: "timeout",
        model.STEP_NAME_PATTERN: "step",
        model.SAGA_NAME_PATTERN: "saga",
        r"^[A-Za-z_][A-Za-z0-9_]*$": "secret",
        r"^https?://": "url",
        r"^[1-5]xx$": "status",
    }
    return kinds.get(pattern)


def describe_value(value: Any) -> str:
    """The user's value as a message quotes it."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    return json.dumps(value)


def field_name(path: JsonPath) -> str:
    """`steps[2].action.method` for ('steps', 2, 'action', 'method')."""
    text = ""
    for part in path:
        if isinstance(part, str) and not part.isprintable():
            part = json.dumps(part)  # a line break in a key must not split the diagnostic
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f"`{text}`" if text else "the document"


def near_miss(word: str, options: Iterable[str]) -> str:
    import difflib  # here: a valid file never needs it, and a cold start spares ~1.5 ms

    options = list(options)
    by_case = [option for option in options if option.lower() == word.lower()]
    match = by_case or difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


# --- JSON Schema ----------------------------------------------------------------------


def jsonschema_diagnostics(document: Document, errors: Iterable[Any]) -> list[Diagnostic]:
    found: set[Diagnostic] = set()
    for error in errors:
        found.update(_explain(document, error))
    return sorted(found)


def _explain(document: Document, error: Any) -> Iterator[Diagnostic]:
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    if kind == "oneOf" and all(set(branch) == {"required"} for branch in error.validator_value):
        return  # `action` or `wait`: a rule between keys, worded by the model's validator
    if kind in ("anyOf", "oneOf") and error.context:
        yield from _explain_union(document, error, path)
    elif kind == "additionalProperties":
        yield from _unknown_keys(document, error, path)
    elif kind == "required":
        yield from _missing_keys(document, error, path)
    else:
        yield _at_value(document, path, _message(error, path))


def _at_value(document: Document, path: JsonPath, message: str) -> Diagnostic:
    line, column = document.value_position(path)
    return Diagnostic(document.path, line, column, "error", message)


def _unknown_keys(document: Document, error: Any, path: JsonPath) -> Iterator[Diagnostic]:
    allowed = list(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    for key in error.instance:
        if key not in allowed and not any(re.search(p, key) for p in patterns):
            line, column = document.key_position((*path, key))
            message = f"unknown key {key!r}{near_miss(key, allowed)}"
            if path:
                message += f" in {field_name(path)}"
            yield Diagnostic(document.path, line, column, "error", message)


def _missing_keys(document: Document, error: Any, path: JsonPath) -> Iterator[Diagnostic]:
    if path and isinstance(path[-1], str):
        line, column = document.key_position(path)
    else:
        line, column = document.value_position(path)
    allowed = error.schema.get("properties", {})
    unknown = [key for key in error.instance if key not in allowed]
    for key in error.validator_value:
        # A misspelt key already says "did you mean <key>?": one message is enough.
        if key not in error.instance and not _close(key, unknown):
            message = f"missing required key {key!r} in {field_name(path)}"
            yield Diagnostic(document.path, line, column, "error", message)


def _close(word: str, options: list[str]) -> bool:
    import difflib

    return bool(difflib.get_close_matches(word, options, 1, 0.6))


def _explain_union(document: Document, error: Any, path: JsonPath) -> Iterator[Diagnostic]:
    branches: dict[int, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [subs for subs in branches.values() if not any(_shape_error(s) for s in subs)]
    if fitting:
        for sub in min(fitting, key=len):
            yield from _explain(document, sub)
        return
    expected = [_expected(schema) for schema in error.validator_value]
    options = [text for text in expected if text != "null"] or ["null"]
    message = (
        f"{field_name(path)} must be {' or '.join(options)}, not {describe_value(error.instance)}"
    )
    consts = [s["const"] for s in error.validator_value if isinstance(s.get("const"), str)]
    if isinstance(error.instance, str) and consts:
        message += near_miss(error.instance, consts)
    yield _at_value(document, path, message)


def _shape_error(error: Any) -> bool:
    """An error saying the value is of another kind than the branch wants."""
    return not error.relative_path and error.validator in ("type", "const", "enum")


_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _expected(schema: dict[str, Any]) -> str:
    if "const" in schema:
        return repr(schema["const"]) if schema["const"] is not False else "false"
    if schema.get("$ref", "").endswith("/Secret") or schema.get("title") == "Secret":
        return "{secret: NAME}"
    if "$ref" in schema:
        return "a mapping"
    if _pattern_kind(str(schema.get("pattern"))) in ("duration", "timeout"):
        return "a duration such as '10s'"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(_TYPES.get(str(k), str(k)) for k in kind)
    return _TYPES.get(str(kind), "a value of another kind")


def _message(error: Any, path: JsonPath) -> str:
    value, kind, rule = error.instance, error.validator, error.validator_value
    shown = describe_value(value)
    name = field_name(path)
    if kind == "type":
        return f"{name} must be {_expected(error.schema)}, not {shown}"
    if kind == "pattern":
        template = _PATTERN_MESSAGES.get(_pattern_kind(rule) or "")
        if template:
            return template.format(value=shown)
        return f"{shown} does not match the pattern {rule!r}"
    if kind == "const" and path == ("version",):
        return f"unsupported version {shown}: the only version is 1"
    if kind == "const":
        return f"{name} must be {_expected(error.schema)}, not {shown}"
    if kind == "enum":
        options = ", ".join(str(option) for option in rule)
        return f"{name} must be one of {options}, not {shown}{near_miss(str(value), rule)}"
    if kind == "minItems":
        return f"{name} needs at least {rule} item{'s' if rule != 1 else ''}"
    if kind == "format":
        return f"{name} must be a valid {rule}, not {shown}"
    if kind in ("minLength", "maxLength"):
        bound = "at least" if kind == "minLength" else "at most"
        return f"{name} must have {bound} {rule} character{'s' if rule != 1 else ''}, not {shown}"
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return f"{name} must be {bound} {rule}, not {shown}"
    return f"{name}: {error.message}"


# --- pydantic -------------------------------------------------------------------------


def pydantic_diagnostics(
    document: Document, errors: Sequence[Mapping[str, Any]], only_rules: bool
) -> list[Diagnostic]:
    """Diagnostics for pydantic errors; `only_rules` keeps those of our own validators
    (rules across keys that the JSON Schema does not express)."""
    located = [(_data_path(document.data, e["loc"]), e) for e in errors]
    rules = [(path, e) for path, e in located if _is_rule(document.data, path, e)]
    ruled = {path for path, _ in rules}
    # A rule's failure makes the other members of a union fail too: that is noise.
    chosen = rules if only_rules else rules + [(p, e) for p, e in located if p not in ruled]
    found: set[Diagnostic] = set()
    for path, error in chosen:
        message = _pydantic_message(error)
        if (path, error) in rules:
            line, column = _rule_position(document, path, message)
        else:
            line, column = document.value_position(path)
        found.add(Diagnostic(document.path, line, column, "error", _lower(message)))
    return sorted(found)


def _pydantic_message(error: Mapping[str, Any]) -> str:
    pattern = (error.get("ctx") or {}).get("pattern")
    template = _PATTERN_MESSAGES.get(_pattern_kind(str(pattern)) or "")
    if error["type"] == "string_pattern_mismatch" and template:
        return template.format(value=describe_value(error["input"]))
    return str(error["msg"]).removeprefix("Value error, ")


def _is_rule(data: Any, path: JsonPath, error: Mapping[str, Any]) -> bool:
    """A model validator's error: a rule across the keys of a mapping."""
    for part in path:
        data = data[part]
    return error["type"] == "value_error" and isinstance(data, dict)


def _lower(message: str) -> str:
    return message[:1].lower() + message[1:]


def _data_path(data: Any, loc: Iterable[Any]) -> JsonPath:
    """The part of pydantic's `loc` that exists in the data (it adds union tags)."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            continue
        path.append(part)
    return tuple(path)


def _rule_position(document: Document, path: JsonPath, message: str) -> tuple[int, int]:
    """For 'give either `a` or `b`, not both', the later of the keys that clash."""
    mentioned = [word for word in message.split("`")[1::2] if word.isidentifier()]
    clashing = [(*path, key) for key in mentioned if (*path, key) in document.keys]
    if "not both" in message and clashing:
        return max(document.keys[key] for key in clashing)
    if path and isinstance(path[-1], str):
        return document.key_position(path)
    return document.value_position(path)
