"""The public validation API the runtime relies on: load_and_check, check_text,
validate_input and the definition snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsl._diagnostics import InvalidSaga
from dsl._model import Saga
from dsl._validate import (
    canonical_json,
    check_text,
    definition_snapshot,
    load_and_check,
    load_input,
    validate_input,
)

VALID = Path(__file__).parent.parent / "examples" / "valid"

SAGA = """\
version: 1
name: demo
input:
  type: object
  required: [id, count]
  properties:
    id: {type: string}
    count: {type: integer, minimum: 1}
steps:
  - name: a
    action: {url: "http://x/${ input.id }", method: GET}
"""


def _saga(text: str = SAGA) -> Saga:
    return check_text(text, "demo.yaml").unwrap()


def test_load_and_check_returns_the_saga_of_a_valid_file() -> None:
    result = load_and_check(VALID / "sequence.yaml")
    assert result.ok
    assert result.saga is not None and result.saga.name == "order-sequence"
    assert result.errors == [] and result.warnings == []


def test_load_and_check_reports_a_missing_file_without_raising(tmp_path: Path) -> None:
    result = load_and_check(tmp_path / "missing.yaml")
    assert not result.ok and result.saga is None
    assert "cannot read file" in result.diagnostics[0].message


def test_check_text_names_the_path_in_diagnostics() -> None:
    result = check_text("version: 1\nname: x\nsteps: []\n", "inline.yaml")
    assert [str(d) for d in result.diagnostics] == [
        "inline.yaml:3:8: error: `steps` needs at least 1 item"
    ]


def test_warnings_leave_the_saga_valid() -> None:
    result = check_text(
        "version: 1\nname: x\nsteps:\n  - name: a\n    action: {url: 'http://x', method: POST}\n"
    )
    assert result.ok and result.saga is not None
    assert [d.severity for d in result.diagnostics] == ["warning"]


def test_unwrap_raises_invalid_saga_with_every_error() -> None:
    result = check_text("version: 1\nname: Bad\nstesp: []\n", "bad.yaml")
    with pytest.raises(InvalidSaga) as caught:
        result.unwrap()
    assert len(caught.value.diagnostics) == 2
    assert str(caught.value).startswith("invalid saga for 2 reasons")


def test_semantic_checks_run_only_on_a_structurally_valid_saga() -> None:
    result = check_text("version: 1\nname: x\nsteps:\n  - name: a\n    after: [zz]\n")
    assert [d.message for d in result.diagnostics] == [
        "a step needs `action` (an HTTP call) or `wait` (data from outside)"
    ]


def test_valid_input_has_no_diagnostics() -> None:
    assert validate_input(_saga(), {"id": "a", "count": 2}) == []


def test_invalid_input_reports_every_problem() -> None:
    problems = validate_input(_saga(), {"id": 5}, "--input")
    assert [str(d) for d in problems] == [
        "--input:1:1: error: `id` must be a string, not 5",
        "--input:1:1: error: missing required key 'count' in the document",
    ]


def test_input_file_diagnostics_point_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "input.yaml"
    path.write_text("id: x\ncount: 0\n")
    document, problems = load_input(path)
    assert document is not None and problems == []
    found = validate_input(_saga(), document.data, str(path), document)
    assert [str(d) for d in found] == [f"{path}:2:8: error: `count` must be at least 1, not 0"]


def test_a_saga_without_input_schema_accepts_any_input() -> None:
    saga = _saga(SAGA.split("input:")[0] + "steps:" + SAGA.split("steps:")[1])
    assert validate_input(saga, [1, "anything"]) == []


def test_an_unresolvable_ref_in_the_input_schema_is_a_diagnostic() -> None:
    saga = _saga(SAGA.replace("type: object\n", "$ref: 'https://example.com/s.json'\n", 1))
    [problem] = validate_input(saga, {"id": "a"})
    assert problem.message.startswith("cannot check the input against the saga's input schema")


def test_load_input_reports_syntax_errors(tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text('{"id": ')
    document, problems = load_input(path)
    assert document is None
    assert "json syntax error" in problems[0].message


def test_snapshot_is_json_and_hash_is_sha256_of_its_canonical_form() -> None:
    import hashlib

    definition, digest = definition_snapshot(_saga())
    assert json.loads(json.dumps(definition)) == definition
    assert digest == hashlib.sha256(canonical_json(definition).encode()).hexdigest()
    action = definition["steps"][0]["action"]
    assert (action["url"], action["method"]) == ("http://x/${ input.id }", "GET")


def test_snapshot_uses_aliases_and_omits_unset_keys() -> None:
    saga = _saga(SAGA.replace("method: GET}", "method: POST, json: {a: null}}"))
    definition, _ = definition_snapshot(saga)
    action = definition["steps"][0]["action"]
    assert action["json"] == {"a": None}
    assert "json_body" not in action and "body" not in action


def test_snapshot_survives_a_round_trip_through_the_model() -> None:
    definition, digest = definition_snapshot(_saga())
    assert definition_snapshot(Saga.model_validate(definition)) == (definition, digest)


def test_equal_sagas_in_yaml_and_json_have_the_same_hash() -> None:
    as_json = json.dumps(_saga().model_dump(mode="json", by_alias=True, exclude_none=True))
    assert (
        definition_snapshot(check_text(as_json, "demo.json").unwrap())[1]
        == (definition_snapshot(_saga())[1])
    )


def test_any_change_changes_the_hash() -> None:
    assert (
        definition_snapshot(_saga())[1]
        != (definition_snapshot(_saga(SAGA.replace("name: demo", "name: demo2")))[1])
    )


def test_canonical_json_sorts_keys_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": ["é"]}) == '{"a":["é"],"b":1}'


def test_input_formats_are_asserted() -> None:
    saga = _saga(SAGA.replace("id: {type: string}", "id: {type: string, format: date}"))
    assert validate_input(saga, {"id": "2024-02-29", "count": 1}) == []
    [problem] = validate_input(saga, {"id": "2023-02-29", "count": 1})
    assert problem.message == "`id` must be a valid date, not '2023-02-29'"
