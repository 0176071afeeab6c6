"""Load a saga file (YAML 1.2 or JSON) into plain data, with the position of every node.

The text is parsed into YAML events by ruamel.yaml and composed by `dsl._composer`,
so that hostile files end in a diagnostic instead of a traceback or a hang: the size
of the file, the depth of nesting and the number of values after expanding aliases are
all bounded (`Limits`). Duplicate keys are errors. Scalars follow the YAML 1.2 core
schema, so `yes` is a string and `0o17` octal.

A `Document` maps each JSON path (a tuple of keys and indices) to the 1-based
(line, column) of its key and of its value; values reached through an alias take the
position of the alias.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl._composer import ComposeError, compose
from dsl._diagnostics import Diagnostic, DslError

__all__ = ["Document", "JsonPath", "Limits", "LoadError", "Position", "load_file", "load_text"]

JsonPath = tuple[str | int, ...]
Position = tuple[int, int]
"""1-based (line, column)."""


@dataclass(frozen=True)
class Limits:
    """Bounds that keep hostile files cheap to reject."""

    max_bytes: int = 16 * 1024 * 1024
    max_depth: int = 64
    """Nesting of mappings and sequences."""
    max_nodes: int = 500_000
    """Values in the document once every alias is expanded."""


DEFAULT_LIMITS = Limits()


class LoadError(DslError):
    """The file could not be read as a single YAML or JSON mapping."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


_Span = tuple[int, int, str]
"""A string's source: start and end index in the text, and its YAML style."""


@dataclass
class Document:
    """A loaded file: its data and where every key and value is."""

    path: str
    text: str
    data: Any
    keys: dict[JsonPath, Position] = field(default_factory=dict)
    values: dict[JsonPath, Position] = field(default_factory=dict)
    spans: dict[JsonPath, _Span] = field(default_factory=dict, repr=False)
    """Source spans of the string values, to point inside them."""

    def key_position(self, path: JsonPath) -> Position:
        """Where the key of `path` is (its nearest located ancestor if it has none)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.keys:
                return self.keys[path[:end]]
        return self.value_position(())

    def value_position(self, path: JsonPath) -> Position:
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return (1, 1)

    def string_position(self, path: JsonPath, offset: int) -> Position:
        """Where character `offset` of the string at `path` is, as exactly as the style allows."""
        start = self.value_position(path)
        span = self.spans.get(path)
        if span is None:
            return start
        return _inside(self.text[span[0] : span[1]], span[2], start, offset) or start


def _inside(source: str, style: str, start: Position, offset: int) -> Position | None:
    line, column = start
    if "\n" not in source and style in ("", "'", '"'):
        if "\\" in source or "''" in source:
            return None  # escapes: the value's offsets no longer match the source's
        return (line, column + (1 if style else 0) + offset)
    if style == "|":
        return _inside_literal(source, line, offset)
    return None


def _inside_literal(source: str, line: int, offset: int) -> Position | None:
    lines = source.split("\n")[1:]
    indent = next((len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.strip()), 0)
    for number, text in enumerate(ln[indent:] for ln in lines):
        if offset <= len(text):
            return (line + 1 + number, indent + offset + 1)
        offset -= len(text) + 1
    return None


def load_file(path: str | Path, limits: Limits = DEFAULT_LIMITS, root: str = "mapping") -> Document:
    """Read and load one file; raises LoadError (never anything else for a bad file).

    `root="any"` accepts any JSON value at the top (a run's input), not only a mapping.
    """
    name = str(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limits.max_bytes:  # a regular file this large is not read at all
                raise _too_large(name, size, limits)
            raw = handle.read(limits.max_bytes + 1)
    except OSError as error:
        message = f"cannot read file: {error.strerror}"
        raise LoadError(Diagnostic(name, 1, 1, "error", message)) from None
    return load_text(raw, name, limits, root)


def load_text(
    text: str | bytes,
    path: str = "<string>",
    limits: Limits = DEFAULT_LIMITS,
    root: str = "mapping",
) -> Document:
    """Load YAML or JSON text; raises LoadError with the position of the problem."""
    if isinstance(text, str):
        # Through bytes, so that a lone surrogate is refused like any invalid UTF-8.
        text = text.encode("utf-8", "surrogatepass")
    text = _decode(text, path, limits).removeprefix("\ufeff")
    try:
        composed = compose(_join_surrogates(text), path, limits, mapping=root == "mapping")
    except ComposeError as error:
        diagnostic = Diagnostic(path, error.line, error.column, "error", error.message)
        raise LoadError(diagnostic) from None
    return Document(path, text, composed.data, composed.keys, composed.values, composed.spans)


# An escaped UTF-16 surrogate pair whose backslash is not itself escaped.
_SURROGATE_PAIR = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE
)


def _join_surrogates(text: str) -> str:
    """JSON writes a character beyond the BMP as a surrogate pair (`\\ud83d\\ude00`), which
    YAML refuses; rewrite each pair as the one YAML escape it means (`\\U0001f600`)."""
    if "\\u" not in text:
        return text

    def joined(match: re.Match[str]) -> str:
        high, low = int(match[2], 16), int(match[3], 16)
        point = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        return f"{match[1]}\\U{point:08x}"

    return _SURROGATE_PAIR.sub(joined, text)


def _decode(raw: bytes, path: str, limits: Limits) -> str:
    if len(raw) > limits.max_bytes:
        raise _too_large(path, len(raw), limits)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        byte = raw[error.start]
        message = f"the file is not valid utf-8: unexpected byte 0x{byte:02x}"
        raise LoadError(Diagnostic(path, line, column, "error", message)) from None


def _too_large(path: str, size: int, limits: Limits) -> LoadError:
    mib = limits.max_bytes / (1024 * 1024)
    message = f"the file is too large ({size / (1024 * 1024):.1f} MiB; the limit is {mib:g} MiB)"
    return LoadError(Diagnostic(path, 1, 1, "error", message))
