"""Where a saga's templates are, and what each of them may read (SPEC 2.3).

`find_templates` compiles every `${ }` of a validated saga document and says, for each
expression, in which part of which step it sits; `check_template_reads` enforces the
rules: `response` only in a step's `output` and `success`, `signal` only in a wait
step's `output` and its `wait.success`, `steps.X` only for steps
guaranteed to have finished, no dynamic `steps[...]`, and a compensation that may run
after a failed attempt does not read its own step's output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dsl._dag import StepGraph
from dsl._diagnostics import Diagnostic
from dsl._expressions import Expression, ExpressionError, compile_condition, compile_template
from dsl._loader import Document, JsonPath

__all__ = ["TemplateUse", "check_input_reads", "check_template_reads", "find_templates"]

_REQUEST_TEMPLATES = ("path", "url", "query", "json", "body", "idempotency_key")


@dataclass(frozen=True)
class TemplateUse:
    """One expression, where it is, and the part of the saga it belongs to."""

    expression: Expression
    path: JsonPath
    """The document path of the string that holds it."""
    step: int | None
    """The step it belongs to; None for the saga's `output` and the services."""
    part: str
    """'action', 'compensation', 'notify', 'output', 'when', 'success', 'wait-success',
    'saga-output', 'service'."""
    kind: str = ""
    """For `success`: the request it belongs to ('action', 'compensation' or 'notify')."""


def find_templates(document: Document) -> tuple[list[TemplateUse], list[Diagnostic]]:
    """Compile every template; syntax errors become diagnostics inside the string."""
    uses: list[TemplateUse] = []
    problems: list[Diagnostic] = []
    for path, text, condition, context in _strings(document.data):
        try:
            template = compile_condition(text) if condition else compile_template(text)
        except ExpressionError as error:
            line, column = document.string_position(path, error.offset)
            message = f"invalid expression: {error.message}"
            problems.append(Diagnostic(document.path, line, column, "error", message))
            continue
        step, part, kind = context
        uses.extend(TemplateUse(e, path, step, part, kind) for e in template.expressions())
    return uses, problems


_Context = tuple[int | None, str, str]


def _strings(data: dict[str, Any]) -> Iterator[tuple[JsonPath, str, bool, _Context]]:
    """(path, string, is a condition, context) of every string that may hold `${`."""
    for name, service in (data.get("services") or {}).items():
        yield from _headers(("services", name), service, (None, "service", ""))
    for i, step in enumerate(data["steps"]):
        base: JsonPath = ("steps", i)
        for kind in ("action", "compensation"):
            request = step.get(kind)
            if isinstance(request, dict):
                yield from _request((*base, kind), request, (i, kind, kind))
        yield from _wait((*base, "wait"), step.get("wait"), i)
        yield from _leaves((*base, "output"), step.get("output"), (i, "output", ""))
        if isinstance(step.get("when"), str):
            yield (*base, "when"), step["when"], True, (i, "when", "")
    yield from _leaves(("output",), data.get("output"), (None, "saga-output", ""))


def _wait(base: JsonPath, wait: Any, i: int) -> Iterator[tuple[JsonPath, str, bool, _Context]]:
    if not isinstance(wait, dict):
        return
    if isinstance(wait.get("notify"), dict):
        yield from _request((*base, "notify"), wait["notify"], (i, "notify", "notify"))
    if isinstance(wait.get("success"), str):
        yield (*base, "success"), wait["success"], True, (i, "wait-success", "")


def _request(
    base: JsonPath, request: dict[str, Any], context: _Context
) -> Iterator[tuple[JsonPath, str, bool, _Context]]:
    for key in _REQUEST_TEMPLATES:
        yield from _leaves((*base, key), request.get(key), context)
    yield from _headers(base, request, context)
    basic = (request.get("auth") or {}).get("basic")
    if basic:
        yield from _leaves((*base, "auth", "basic", "username"), basic.get("username"), context)
    if isinstance(request.get("success"), str):
        yield (*base, "success"), request["success"], True, (context[0], "success", context[1])


def _headers(
    base: JsonPath, owner: dict[str, Any], context: _Context
) -> Iterator[tuple[JsonPath, str, bool, _Context]]:
    """Header values that are templates; `{secret: NAME}` values hold none."""
    for name, value in (owner.get("headers") or {}).items():
        yield from _leaves(
            (*base, "headers", name), value if isinstance(value, str) else None, context
        )


