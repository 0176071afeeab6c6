"""A saga too long for a comfortable Temporal history gets a warning, not an error."""

from __future__ import annotations

import json

from dsl._validate import check_text


def _saga(steps: int) -> str:
    actions = [
        {"name": f"s{i}", "action": {"url": "http://127.0.0.1:9/x", "method": "GET"}}
        for i in range(steps)
    ]
    return json.dumps({"version": 1, "name": "long", "steps": actions})


def test_a_saga_whose_undone_history_passes_temporals_warning_gets_a_warning() -> None:
    result = check_text(_saga(900), "long.json")
    assert result.ok
    [warning] = result.warnings
    assert "900 steps write about 10804 history events" in warning.message


def test_a_saga_well_inside_the_history_limits_gets_none() -> None:
    assert check_text(_saga(800), "long.json").diagnostics == []
