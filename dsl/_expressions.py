"""`${ expr }` templates over CEL (Common Expression Language).

A string that is exactly one `${ }` gives the expression's typed value; otherwise the
parts are interpolated into a string (non-strings as JSON). `$${` is a literal `${`.
Dicts and lists are templates element by element; other JSON values stay as they are.

CEL is evaluated by `cel-expr-python` (the C++ reference implementation): no
expression can reach the environment, files, clocks or randomness, and every
expression terminates. Only the variables `input`, `saga`, `steps`, `response` and
`signal` exist; `references()` tells which steps an expression reads, for the checks.

Map order. The C++ runtime keeps maps in hash tables seeded per process, so the order
in which a map's keys are visited differs from one process to the next: `m.map(k, k)`
could be `['a', 'b']` in one worker and `['b', 'a']` in the next, and a workflow that
replays such a decision elsewhere would take another branch. Evaluation is therefore
*ordered* by default: every macro (`all`, `exists`, `exists_one`, `map`, `filter`)
over a map visits its keys in sorted order, and every map a value holds comes out with
its keys sorted. `ordered=False` is the old evaluation, kept only for workflow runs
recorded before it existed (semantics 1) so that they replay as they ran.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from dsl._diagnostics import DslError

__all__ = [
    "Expression",
    "ExpressionError",
    "Template",
    "References",
    "compile_condition",
    "compile_template",
    "load_runtime",
    "evaluate_condition",
    "references",
    "render",
]

VARIABLES = ("input", "saga", "steps", "response", "signal")


class ExpressionError(DslError):
    """An expression that does not parse, or that failed while being evaluated.

    `offset` is the 0-based position in the template string where the problem is,
    when known, so diagnostics can point inside the expression.
    """

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_env_lock = threading.Lock()

MACROS = ("all", "exists", "exists_one", "map", "filter")
"""CEL's macros that iterate over a list or over a map's keys."""
_ORDERED = "__ordered__"
"""The function ordered evaluation puts before every macro's range: a map becomes the
list of its keys, sorted; a list stays as it is. Users cannot call it: validation
compiles their text without it."""


@cache
def _env() -> Any:
    # Workflow tasks run in several threads; the C++ extension must be loaded once (a
    # second load fails: "type ... is already registered"), so the first use is guarded.
    with _env_lock:
        from cel_expr_python import cel

        dyn = cel.Type.DYN
        return cel.NewEnv(variables={name: dyn for name in VARIABLES})


@cache
def _ordered_env() -> Any:
    _env()
    with _env_lock:
        from cel_expr_python import cel

        dyn, keys = cel.Type.DYN, cel.Type.List(cel.Type.DYN)
        overloads = [
            cel.Overload(f"ordered_{name}", keys, [kind], is_member=True, impl=_ordered_range)
            for name, kind in (("map", cel.Type.Map(dyn, dyn)), ("list", cel.Type.List(dyn)))
        ]
        return cel.NewEnv(
            variables={name: dyn for name in VARIABLES},
            functions=[cel.FunctionDecl(_ORDERED, overloads)],
        )


def _key_order(key: Any) -> tuple[str, Any]:
    """Map keys are strings, ints, uints or bools: by type, then by value."""
    return type(key).__name__, key


def _ordered_range(value: Any) -> Any:
    return sorted(value, key=_key_order) if isinstance(value, dict) else value


def _sorted_maps(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_maps(value[key]) for key in sorted(value, key=_key_order)}
    if isinstance(value, list):
        return [_sorted_maps(item) for item in value]
    return value


def load_runtime() -> None:
    """Load the CEL runtime now: a worker calls this before any workflow's sandbox does."""
    _ordered_env()


_CEL_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*?)(?:\n|$)")


def _compile_error(source: str, error: Exception) -> tuple[str, int]:
    """Turn a CEL compiler message into (message, 0-based offset in source)."""
    text = str(error)
    match = _CEL_POSITION.search(text)
    if match is None:
        return text.splitlines()[0] if text else "invalid expression", 0
    line, col, message = int(match[1]), int(match[2]), match[3]
    lines = source.split("\n")
    offset = sum(len(lines[i]) + 1 for i in range(min(line - 1, len(lines)))) + col - 1
    message = re.sub(r" \(in container ''\)", "", message)
    undeclared = re.match(r"undeclared reference to '([\w.]+)'", message)
    if undeclared is None:
        return _plain(message), max(offset, 0)
    return _undeclared(undeclared[1], source, offset)


def _undeclared(name: str, source: str, offset: int) -> tuple[str, int]:
    """CEL says 'undeclared reference' for unknown variables and functions alike, and
    points at the last `.`; say which it is, and point at the name."""
    root = name.split(".")[0]
    found = re.search(rf"\b{re.escape(root)}\b", source)
    offset = found.start() if found else offset
    if re.search(rf"\b{re.escape(root)}\s*\(", source):
        return f"unknown function {root!r}, or wrong arguments to it", offset
    return f"unknown variable {root!r} (the variables are {', '.join(VARIABLES)})", offset


