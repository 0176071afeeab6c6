"""The generated JSON Schema: committed and current, draft 2020-12, closed objects, and
a description on every property for editors' hover text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from dsl._schema import SCHEMA_ID, default_schema_path, generate_schema, schema_text

ROOT = Path(__file__).parent.parent.parent


def _objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{where}/{index}")


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "schemas" / "saga.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "regenerate it: saga schema > schemas/saga.schema.json"


def test_default_schema_path_is_the_committed_file() -> None:
    assert default_schema_path() == (ROOT / "schemas" / "saga.schema.json").resolve()


def test_schema_is_draft_2020_12_with_an_id() -> None:
    schema = generate_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    Draft202012Validator.check_schema(schema)


def test_every_object_is_closed() -> None:
    open_objects = [
        w for w, s in _objects(generate_schema()) if s.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_every_property_has_a_description() -> None:
    missing = [
        f"{where}/{name}"
        for where, schema in _objects(generate_schema())
        for name, prop in schema["properties"].items()
        if not prop.get("description")
    ]
    assert missing == []


def test_schema_text_is_sorted_and_ends_with_a_newline() -> None:
    text = schema_text()
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
