"""A saga too long for Temporal's history is refused, saying by how much; one that only
passes Temporal's warning thresholds gets a warning."""

from __future__ import annotations

import json
from typing import Any

from dsl._validate import check_text


def _saga(steps: int, action: dict[str, Any] | None = None) -> str:
    action = action or {"url": "http://127.0.0.1:9/x", "method": "GET"}
    actions = [{"name": f"s{i}", "action": action} for i in range(steps)]
    return json.dumps({"version": 1, "name": "long", "steps": actions})


def test_a_saga_whose_undone_history_passes_temporals_warning_gets_a_warning() -> None:
    result = check_text(_saga(900), "long.json")
    assert result.ok
    [warning] = result.warnings
    assert "900 steps write about 10804 history events" in warning.message


def test_a_saga_well_inside_the_history_limits_gets_none() -> None:
    assert check_text(_saga(800), "long.json").diagnostics == []


def test_the_longest_saga_under_the_event_limit_is_valid() -> None:
    # 4,266 steps undone from the end: 12 events each plus 4 for the run = 51,196.
    result = check_text(_saga(4266), "long.json")
    assert result.ok, [str(d) for d in result.errors]


def test_a_saga_over_the_event_limit_is_refused_saying_by_how_much() -> None:
    result = check_text(_saga(5000), "long.json")
    assert not result.ok
    [error] = result.errors
    assert error.message.startswith(
        "this saga can write up to 60,004 history events (5,000 steps, undone from the end), "
        "over Temporal's limit of 51,200 by 8,804"
    )
    assert "split it into sagas of at most 4,266 steps" in error.message
    assert (error.line, error.column) == (1, 41)  # at `steps`


def test_one_step_over_the_event_limit_is_refused() -> None:
    [error] = check_text(_saga(4267), "long.json").errors
    assert "51,208 history events" in error.message and "by 8:" in error.message


def test_a_definition_too_large_for_one_payload_is_refused() -> None:
    # The run's input carries the definition: Temporal refuses a payload over 2 MB.
    action = {"url": "http://127.0.0.1:9/x", "method": "POST", "body": "x" * 300_000}
    result = check_text(_saga(8, {**action, "idempotency_key": False}), "big.json")
    [error] = result.errors
    assert error.message.startswith("the definition is 2.3 MB as JSON")
    assert "over Temporal's limit of 2 MB for one payload by 0.3 MB" in error.message


def test_a_definition_past_the_payload_warning_gets_a_warning() -> None:
    action = {"url": "http://127.0.0.1:9/x", "method": "GET", "body": "x" * 300_000}
    result = check_text(_saga(2, action), "big.json")
    assert result.ok
    assert [w.message.split(" as JSON")[0] for w in result.warnings] == ["the definition is 0.6 MB"]
