"""`saga graph`: a saga's steps as a Mermaid flowchart or a Graphviz DOT digraph.

Solid edges are `after` dependencies; each step with a compensation has a dashed edge
to its compensation node; the pivot has a double border; a `when` shows in its step.
A request shows as `METHOD service /path`, or `METHOD url` for an absolute url.
Node ids are derived from step names with a prefix, so a step named `end` or `graph`
cannot collide with a keyword of either language.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl._model import Request, Saga, Step, format_duration

__all__ = ["render_dot", "render_graph", "render_mermaid"]


@dataclass(frozen=True)
class _Node:
    id: str
    lines: list[str]
    pivot: bool = False


def _target(request: Request) -> str:
    """`POST flights /reservations`: the service and the path apart, so neither is misread."""
    if request.url is not None:
        return f"{request.method} {request.url}"
    return " ".join(part for part in (request.method, request.service, request.path) if part)


def _what(step: Step) -> str:
    """What the step does: its action, or how long it waits (and whom it notifies)."""
    if step.action is not None:
        return _target(step.action)
    assert step.wait is not None
    waits = f"wait for data, at most {format_duration(step.wait.timeout)}"
    notify = step.wait.notify
    return waits if notify is None else f"{waits}; notify: {_target(notify)}"


def _condition(value: str | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else value


def _nodes(saga: Saga) -> tuple[list[_Node], list[_Node], list[tuple[str, str]]]:
    """Steps, compensations, and `after` edges (from dependency to dependent)."""
    steps, undo = [], []
    for step in saga.steps:
        lines = [step.name, _what(step)]
        if step.when is not None:
            lines.append(f"when: {_condition(step.when)}")
        if step.pivot:
            lines.append("pivot: no undo once it succeeds")
        steps.append(_Node(f"step_{step.name}", lines, step.pivot))
        if isinstance(step.compensation, Request):
            label = [f"undo {step.name}", _target(step.compensation)]
            if step.compensate_on == "attempt":
                label.append("also after a failed attempt")
            undo.append(_Node(f"undo_{step.name}", label))
    deps = saga.dependencies()
    edges = [(f"step_{d}", f"step_{s.name}") for s in saga.steps for d in deps[s.name]]
    return steps, undo, edges


def _mermaid_text(lines: list[str]) -> str:
    escaped = [
        line.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") for line in lines
    ]
    return "<br/>".join(escaped)


def render_mermaid(saga: Saga) -> str:
    steps, undo, edges = _nodes(saga)
    out = ["flowchart TD"]
    for node in steps:
        left, right = ("[[", "]]") if node.pivot else ("[", "]")
        out.append(f'    {node.id}{left}"{_mermaid_text(node.lines)}"{right}')
    for node in undo:
        out.append(f'    {node.id}(["{_mermaid_text(node.lines)}"])')
    out += [f"    {a} --> {b}" for a, b in edges]
    out += [f"    {node.id.replace('undo_', 'step_', 1)} -.-> {node.id}" for node in undo]
    if undo:
        out.append("    classDef undo stroke-dasharray: 5 5")
        out.append("    class " + ",".join(node.id for node in undo) + " undo")
    return "\n".join(out) + "\n"


def _dot_text(lines: list[str]) -> str:
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def render_dot(saga: Saga) -> str:
    steps, undo, edges = _nodes(saga)
    name = saga.name.replace('"', '\\"')
    out = [f'digraph "{name}" {{', "    rankdir=TB;", "    node [shape=box];"]
    for node in steps:
        extra = ", peripheries=2" if node.pivot else ""
        out.append(f"    {node.id} [label={_dot_text(node.lines)}{extra}];")
    for node in undo:
        out.append(f'    {node.id} [label={_dot_text(node.lines)}, style="dashed,rounded"];')
    out += [f"    {a} -> {b};" for a, b in edges]
    out += [
        f"    {node.id.replace('undo_', 'step_', 1)} -> {node.id} [style=dashed];" for node in undo
    ]
    return "\n".join([*out, "}"]) + "\n"


def render_graph(saga: Saga, fmt: str = "mermaid") -> str:
    """The graph in `fmt`: 'mermaid' or 'dot'."""
    if fmt == "dot":
        return render_dot(saga)
    return render_mermaid(saga)
