"""Hypothesis strategies for hostile saga files and run inputs.

The richest source of near-valid documents is a valid saga with a few things broken,
so `mutated_sagas` starts from the bundled examples (and a built-in one) and damages
them at random paths: a value replaced by another type or by a hostile string, a key
removed, an unknown key added, a step duplicated.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

BUILT_IN_SAGA: dict[str, Any] = {
    "version": 1,
    "name": "fuzz-base",
    "input": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
    "services": {"svc": {"url": "http://127.0.0.1:9", "headers": {"X-Key": {"secret": "KEY"}}}},
    "defaults": {"timeout": "1s", "retry": {"max_attempts": 2, "initial_interval": "10ms"}},
    "steps": [
        {
            "name": "first",
            "compensate_on": "attempt",
            "action": {"service": "svc", "method": "PUT", "path": "/a/${ input.id }", "json": {}},
            "compensation": {"service": "svc", "method": "DELETE", "path": "/a/${ input.id }"},
        },
        {
            "name": "second",
            "after": [],
            "when": "${ input.id != '' }",
            "action": {"url": "http://127.0.0.1:9/b", "method": "POST", "expect": [201, "2xx"]},
            "output": {"id": "${ response.body.id }"},
            "compensation": {
                "url": "http://127.0.0.1:9/b/${ steps.second.output.id }",
                "method": "DELETE",
            },
        },
        {
            "name": "third",
            "after": ["first", "second"],
            "pivot": True,
            "action": {
                "service": "svc",
                "method": "POST",
                "path": "/c",
                "auth": {"basic": {"username": "u", "password": {"secret": "PW"}}},
                "retry": {"max_attempts": 0},
            },
        },
    ],
    "output": {"second": "${ steps.second.output.id }"},
}

HOSTILE_STRINGS = [
    "${",
    "${ }",
    "$${ literal }",
    "${ input.id }${",
    "${ steps }",
    "${ steps[input.id].output }",
    "${ response.body }",
    "${ env.HOME }",
    "${ file('/etc/passwd') }",
    "${ 1/0 }",
    "${ [1,2,3].map(x, x * 1000000000000) }",
    "${ 'a' * 3 }",
    "${ size(input) > 9223372036854775807 }",
    "\u0000",
    "\ud7ff\ue000",
    "a" * 5000,
    "0" * 400,
    "1h99999999999999m",
    "-1s",
    "http://",
    "javascript:alert(1)",
    "../../etc/passwd",
    "{secret: X}",
    "*alias",
    "!!python/object:os.system",
]


def base_sagas() -> list[dict[str, Any]]:
    """The bundled example sagas, as plain data, and the built-in one."""
    from dsl._loader import LoadError, load_file

    found = [BUILT_IN_SAGA]
    for path in sorted((ROOT / "sagas").glob("*.y*ml")):
        try:
            found.append(json.loads(json.dumps(load_file(path).data)))
        except (LoadError, TypeError, ValueError):
            continue
    return found


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(HOSTILE_STRINGS),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def mutated_sagas(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(base_sagas())))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(document)[1:]))
        parent = _parent(document, path)
        operation = draw(st.sampled_from(["replace", "delete", "add_key", "duplicate"]))
        if operation == "replace":
            parent[path[-1]] = draw(json_values)
        elif operation == "delete":
            del parent[path[-1]]
        elif operation == "add_key" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return document