def _plain(message: str) -> str:
    """CEL's parser messages, without the grammar's list of expected tokens."""
    message = message.replace("Syntax error: ", "syntax error: ").split(" expecting ")[0]
    message = message.replace("mismatched input '<EOF>'", "unexpected end of the expression")
    return re.sub(r"(?:mismatched|extraneous) input ('[^']*')", r"unexpected \1", message)


# --- lexical references -------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<string>[rRbB]{0,2}(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"
           |'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
      |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<punct>\S)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class References:
    """What an expression reads: root variables, and the steps it names."""

    roots: frozenset[str]
    steps: frozenset[str]
    dynamic_steps: bool
    """True when `steps` is used other than as `steps.<name>` or `steps['<name>']`."""


# Without quotes there are no string literals, and a much simpler pattern tokenizes.
_QUICK_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\S")
_IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


def _tokens(source: str) -> list[tuple[str | None, str]]:
    if "'" in source or '"' in source:
        return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(source)]
    return [
        ("ident" if text[0] in _IDENT_START else "punct", text)
        for text in _QUICK_TOKEN.findall(source)
    ]


@lru_cache(maxsize=4096)
def references(source: str) -> References:
    tokens = _tokens(source)
    roots: set[str] = set()
    steps: set[str] = set()
    dynamic = False
    for i, (kind, text) in enumerate(tokens):
        if kind != "ident" or (i > 0 and tokens[i - 1][1] == "."):
            continue
        roots.add(text)
        if text != "steps":
            continue
        nxt = tokens[i + 1 : i + 4]
        if len(nxt) >= 2 and nxt[0][1] == "." and nxt[1][0] == "ident":
            steps.add(nxt[1][1])
        elif len(nxt) == 3 and nxt[0][1] == "[" and nxt[1][0] == "string" and nxt[2][1] == "]":
            steps.add(nxt[1][1].strip("'\""))
        else:
            dynamic = True
    return References(frozenset(roots), frozenset(steps), dynamic)


# --- expressions and templates ------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """One compiled CEL expression; `offset` is where it starts in its template string."""

    source: str
    offset: int = 0
    refs: References = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "refs", references(self.source))
        _program(self.source, self.offset)

    def evaluate(self, context: Mapping[str, Any], *, ordered: bool = True) -> Any:
        """The expression's value; `ordered`: see "Map order" in the module's docstring."""
        if ordered:
            program = _ordered_program(self.source, self.offset)
        else:
            program = _program(self.source, self.offset)
        data = {name: value for name, value in context.items() if name in self.refs.roots}
        if "steps" in data:
            data["steps"] = _steps_read(data["steps"], self.refs)
        try:
            value = program.eval(data=data)
        except Exception as error:  # the C++ runtime raises RuntimeError subclasses
            message = _clean(str(error), self.source)
            raise ExpressionError(f"{self.source.strip()!r}: {message}", self.offset) from None
        if value.type().name() == "ERROR":
            message = _clean(str(value.plain_value()), self.source)
            raise ExpressionError(f"{self.source.strip()!r}: {message}", self.offset)
        return _sorted_maps(value.plain_value()) if ordered else value.plain_value()


def _steps_read(steps: Mapping[str, Any], refs: References) -> dict[str, Any]:
    """Only the steps the expression names: handing CEL every step would cost the
    length of the saga on each evaluation. `steps` may be any mapping (the workflow's is
    a live view); CEL takes plain dicts."""
    if refs.dynamic_steps:
        return dict(steps)
    return {name: steps[name] for name in sorted(refs.steps) if name in steps}


def _clean(message: str, source: str = "") -> str:
    message = re.sub(r"^[A-Z_]+: ", "", message)
    # A macro over something that is neither a list nor a map: say it as CEL does.
    message = re.sub(rf"\(\w+\)\.{_ORDERED}\(\)", "<iter_range>", message)
    missing = re.fullmatch(r'key not found in map : "(.*)"', message, re.IGNORECASE)
    if missing:
        return _missing_field(missing[1], source)
    return message.replace('No value with name "', 'no value for "').lower()


def _missing_field(key: str, source: str) -> str:
    """Name the field that is absent, and the guard that would have read it safely."""
    found = re.search(
        rf"\b(?:input|steps|response)(?:\s*\.\s*[A-Za-z_]\w*)*?\s*\.\s*{re.escape(key)}\b",
        source,
    )
    if found is None:
        return f"no field {key!r} in the data; guard a field that may be absent with has()"
    path = re.sub(r"\s+", "", found[0])
    return f"{path} is absent; guard a field that may be absent: has({path}) && ..."


@lru_cache(maxsize=4096)
def _program(source: str, offset: int) -> Any:
    if not source.strip():
        raise ExpressionError("empty expression", offset)
    env = _env()  # a failure to load CEL is not the expression's fault: let it out
    try:
        return env.compile(source)
    except Exception as error:
        message, inner = _compile_error(source, error)
        raise ExpressionError(message, offset + inner) from None


