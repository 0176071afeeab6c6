"""A compensation that can stop retrying is a warning: it can leave an effect in place.
`defaults.retry` is the actions' alone, so it never makes one finite."""

from __future__ import annotations

import json
from typing import Any

from dsl._diagnostics import Diagnostic
from dsl._validate import check_text

TEXT: dict[str, str] = {}


def _at(warning: Diagnostic) -> str:
    """The text the warning points at."""
    return TEXT[warning.path].splitlines()[warning.line - 1][warning.column - 1 :]


def _check(
    compensation: dict[str, Any], defaults: dict[str, Any] | None = None, **step: Any
) -> list[Diagnostic]:
    saga: dict[str, Any] = {
        "version": 1,
        "name": "s",
        "steps": [
            {
                "name": "reserve",
                "action": {"url": "http://h/r", "method": "POST"},
                "compensation": {"url": "http://h/r", "method": "DELETE", **compensation},
                **step,
            }
        ],
    }
    if defaults is not None:
        saga["defaults"] = defaults
    TEXT["s.json"] = json.dumps(saga, indent=1)
    result = check_text(TEXT["s.json"], "s.json")
    assert result.ok
    return result.warnings


def test_the_actions_finite_retry_does_not_reach_compensations() -> None:
    assert _check({}, {"retry": {"max_attempts": 3}}) == []


def test_a_compensation_with_its_own_finite_max_attempts_gets_a_warning_there() -> None:
    [warning] = _check({"retry": {"max_attempts": 4}})
    assert warning.message == (
        "the compensation of 'reserve' gives up after 4 attempts and can leave the step's "
        "effect in place: remove `max_attempts` (compensations retry without limit) or "
        "set it to 0"
    )
    assert _at(warning) == "4"  # its own max_attempts


def test_finite_compensation_defaults_get_one_warning_naming_the_steps() -> None:
    [warning] = _check({}, {"compensation": {"retry": {"max_attempts": 2}}})
    assert warning.message.startswith("compensations give up after 2 attempts ('reserve')")
    assert _at(warning) == "2"  # defaults.compensation.retry.max_attempts


def test_unlimited_and_never_run_compensations_get_none() -> None:
    assert _check({"retry": {"max_attempts": 0}}) == []
    # The pivot's compensation never runs after a success: the other warning says so.
    [warning] = _check({"retry": {"max_attempts": 2}}, pivot=True)
    assert "never runs" in warning.message
