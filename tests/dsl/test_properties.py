"""Properties over many generated documents: validation never raises, every refused
document says why, and the fast structural check (the models, strict) never accepts
what the JSON Schema refuses."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from dsl._loader import Document, load_file
from dsl._model import Saga
from dsl._schema import generate_schema
from dsl._validate import check_document, check_text

VALID = sorted((Path(__file__).parent.parent / "examples" / "valid").glob("*.*"))
BASES = [load_file(path).data for path in VALID]
SCHEMA = Draft202012Validator(generate_schema())

INTERESTING = st.sampled_from(
    [
        "${ input.x }",
        "${",
        "none",
        "POST",
        "post",
        "10s",
        "0s",
        "2xx",
        "a",
        "attempt",
        "",
        "${ steps.a.output }",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | INTERESTING
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(
    [
        "name",
        "after",
        "when",
        "pivot",
        "compensation",
        "retry",
        "max_attempts",
        "service",
        "url",
        "x",
    ]
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _containers(node: Any) -> list[Any]:
    found = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        if isinstance(child, dict | list):
            found += _containers(child)
    return found


def _mutate(document: Any, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(_containers(document)))
    operation = data.draw(st.sampled_from(["delete", "insert", "replace"]))
    if isinstance(target, dict):
        keys = list(target)
        if operation == "insert" or not keys:
            target[data.draw(KEYS | st.text(max_size=6))] = data.draw(VALUES)
        elif operation == "delete":
            del target[data.draw(st.sampled_from(keys))]
        else:
            target[data.draw(st.sampled_from(keys))] = data.draw(VALUES)
    elif target:
        index = data.draw(st.integers(0, len(target) - 1))
        if operation == "delete":
            del target[index]
        elif operation == "insert":
            target.insert(index, data.draw(VALUES))
        else:
            target[index] = data.draw(VALUES)


def _mutated(data: st.DataObject) -> Any:
    document = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    for _ in range(data.draw(st.integers(1, 4))):
        _mutate(document, data)
    return document


@SETTINGS
@given(st.data())
def test_mutated_documents_give_diagnostics_never_exceptions(data: st.DataObject) -> None:
    document = _mutated(data)
    result = check_text(json.dumps(document), "mutated.json")
    assert result.ok or result.errors, "a refused document must say why"
    for diagnostic in result.diagnostics:
        assert diagnostic.line >= 1 and diagnostic.column >= 1 and diagnostic.message


@SETTINGS
@given(st.data())
def test_the_models_never_accept_what_the_schema_refuses(data: st.DataObject) -> None:
    document = _mutated(data)
    try:
        Saga.model_validate(document, strict=True)
    except ValidationError:
        return
    assert [e.message for e in SCHEMA.iter_errors(document)] == []


@SETTINGS
@given(st.data())
def test_schema_errors_always_become_diagnostics(data: st.DataObject) -> None:
    document = _mutated(data)
    result = check_document(Document("m.json", "", document))
    if any(True for _ in SCHEMA.iter_errors(document)):
        assert result.errors


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_random_text_gives_diagnostics_never_exceptions(text: str | bytes) -> None:
    result = check_text(text, "random.yaml")
    assert result.ok or result.errors


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "a:",
                " ",
                "\n",
                "- ",
                "[",
                "]",
                "{",
                "}",
                "&x ",
                "*x",
                "!!str ",
                "'",
                '"',
                "${",
                "<<: ",
                "\t",
                "---\n",
                ",",
                "1",
                "~",
            ]
        ),
        max_size=40,
    )
)
def test_yaml_shaped_noise_gives_diagnostics_never_exceptions(pieces: list[str]) -> None:
    result = check_text("".join(pieces), "noise.yaml")
    assert result.ok or result.errors
