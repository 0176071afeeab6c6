"""YAML events composed into plain data, with the position of every key and value.

The events come from ruamel.yaml: its libyaml-based C parser when `ruamel.yaml.clib`
is installed, its pure-Python parser otherwise. Composing them here, in one loop and
without recursion, is what lets `dsl._loader` bound what a file may cost (depth,
values after alias expansion) and report duplicate keys where they are. Scalars follow
the YAML 1.2 core schema.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dsl._diagnostics import DslError

if TYPE_CHECKING:
    from dsl._loader import JsonPath, Limits, Position

__all__ = ["ComposeError", "Composed", "compose"]


class ComposeError(DslError):
    """Why the text is not one usable document, and where (1-based)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class Composed:
    data: Any
    keys: dict[JsonPath, Position]
    values: dict[JsonPath, Position]
    spans: dict[JsonPath, tuple[int, int, str]]
    """Each string value's start and end index in the text, and its YAML style."""


def compose(text: str, path: str, limits: Limits, mapping: bool = True) -> Composed:
    """The document in `text`; raises ComposeError. `mapping`: the top must be a mapping."""
    builder = _Builder(path, text, limits)
    data = builder.run(mapping)
    return Composed(data, builder.keys, builder.values, builder.spans)


def _event_getter(text: str) -> Any:
    """A function that returns the next parser event, then None: the C parser's when it
    is installed (ten times faster than the pure-Python one)."""
    try:
        parser_class = importlib.import_module("_ruamel_yaml").CParser
    except ImportError:
        return _pure(text)
    return parser_class(text).get_event


def _pure(text: str) -> Any:
    from ruamel.yaml import YAML

    events = iter(YAML(typ="safe", pure=True).parse(text))
    return lambda: next(events, None)


# --- scalars: the YAML 1.2 core schema ----------------------------------------------

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_NOT_JSON = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_CORE = "tag:yaml.org,2002:"


_MAYBE_NOT_STR = frozenset("0123456789+-.~nNtTfF")


def _resolve(value: str) -> Any:
    if value and value[0] not in _MAYBE_NOT_STR:
        return value
    if value in _NULLS:
        return None
    if value in _BOOLS:
        return _BOOLS[value]
    if _INT.fullmatch(value):
        return _int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if _NOT_JSON.fullmatch(value):
        raise ValueError(f"{value!r} is not a JSON number; quote it to make it a string")
    return value


def _int(value: str) -> int:
    if len(value) > 1000:
        raise ValueError("the number is too long")
    if value.startswith(("0o", "0x")):
        return int(value[2:], 8 if value[1] == "o" else 16)
    return int(value)


def _tagged(tag: str, value: str) -> Any:
    kind = tag.removeprefix(_CORE)
    if kind == "str":
        return value
    if kind in ("int", "float", "bool", "null"):
        resolved = _resolve(value)
        expected: dict[str, tuple[type, ...]] = {
            "int": (int,),
            "float": (int, float),
            "bool": (bool,),
            "null": (type(None),),
        }
        fits = isinstance(resolved, expected[kind])
        if fits and not (kind != "bool" and isinstance(resolved, bool)):
            return float(resolved) if kind == "float" else resolved
        raise ValueError(f"{value!r} is not a valid !!{kind}")
    raise ValueError(f"unsupported tag {tag!r}: use plain JSON values")


def _scalar(event: Any) -> Any:
    tag = str(event.tag) if event.tag is not None else None
    plain = not event.style
    if tag is None or tag == "!":
        if plain and event.implicit[0] and tag is None:
            value = _resolve(event.value)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{event.value!r} is too large for a JSON number")
            return value
        return event.value
    return _tagged(tag, event.value)


# --- composition --------------------------------------------------------------------

_MERGE = object()


