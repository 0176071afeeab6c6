"""The JSON Schema (draft 2020-12) of saga files, generated from the pydantic models.

The models are the single source of truth; the committed `schemas/saga.schema.json`
is this module's output, for editors (`# yaml-language-server: $schema=...`) and for
other tools. `saga schema --check` and a test keep the committed file current.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "SCHEMA_FILE",
    "SCHEMA_ID",
    "default_schema_path",
    "generate_schema",
    "json_schema_of",
    "schema_text",
    "stale_file_message",
    "stale_schema_message",
]

SCHEMA_ID = "https://saga-dsl.dev/schemas/saga.schema.json"
SCHEMA_FILE = Path("schemas") / "saga.schema.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_DESCRIPTION = (
    "A saga: one business transaction over several HTTP services, each step with the "
    "call that undoes it. See the saga-dsl language reference."
)


@cache
def generate_schema() -> dict[str, Any]:
    """The schema as a dict (cached: do not mutate it)."""
    from dsl._model import Saga

    return json_schema_of(Saga, schema_id=SCHEMA_ID, title="Saga", description=_DESCRIPTION)


def json_schema_of(
    model: type[BaseModel], *, schema_id: str, title: str, description: str
) -> dict[str, Any]:
    """A model's JSON Schema (2020-12) as the project commits its schemas: every object
    closed, pydantic's per-property titles dropped, `$schema`, `$id`, title and
    description first."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    _tidy(schema)
    head = {"$schema": _DRAFT, "$id": schema_id, "title": title, "description": description}
    return {**head, **{key: value for key, value in schema.items() if key not in head}}


def _tidy(node: Any) -> None:
    """Close every object schema, and drop the per-property titles pydantic invents."""
    if isinstance(node, list):
        for item in node:
            _tidy(item)
        return
    if not isinstance(node, dict):
        return
    if "properties" in node:
        node.setdefault("additionalProperties", False)
        for prop in node["properties"].values():
            prop.pop("title", None)
    for value in node.values():
        _tidy(value)


def schema_text() -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(generate_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def default_schema_path() -> Path:
    """schemas/saga.schema.json of the source tree this package belongs to."""
    return Path(__file__).resolve().parent.parent / SCHEMA_FILE


def stale_schema_message(path: Path) -> str | None:
    """None when `path` holds the current schema, else a one-line explanation."""
    return stale_file_message(path, schema_text(), "saga schema")


def stale_file_message(path: Path, current: str, command: str) -> str | None:
    """None when the generated file at `path` holds `current`, else a one-line
    explanation naming the `command` that writes it."""
    try:
        committed = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"{path} does not exist; write it with `{command} > {path}`"
    except OSError as error:
        return f"cannot read {path}: {error.strerror}"
    if committed != current:
        return f"{path} is stale; regenerate it with `{command} > {path}`"
    return None
