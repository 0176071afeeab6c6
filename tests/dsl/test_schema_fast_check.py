"""The quick meta-schema check that spares `saga validate` loading jsonschema: it may
leave a valid schema to the meta-schema, but it never accepts one the meta-schema
refuses, and what it accepts is reported exactly as before (no problem)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from dsl._checks import _plainly_valid, _schema_problems

META = Draft202012Validator(Draft202012Validator.META_SCHEMA)

KEYWORDS = st.sampled_from(
    [
        "type", "properties", "required", "items", "additionalProperties", "not", "enum",
        "const", "default", "examples", "title", "description", "format", "pattern",
        "minimum", "maximum", "exclusiveMinimum", "minLength", "maxItems", "uniqueItems",
        "anyOf", "oneOf", "allOf", "readOnly", "$ref", "definitions", "dependentRequired",
    ]
)  # fmt: skip
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.floats(allow_nan=False, allow_infinity=False, width=16)
    | st.sampled_from(["string", "object", "integer", "strng", "id", "", "^a+$", "date"])
)
KEYS = KEYWORDS | st.text(max_size=3)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=10,
)
SCHEMAS = st.dictionaries(KEYWORDS, VALUES, max_size=4)


@settings(max_examples=400, deadline=None)
@given(SCHEMAS)
def test_a_schema_it_accepts_is_valid_for_the_meta_schema(schema: dict[str, Any]) -> None:
    if _plainly_valid(schema):
        assert list(META.iter_errors(schema)) == []


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYWORDS, VALUES, max_size=4))
def test_problems_are_what_the_meta_schema_says(schema: dict[str, Any]) -> None:
    text = json.dumps(schema, sort_keys=True)
    assert (_schema_problems(text) == ()) == (list(META.iter_errors(schema)) == [])


def test_the_common_schemas_are_decided_without_the_meta_schema() -> None:
    common = {
        "type": "object",
        "required": ["order_id"],
        "additionalProperties": False,
        "properties": {
            "order_id": {"type": "string", "minLength": 1, "description": "the order"},
            "amount": {"type": ["number", "null"], "minimum": 0},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True},
            "when": {"type": "string", "format": "date-time"},
        },
    }
    assert _plainly_valid(common)
    assert not _plainly_valid({"type": "strng"})
    assert not _plainly_valid({"required": ["a", "a"]})
    assert not _plainly_valid({"minLength": -1})
    assert not _plainly_valid({"minLength": True})
    assert not _plainly_valid({"$ref": "#/$defs/x"})  # left to the meta-schema
