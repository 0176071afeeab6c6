"""An expression that reads an input field the schema lets be absent, without `has()`,
is a warning with the fix; at run time the error names the absent field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dsl import ExpressionError, compile_template
from dsl._validate import check_text

SCHEMA = {
    "type": "object",
    "required": ["user", "address"],
    "properties": {
        "user": {"type": "string"},
        "welcome_kit": {"type": "boolean"},
        "address": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "floor": {"type": "integer"}},
        },
    },
}


def _warnings(step: dict[str, Any], schema: Any = SCHEMA) -> list[str]:
    saga = {"version": 1, "name": "s", "steps": [{"name": "a", **step}]}
    if schema is not None:
        saga["input"] = schema
    result = check_text(json.dumps(saga), "s.json")
    assert result.ok
    return [w.message for w in result.warnings]


def _get(url: str, **keys: Any) -> dict[str, Any]:
    return {"action": {"url": url, "method": "GET"}, **keys}


def test_the_example_of_the_issue_gets_the_warning_with_its_fix() -> None:
    assert _warnings(_get("http://h/x", when="${ input.welcome_kit == true }")) == [
        "input.welcome_kit is optional in the input schema, so it may be absent; guard it: "
        "has(input.welcome_kit) && input.welcome_kit == true"
    ]


@pytest.mark.parametrize(
    "when",
    [
        "${ has(input.welcome_kit) && input.welcome_kit == true }",
        "${ has(input.welcome_kit) ? input.welcome_kit : false }",
        "${ input.user == 'ada' && input.address.city != '' }",  # required all the way
        "${ input.user.size() > 2 }",  # a method, not a field
    ],
)
def test_guarded_and_required_reads_get_none(when: str) -> None:
    assert _warnings(_get("http://h/x", when=when)) == []


def test_nested_fields_follow_the_required_list_of_each_object() -> None:
    [message] = _warnings(_get("http://h/${ input.address.floor }"))
    assert message.startswith("input.address.floor is optional in the input schema")
    assert message.endswith("guard it: has(input.address.floor) ? input.address.floor : null")


def test_a_when_made_of_guards_and_conditions_guards_the_step_it_belongs_to() -> None:
    step = _get("http://h/${ input.welcome_kit }", when="has(input.welcome_kit) && true")
    assert _warnings(step) == []


def test_a_when_with_an_or_guards_nothing_beyond_itself() -> None:
    when = "${ has(input.welcome_kit) || input.user == 'x' }"
    [message] = _warnings(_get("http://h/${ input.welcome_kit }", when=when))
    assert message.startswith("input.welcome_kit is optional")


def test_an_undeclared_field_may_be_absent_and_a_closed_schema_never_holds_it() -> None:
    [open_] = _warnings(_get("http://h/${ input.nickname }"))
    assert open_.startswith("input.nickname is not declared in the input schema, so it may be")
    closed = {**SCHEMA, "additionalProperties": False}
    [message] = _warnings(_get("http://h/${ input.nickname }"), closed)
    assert "allows no other fields (additionalProperties: false): it is never present" in message


@pytest.mark.parametrize("schema", [None, {"$ref": "#/$defs/x", "$defs": {"x": {}}}, {}])
def test_without_properties_or_required_to_follow_nothing_is_said(schema: Any) -> None:
    assert _warnings(_get("http://h/${ input.anything }", when="${ input.flag }"), schema) == []


def test_the_warning_points_at_the_read() -> None:
    saga = {
        "version": 1,
        "name": "s",
        "input": SCHEMA,
        "steps": [
            {"name": "a", "action": {"url": "http://h/${ input.welcome_kit }", "method": "GET"}}
        ],
    }
    text = json.dumps(saga, indent=1)
    [warning] = check_text(text, "s.json").warnings
    line = text.splitlines()[warning.line - 1]
    assert line[warning.column - 1 :].startswith("input.welcome_kit }")


def test_at_run_time_the_error_names_the_absent_field_and_the_guard() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template("${ input.welcome_kit == true }").render({"input": {"user": "ada"}})
    assert caught.value.message == (
        "'input.welcome_kit == true': input.welcome_kit is absent; "
        "guard a field that may be absent: has(input.welcome_kit) && ..."
    )