def with_ordered_ranges(source: str) -> str:
    """`source` with `__ordered__()` put before each macro: `m.map(k, k)` becomes
    `m.__ordered__().map(k, k)`. Member calls bind tightest, so the receiver, however
    complex, is the range; string literals are tokens of their own and stay untouched."""
    tokens = list(_TOKEN.finditer(source))
    inserts = [
        name.start()
        for dot, name, paren in zip(tokens, tokens[1:], tokens[2:], strict=False)
        if dot.group() == "."
        and name.lastgroup == "ident"
        and name.group() in MACROS
        and paren.group() == "("
    ]
    for position in reversed(inserts):
        source = f"{source[:position]}{_ORDERED}().{source[position:]}"
    return source


@lru_cache(maxsize=4096)
def _ordered_program(source: str, offset: int) -> Any:
    _program(source, offset)  # errors are reported on the text the user wrote
    return _ordered_env().compile(with_ordered_ranges(source))


@dataclass(frozen=True)
class Template:
    """A compiled value: strings split into text and expressions, containers walked."""

    value: Any

    def expressions(self) -> list[Expression]:
        return list(_walk_expressions(self.value))

    def render(self, context: Mapping[str, Any], *, ordered: bool = True) -> Any:
        """The value with every expression evaluated; `ordered`: see `Expression`."""
        return _render(self.value, context, ordered)

    @property
    def is_constant(self) -> bool:
        return not self.expressions()


@dataclass(frozen=True)
class _Interpolated:
    parts: tuple[str | Expression, ...]


def _split(text: str) -> list[str | Expression]:
    """Split one string into literal text and expressions."""
    parts: list[str | Expression] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar == -1:
            literal.append(text[i:])
            break
        literal.append(text[i:dollar])
        i = dollar
        if text.startswith("$${", i):
            literal.append("${")
            i += 3
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            if "".join(literal):
                parts.append("".join(literal))
            literal = []
            parts.append(Expression(text[i + 2 : end], i + 2))
            i = end + 1
        else:
            literal.append("$")
            i += 1
    if "".join(literal):
        parts.append("".join(literal))
    return parts


_NESTING = re.compile(r"[{}\[\]()'\"]")


def _closing_brace(text: str, start: int) -> int:
    end = text.find("}", start)
    if end != -1 and not _NESTING.search(text, start, end):
        return end  # the common case: nothing nested, nothing quoted
    depth = 0
    for match in _TOKEN.finditer(text, start):
        token = match.group()
        if token in "{[(" and match.lastgroup == "punct":
            depth += 1
        elif token in "}])" and match.lastgroup == "punct":
            if token == "}" and depth == 0:
                return match.start()
            depth -= 1
    raise ExpressionError("unterminated '${': add the closing '}'", start - 2)


def _compile(value: Any) -> Any:
    if isinstance(value, str):
        return _compile_string(value) if "${" in value else value
    if isinstance(value, dict):
        return {key: _compile(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_compile(item) for item in value]
    return value


@lru_cache(maxsize=8192)
def _compile_string(value: str) -> Expression | _Interpolated:
    # Cached: the runtime renders the same templates for every run and every retry, and
    # the compiled forms are immutable, so they can be shared.
    parts = _split(value)
    if len(parts) == 1 and isinstance(parts[0], Expression):
        return parts[0]
    return _Interpolated(tuple(parts))


def compile_template(value: Any) -> Template:
    """Compile a JSON value whose strings may hold `${ }`; raises ExpressionError."""
    return Template(_compile(value))


def compile_condition(value: str | bool) -> Template:
    """A `when` or `success`: a boolean, a `${ expr }` string, or a bare expression."""
    if isinstance(value, str) and "${" not in value:
        return Template(Expression(value, 0))
    return compile_template(value)


def evaluate_condition(
    condition: Template, context: Mapping[str, Any], *, ordered: bool = True
) -> bool:
    result = condition.render(context, ordered=ordered)
    if not isinstance(result, bool):
        raise ExpressionError(f"a condition must be true or false, not {result!r}")
    return result


def render(value: Any, context: Mapping[str, Any], *, ordered: bool = True) -> Any:
    """Compile and render in one go (for values used once)."""
    return compile_template(value).render(context, ordered=ordered)


def _walk_expressions(value: Any) -> Any:
    if isinstance(value, Expression):
        yield value
    elif isinstance(value, _Interpolated):
        yield from (part for part in value.parts if isinstance(part, Expression))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk_expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_expressions(item)


def _render(value: Any, context: Mapping[str, Any], ordered: bool) -> Any:
    if isinstance(value, Expression):
        return value.evaluate(context, ordered=ordered)
    if isinstance(value, _Interpolated):
        return "".join(_as_text(part, context, ordered) for part in value.parts)
    if isinstance(value, dict):
        return {key: _render(item, context, ordered) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context, ordered) for item in value]
    return value


def _as_text(part: str | Expression, context: Mapping[str, Any], ordered: bool) -> str:
    if isinstance(part, str):
        return part
    value = part.evaluate(context, ordered=ordered)
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