def _leaves(
    path: JsonPath, value: Any, context: _Context
) -> Iterator[tuple[JsonPath, str, bool, _Context]]:
    if isinstance(value, str):
        if "${" in value:
            yield path, value, False, context
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves((*path, key), item, context)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves((*path, index), item, context)


# --- what a template may read ---------------------------------------------------------


def check_template_reads(
    document: Document,
    uses: list[TemplateUse],
    graph: StepGraph,
    attempt_steps: set[int],
    *,
    ordered: bool = True,
    wait_steps: frozenset[int] | set[int] = frozenset(),
) -> list[Diagnostic]:
    """`attempt_steps`: the steps whose compensation runs on a failed attempt too;
    `ordered`: False when `after` has a cycle, so ancestry means nothing and reads of
    other steps are not judged by it; `wait_steps`: the steps that wait for data."""
    index = {name: i for i, name in reversed(list(enumerate(graph.names)))}
    found: list[Diagnostic] = []
    for use in uses:
        refs = use.expression.refs

        def report(message: str, word: str, use: TemplateUse = use) -> None:
            line, column = _mention(document, use, word)
            found.append(Diagnostic(document.path, line, column, "error", message))

        in_wait_output = use.part == "output" and use.step in wait_steps
        if "response" in refs.roots and (in_wait_output or use.part == "wait-success"):
            report(
                "a wait step has no `response`: its `output` and `success` read `signal`",
                r"\bresponse\b",
            )
        elif "response" in refs.roots and use.part not in ("output", "success"):
            report(
                "`response` is only available in a step's `output` and in `success`",
                r"\bresponse\b",
            )
        if "signal" in refs.roots and not (in_wait_output or use.part == "wait-success"):
            report(
                "`signal` is only available in a wait step's `output` and in `wait.success`",
                r"\bsignal\b",
            )
        if refs.dynamic_steps:
            report(
                "read steps as `steps.<name>`: dynamic access such as `steps[...]` "
                "cannot be checked",
                r"\bsteps\b(?!\s*\.)",
            )
        for name in sorted(refs.steps):
            message = _read_problem(use, name, index, graph, attempt_steps, ordered)
            if message:
                report(message, _step_mention(name))
    return found


def _read_problem(
    use: TemplateUse,
    name: str,
    index: dict[str, int],
    graph: StepGraph,
    attempt: set[int],
    ordered: bool,
) -> str | None:
    if name not in index:
        from dsl._schema_errors import near_miss

        return f"unknown step {name!r}{near_miss(name, index)}"
    if use.step is None:
        return "services cannot read steps" if use.part == "service" else None
    target, here = index[name], use.step
    reader = graph.names[here]
    if target == here:
        return _own_read(use, name, here in attempt)
    if not ordered or graph.is_ancestor(target, here):
        return None
    return (
        f"step {reader!r} reads step {name!r}, which is not guaranteed to have finished "
        f"before it: add {name!r} to the `after` of {reader!r} (or of a step it waits for)"
    )


def _own_read(use: TemplateUse, name: str, on_attempt: bool) -> str | None:
    compensating = use.part == "compensation" or use.kind == "compensation"
    if not compensating:
        return f"step {name!r} cannot read its own output before its action has finished"
    if on_attempt and _reads_output(use.expression.source, name):
        return (
            f"the compensation of {name!r} runs even when its action failed "
            "(`compensate_on: attempt`), so it cannot read the step's own output: "
            "identify the resource by a key the saga chose"
        )
    return None


def _step_mention(name: str) -> str:
    name = re.escape(name)
    return rf"\bsteps\s*(?:\.\s*{name}\b|\[\s*['\"]{name}['\"]\s*\])"


def _mention(document: Document, use: TemplateUse, pattern: str) -> tuple[int, int]:
    """The position of the first match of `pattern` in the expression (else its start)."""
    source = use.expression.source
    match = re.search(pattern, source)
    inner = match.start() if match else len(source) - len(source.lstrip())
    return document.string_position(use.path, use.expression.offset + inner)


def _reads_output(source: str, name: str) -> bool:
    """True unless every mention of steps.<name> reads only its `.status`."""
    mention = _step_mention(name)
    total = len(re.findall(mention, source))
    status = len(re.findall(mention + r"\s*\.\s*status\b", source))
    return total > status


# --- optional input fields ------------------------------------------------------------

_PATH_TOKEN = re.compile(
    r"""(?P<string>'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
      |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<punct>\|\||&&|!=|\S)""",
    re.VERBOSE,
)
Path = tuple[str, ...]


