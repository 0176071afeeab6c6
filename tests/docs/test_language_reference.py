"""docs/LANGUAGE.md is the language reference: it names every key the schema knows, each of
its complete examples is a valid saga, and it stands on its own."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "LANGUAGE.md"
SCHEMA = ROOT / "schemas" / "saga.schema.json"

_FENCE = re.compile(r"^```(yaml|json)[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ANY_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _reference() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def _property_names(node: Any) -> Iterator[str]:
    """The property names of every object schema in `node`, $defs included."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            yield from properties
        for value in node.values():
            yield from _property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _property_names(item)


def _schema_keys() -> list[str]:
    return sorted(set(_property_names(json.loads(SCHEMA.read_text(encoding="utf-8")))))


def _complete_examples() -> list[tuple[int, str]]:
    """(line, text) of each fenced example that is a whole saga: `version` and `steps`."""
    text = _reference()
    found = []
    for match in _FENCE.finditer(text):
        body = match.group(2)
        if match.group(1) == "json":
            whole = body.lstrip().startswith("{") and '"version"' in body and '"steps"' in body
        else:
            whole = bool(re.search(r"^version:", body, re.M) and re.search(r"^steps:", body, re.M))
        if whole:
            found.append((text.count("\n", 0, match.start(2)) + 1, body))
    return found


def _check_text() -> Callable[[str, str], Any]:
    import dsl

    return dsl.check_text


def test_the_schema_walk_finds_the_keys_of_nested_objects() -> None:
    keys = _schema_keys()
    assert {"version", "compensate_on", "max_attempts", "bearer", "secret"} <= set(keys)


def test_every_key_of_the_schema_is_documented_in_backticks() -> None:
    text = _reference()
    missing = [key for key in _schema_keys() if f"`{key}`" not in text]
    assert not missing, f"docs/LANGUAGE.md does not document: {', '.join(missing)}"


def test_the_reference_has_a_complete_example() -> None:
    assert _complete_examples(), "docs/LANGUAGE.md needs at least one whole saga example"


@pytest.mark.parametrize(
    ("line", "example"),
    [pytest.param(line, text, id=f"line-{line}") for line, text in _complete_examples()],
)
def test_each_complete_example_is_a_valid_saga_without_warnings(line: int, example: str) -> None:
    result = _check_text()(example, f"docs/LANGUAGE.md (example at line {line})")
    assert result.ok and not result.warnings, "\n".join(str(d) for d in result.diagnostics)


def test_every_link_within_the_page_leads_to_a_heading() -> None:
    text = _reference()
    headings = re.findall(r"^#+ (.+)$", _ANY_FENCE.sub("", text), re.MULTILINE)
    anchors = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors)
    assert not broken, f"links to no heading: {', '.join(broken)}"


def test_the_reference_stands_on_its_own() -> None:
    text = _reference()
    for outside in ("SPEC.md", "specification", "shared/", "/work/"):
        assert outside.lower() not in text.lower(), f"docs/LANGUAGE.md mentions {outside!r}"