class _Frame:
    """An open mapping or sequence. (A plain class with slots: one is made per container.)"""

    __slots__ = (
        "path", "container", "is_map", "anchor", "mark", "nodes", "key", "key_mark", "seen",
        "merges",
    )  # fmt: skip

    def __init__(self, path: JsonPath, container: Any, anchor: str | None, mark: Any) -> None:
        self.path = path
        self.container = container
        self.is_map = isinstance(container, dict)
        self.anchor = anchor
        self.mark = mark
        self.nodes = 1
        self.key: Any = None
        self.key_mark: Any = None
        self.seen: dict[str, Position] = {}
        self.merges: list[tuple[Any, Any]] = []


class _Builder:
    def __init__(self, path: str, text: str, limits: Limits) -> None:
        self.path, self.text, self.limits = path, text, limits
        self.keys: dict[JsonPath, Position] = {}
        self.values: dict[JsonPath, Position] = {}
        self.spans: dict[JsonPath, tuple[int, int, str]] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.stack: list[_Frame] = []
        self.total = 0
        self.documents = 0
        self.root: Any = None

    def _handlers(self) -> dict[type, Any]:
        from ruamel.yaml import events

        return {
            events.DocumentStartEvent: self._on_document,
            events.ScalarEvent: self._on_scalar,
            events.MappingStartEvent: lambda event: self._open(event, {}),
            events.SequenceStartEvent: lambda event: self._open(event, []),
            events.MappingEndEvent: lambda event: self._close(),
            events.SequenceEndEvent: lambda event: self._close(),
            events.AliasEvent: self._on_alias,
        }

    def run(self, mapping: bool) -> Any:
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        handlers = self._handlers()
        try:
            get = _event_getter(self.text)
            while (event := get()) is not None:
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
        except MarkedYAMLError as error:
            raise self._syntax(error) from None
        except YAMLError as error:
            raise self._reader(error) from None
        except RecursionError:
            raise ComposeError("the document is nested too deeply", 1, 1) from None
        return self._root(mapping)

    def _root(self, mapping: bool) -> Any:
        if self.documents == 0:
            what = "a saga needs `version`, `name` and `steps`" if mapping else "no value"
            raise ComposeError(f"the file is empty: {what}", 1, 1)
        if mapping and not isinstance(self.root, dict):
            line, column = self.values.get((), (1, 1))
            kind = _kind(self.root)
            raise ComposeError(f"the top level must be a mapping of keys, not {kind}", line, column)
        return self.root

    def _on_document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise self._abort("one saga per file: found a second document", event.start_mark)

    def _abort(self, message: str, mark: Any) -> ComposeError:
        return ComposeError(message, mark.line + 1, mark.column + 1)

    def _count(self, nodes: int, mark: Any) -> None:
        self.total += nodes
        if self.total > self.limits.max_nodes:
            message = (
                f"the document holds more than {self.limits.max_nodes} values once its "
                "aliases are expanded"
            )
            raise self._abort(message, mark)

    def _wants_key(self) -> bool:
        if not self.stack:
            return False
        frame = self.stack[-1]
        return frame.is_map and frame.key is None

    def _on_scalar(self, event: Any) -> None:
        # The hot path: most events of a file are scalars, so this one is written out.
        stack = self.stack
        frame = stack[-1] if stack else None
        if frame is not None and frame.is_map and frame.key is None:
            self._on_key(frame, event)
            return
        mark = event.start_mark
        self.total += 1
        if self.total > self.limits.max_nodes:
            self._count(0, mark)
        try:
            text = event.value
            if event.tag is None and not event.style and text and text[0] not in _MAYBE_NOT_STR:
                value = text  # a plain string: what `_scalar` would say, without asking
            else:
                value = _scalar(event)
        except ValueError as error:
            raise self._abort(str(error), mark) from None
        if frame is None:
            path: JsonPath = ()
            self.root = value
        else:
            frame.nodes += 1
            if frame.is_map:
                if frame.key is _MERGE:
                    path = (*frame.path, "<<")
                    frame.merges.append((value, frame.key_mark))
                else:
                    path = (*frame.path, frame.key)
                    frame.container[frame.key] = value
                frame.key = None
            else:
                path = (*frame.path, len(frame.container))
                frame.container.append(value)
        self.values[path] = (mark.line + 1, mark.column + 1)
        if isinstance(value, str):
            self.spans[path] = (mark.index, event.end_mark.index, event.style or "")
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)

    def _on_key(self, frame: _Frame, event: Any) -> None:
        key = event.value
        mark = event.start_mark
        if key == "<<" and not event.style:
            frame.key, frame.key_mark = _MERGE, mark
            return
        position = (mark.line + 1, mark.column + 1)
        if key in frame.seen:
            first = frame.seen[key][0]
            raise self._abort(f"duplicate key {key!r} (first defined on line {first})", mark)
        frame.seen[key] = position
        frame.key, frame.key_mark = key, mark
        self.keys[(*frame.path, key)] = position

    def _on_alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise self._abort(f"unknown alias '*{event.anchor}'", event.start_mark)
        if self._wants_key():
            raise self._abort("an alias cannot be a mapping key", event.start_mark)
        value, nodes = self.anchors[event.anchor]
        self._count(nodes, event.start_mark)
        self._attach(value, nodes, event.start_mark)

    def _open(self, event: Any, container: Any) -> None:
        if self._wants_key():
            raise self._abort("a mapping key must be a string", event.start_mark)
        tag = str(event.tag) if event.tag is not None else None
        if tag not in (None, "!", _CORE + "map", _CORE + "seq"):
            raise self._abort(f"unsupported tag {tag!r}: use plain JSON values", event.start_mark)
        self._count(1, event.start_mark)
        if len(self.stack) >= self.limits.max_depth:
            message = f"the document is nested more than {self.limits.max_depth} levels deep"
            raise self._abort(message, event.start_mark)
        path = self._child_path()
        self.values[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
        self.stack.append(_Frame(path, container, event.anchor, event.start_mark))

    def _close(self) -> None:
        frame = self.stack.pop()
        for value, mark in frame.merges:
            self._merge(frame, value, mark)
        self._attach(frame.container, frame.nodes, frame.mark, located=True)
        self._anchor(frame.anchor, frame.container, frame.nodes)

    def _merge(self, frame: _Frame, value: Any, mark: Any) -> None:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, dict) for source in sources):
            raise self._abort("'<<' merges a mapping or a list of mappings", mark)
        for source in sources:
            for key, item in source.items():
                if key not in frame.container:
                    frame.container[key] = item
                    self.keys[(*frame.path, key)] = (mark.line + 1, mark.column + 1)

    def _anchor(self, anchor: str | None, value: Any, nodes: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, nodes)

    def _child_path(self) -> JsonPath:
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            return (*frame.path, len(frame.container))
        return (*frame.path, frame.key) if frame.key is not _MERGE else (*frame.path, "<<")

    def _attach(self, value: Any, nodes: int, mark: Any, located: bool = False) -> JsonPath:
        path = self._child_path()
        if not located:
            self.values[path] = (mark.line + 1, mark.column + 1)
        if not self.stack:
            self.root = value
            return path
        frame = self.stack[-1]
        frame.nodes += nodes
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif frame.key is _MERGE:
            frame.merges.append((value, frame.key_mark))
            frame.key = None
        else:
            frame.container[frame.key] = value
            frame.key = None
        return path

    def _syntax(self, error: Any) -> ComposeError:
        mark = error.problem_mark or error.context_mark
        problem = str(error.problem or error.context or "invalid syntax")
        context = f" ({error.context})" if error.context and error.problem else ""
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        if mark is not None and self.text[mark.index : mark.index + 1] == "\t":
            problem, context = "a tab cannot indent YAML; use spaces", ""
        return ComposeError(f"{self._language()} syntax error: {problem}{context}", line, column)

    def _language(self) -> str:
        return "json" if self.path.lower().endswith(".json") else "yaml"

    def _reader(self, error: Any) -> ComposeError:
        index = getattr(error, "position", 0) or 0
        before = self.text[:index]
        line = before.count("\n") + 1
        column = index - (before.rfind("\n") + 1) + 1
        char = self.text[index] if index < len(self.text) else ""
        reason = f"character {ord(char):#06x} is not allowed" if char else "invalid character"
        return ComposeError(f"{self._language()} syntax error: {reason}", line, column)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    return f"{value!r}"