def check_input_reads(document: Document, uses: list[TemplateUse], schema: Any) -> list[Diagnostic]:
    """Warn where an expression reads an input field the schema lets be absent, unguarded.

    Guarded means: the same expression holds `has(input.<field>)` (or `has()` of a field
    below it), or the expression belongs to a step whose `when` tests it with `&&` only.
    Only what `properties` and `required` say is followed; where the schema describes an
    object otherwise (`$ref`, `allOf`, `patternProperties`...) nothing is said.
    """
    if not isinstance(schema, dict):
        return []
    when_guards: dict[int, set[Path]] = {}
    for use in uses:
        if use.part == "when" and use.step is not None and _conjunctive(use.expression.source):
            when_guards.setdefault(use.step, set()).update(_input_paths(use.expression.source)[1])
    found: list[Diagnostic] = []
    for use in uses:
        if "input" not in use.expression.refs.roots:
            continue
        reads, guards = _input_paths(use.expression.source)
        if use.part != "when" and use.step is not None:
            guards |= when_guards.get(use.step, set())
        reported: set[Path] = set()
        for path, offset in reads:
            problem = _unguarded(schema, path, guards)
            if problem is None or problem[0] in reported:
                continue
            reported.add(problem[0])
            line, column = document.string_position(use.path, use.expression.offset + offset)
            message = _optional_message(problem[0], problem[1], use)
            found.append(Diagnostic(document.path, line, column, "warning", message))
    return found


def _input_paths(source: str) -> tuple[list[tuple[Path, int]], set[Path]]:
    """The `input.a.b` reads of an expression (path, offset), and the paths in `has()`."""
    tokens = [(m.lastgroup, m.group(), m.start()) for m in _PATH_TOKEN.finditer(source)]
    reads: list[tuple[Path, int]] = []
    guards: set[Path] = set()
    for i, (kind, text, offset) in enumerate(tokens):
        if kind != "ident" or text != "input" or (i > 0 and tokens[i - 1][1] == "."):
            continue
        path = _path_after(tokens, i + 1)
        if not path:
            continue
        if i >= 2 and tokens[i - 1][1] == "(" and tokens[i - 2][1] == "has":
            guards.add(path)
        else:
            reads.append((path, offset))
    return reads, guards


def _path_after(tokens: list[tuple[str | None, str, int]], i: int) -> Path:
    path: list[str] = []
    while i + 1 < len(tokens):
        if tokens[i][1] == "." and tokens[i + 1][0] == "ident":
            if i + 2 < len(tokens) and tokens[i + 2][1] == "(":
                break  # a method call such as input.name.size(), not a field
            path.append(tokens[i + 1][1])
            i += 2
        elif tokens[i][1] == "[" and tokens[i + 1][0] == "string" and i + 2 < len(tokens):
            if tokens[i + 2][1] != "]":
                break
            path.append(tokens[i + 1][1][1:-1])
            i += 3
        else:
            break
    return tuple(path)


def _conjunctive(source: str) -> bool:
    """True when every `has()` in a `when` must hold for it to be true (no `||`, `!`, `?`)."""
    return not any(m.group() in ("||", "!", "?") for m in _PATH_TOKEN.finditer(source))


def _unguarded(schema: dict[str, Any], path: Path, guards: set[Path]) -> tuple[Path, str] | None:
    """The first prefix of `path` that may be absent and is not guarded, and why."""
    node: Any = schema
    for depth, key in enumerate(path, start=1):
        if not isinstance(node, dict) or not ("properties" in node or "required" in node):
            return None
        properties = node.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = node.get("required")
        if key not in (required if isinstance(required, list) else []):
            prefix = path[:depth]
            if not any(guard[:depth] == prefix for guard in guards):
                closed = node.get("additionalProperties") is False
                why = "optional" if key in properties else ("closed" if closed else "undeclared")
                return prefix, why
        if key not in properties:
            return None
        node = properties[key]
    return None


def _optional_message(prefix: Path, why: str, use: TemplateUse) -> str:
    field = "input" + "".join(f".{key}" for key in prefix)
    source = " ".join(use.expression.source.split())
    condition = use.part in ("when", "success")
    fix = f"has({field}) && {source}" if condition else f"has({field}) ? {source} : null"
    if why == "closed":
        return (
            f"{field} is not declared in the input schema, which allows no other fields "
            f"(additionalProperties: false): it is never present"
        )
    where = "optional in" if why == "optional" else "not declared in"
    return f"{field} is {where} the input schema, so it may be absent; guard it: {fix}"
