"""The models' own logic: durations, statuses, and how defaults merge into a request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from dsl._model import (
    Request,
    Saga,
    effective_request,
    format_duration,
    parse_duration,
    status_matches,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", timedelta(milliseconds=250)),
        ("10s", timedelta(seconds=10)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1m1s1ms", timedelta(minutes=1, seconds=1, milliseconds=1)),
        ("0s", timedelta(0)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "10 s", " 10s", "1.5s", "1s1h", "ms", "-1s", "1d"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_a_duration_is_a_string() -> None:
    with pytest.raises(ValueError, match="a duration is a string"):
        parse_duration(10)


@pytest.mark.parametrize("text", ["250ms", "10s", "1h30m", "2h0m5s", "90s"])
def test_format_duration_round_trips(text: str) -> None:
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_format_duration_is_shortest() -> None:
    assert format_duration(timedelta(seconds=90)) == "1m30s"
    assert format_duration(timedelta(0)) == "0s"


def test_status_matches_numbers_and_classes() -> None:
    assert status_matches(201, [201])
    assert status_matches(503, ["5xx"])
    assert not status_matches(404, [200, "2xx", "5xx"])


def _saga(defaults: dict[str, Any] | None = None, **request: Any) -> Saga:
    action = {"url": "http://x", "method": "POST", **request}
    document: dict[str, Any] = {
        "version": 1,
        "name": "s",
        "steps": [{"name": "a", "action": action}],
    }
    if defaults is not None:
        document["defaults"] = defaults
    return Saga.model_validate(document)


def test_builtin_defaults_apply_to_a_bare_action() -> None:
    saga = _saga()
    effective = effective_request(saga, _action(saga), "action")
    assert effective.timeout == timedelta(seconds=30)
    assert effective.retry.max_attempts == 5
    assert effective.retry.initial_interval == timedelta(seconds=1)
    assert effective.retry.backoff == 2.0
    assert effective.retry.max_interval == timedelta(seconds=30)
    assert effective.retry.on_status == (408, 425, 429, "5xx")
    assert effective.expect == ("2xx",)


def test_compensations_retry_without_limit_by_default() -> None:
    saga = _saga()
    effective = effective_request(saga, _action(saga), "compensation")
    assert effective.retry.max_attempts == 0
    assert effective.retry.max_interval == timedelta(minutes=1)
    assert effective.retry.initial_interval == timedelta(seconds=1)


def test_saga_defaults_override_builtins_and_requests_override_both() -> None:
    saga = _saga(
        {"timeout": "5s", "retry": {"max_attempts": 3, "backoff": 1.5}},
        timeout="2s",
        retry={"max_attempts": 7},
        expect=[201],
    )
    effective = effective_request(saga, _action(saga), "action")
    assert effective.timeout == timedelta(seconds=2)
    assert effective.retry.max_attempts == 7
    assert effective.retry.backoff == 1.5
    assert effective.expect == (201,)


def test_compensation_defaults_apply_to_compensations() -> None:
    saga = _saga(
        {
            "timeout": "5s",
            "retry": {"max_attempts": 3, "initial_interval": "2s"},
            "compensation": {"timeout": "20s", "retry": {"max_attempts": 4}},
        }
    )
    effective = effective_request(saga, _action(saga), "compensation")
    assert effective.timeout == timedelta(seconds=20)
    assert effective.retry.max_attempts == 4


def test_compensations_never_inherit_the_actions_retry() -> None:
    saga = _saga({"timeout": "5s", "retry": {"max_attempts": 3, "initial_interval": "2s"}})
    effective = effective_request(saga, _action(saga), "compensation")
    assert effective.timeout == timedelta(seconds=5)  # a timeout is still everyone's
    assert effective.retry.max_attempts == 0
    assert effective.retry.initial_interval == timedelta(seconds=1)
    assert effective.retry.max_interval == timedelta(minutes=1)


def test_runs_of_the_first_release_keep_inheriting_the_actions_retry() -> None:
    saga = _saga({"retry": {"max_attempts": 3, "initial_interval": "2s"}})
    old = effective_request(saga, _action(saga), "compensation", semantics=1)
    assert old.retry.max_attempts == 3
    assert old.retry.initial_interval == timedelta(seconds=2)
    with_own = _saga({"retry": {"max_attempts": 3}, "compensation": {"retry": {"backoff": 1.5}}})
    older = effective_request(with_own, _action(with_own), "compensation", semantics=1)
    assert (older.retry.max_attempts, older.retry.backoff) == (3, 1.5)


def test_version_true_is_not_version_one() -> None:
    with pytest.raises(ValidationError, match="the version is a number"):
        Saga.model_validate({"version": True, "name": "s", "steps": []})


def test_dependencies_default_to_the_previous_step() -> None:
    saga = Saga.model_validate(
        {
            "version": 1,
            "name": "s",
            "steps": [
                {"name": "a", "action": {"url": "http://x", "method": "GET"}},
                {"name": "b", "action": {"url": "http://x", "method": "GET"}},
                {"name": "c", "after": [], "action": {"url": "http://x", "method": "GET"}},
            ],
        }
    )
    assert saga.dependencies() == {"a": [], "b": ["a"], "c": []}


def _action(saga: Saga) -> Request:
    action = saga.steps[0].action
    assert action is not None
    return action
