"""Pure pieces of the runtime: the undo order, rendering a call, secrets, HTTP details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from dsl._model import Saga
from interpreter.contract import HttpCall, StepReport, StepStatus
from interpreter.worker._activity import (
    MAX_BODY_BYTES,
    _Exchange,
    _parse_body,
    _retry_after,
    service_url_variable,
)
from interpreter.worker._secrets import MissingSecret, SecretSource, scrub
from interpreter.workflow._calls import build_call, retry_policy
from interpreter.workflow._plan import Plan, undo_waits


def make_saga(steps: list[dict[str, Any]], **keys: Any) -> Saga:
    return Saga.model_validate({"version": 1, "name": "unit", "steps": steps, **keys})


def plain(name: str, after: list[str] | None = None, **keys: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"name": name, "action": {"url": "http://h/x", "method": "POST"}}
    if after is not None:
        step["after"] = after
    return {**step, **keys}


CONTEXT = {"input": {"trip": "T1"}, "saga": {"id": "S-1", "name": "unit"}, "steps": {}}


def test_undo_waits_for_every_descendant_that_needs_undoing() -> None:
    saga = make_saga([plain("a"), plain("b"), plain("c", ["a"]), plain("d", ["b", "c"])])
    # b has nothing to undo: a must still wait for d, reached through b and c.
    assert undo_waits(saga, ["a", "c", "d"]) == {"a": ["c", "d"], "c": ["d"], "d": []}


def test_independent_branches_do_not_wait_for_each_other() -> None:
    saga = make_saga([plain("a", []), plain("b", [])])
    assert undo_waits(saga, ["a", "b"]) == {"a": [], "b": []}


def test_a_step_is_ready_once_its_dependencies_succeeded_or_were_skipped() -> None:
    saga = make_saga([plain("a"), plain("b", []), plain("c", ["a", "b"])])
    reports = {step.name: StepReport(step.name) for step in saga.steps}
    plan, started = Plan(saga), list[str]()

    def start(name: str) -> None:
        reports[name].status = StepStatus.SKIPPED if name == "a" else StepStatus.RUNNING
        started.append(name)

    plan.start_ready(reports, start, lambda: False)
    assert started == ["a", "b"]  # a skipped, b running: c still waits for b
    reports["b"].status = StepStatus.SUCCEEDED
    plan.done("b")
    plan.start_ready(reports, start, lambda: False)
    assert started == ["a", "b", "c"]


def test_a_call_keeps_secrets_as_names_and_request_headers_win() -> None:
    saga = make_saga(
        [
            {
                "name": "pay",
                "action": {
                    "service": "bank",
                    "path": "/charges/${ input.trip }",
                    "method": "POST",
                    "headers": {"x-client": "step"},
                    "auth": {
                        "basic": {"username": "u-${ input.trip }", "password": {"secret": "PW"}}
                    },
                },
            }
        ],
        services={
            "bank": {"url": "http://bank", "headers": {"X-Client": "svc", "X-Key": {"secret": "K"}}}
        },
    )
    call, effective = build_call(saga, saga.steps[0], "action", CONTEXT)
    assert call.path == "/charges/T1" and call.base_url == "http://bank"
    assert call.headers == {"x-client": "step"}
    assert call.secret_headers == {"X-Key": "K"}
    assert call.auth == {"basic": {"username": "u-T1", "password": "PW"}}
    assert call.idempotency_key == "S-1/pay/action"
    assert call.timeout_seconds == effective.timeout.total_seconds() == 30


def test_only_the_variables_output_reads_travel_to_the_activity() -> None:
    saga = make_saga(
        [plain("a"), plain("b", output={"id": "${ response.body.id }", "a": "${ steps.a.output }"})]
    )
    context = {**CONTEXT, "steps": {"a": {"output": 1, "status": "SUCCEEDED"}, "b": {}}}
    call, _ = build_call(saga, saga.steps[1], "action", context)
    assert call.context == {"steps": {"a": {"output": 1, "status": "SUCCEEDED"}}}


def test_idempotency_key_false_sends_none() -> None:
    step = plain("a")
    step["action"]["idempotency_key"] = False
    saga = make_saga([step])
    assert build_call(saga, saga.steps[0], "action", CONTEXT)[0].idempotency_key is None


def test_retry_policy_maps_unlimited_and_forward_only() -> None:
    saga = make_saga([plain("a")])
    _, effective = build_call(saga, saga.steps[0], "action", CONTEXT)
    assert retry_policy(effective.retry).maximum_attempts == 5
    assert retry_policy(effective.retry, forever=True).maximum_attempts == 0


def test_secrets_come_from_the_environment_then_the_directory(tmp_path: Path) -> None:
    (tmp_path / "TOKEN").write_text("from-file\n")
    source = SecretSource(tmp_path, environ={"SAGA_SECRET_KEY": "from-env"})
    assert source.get("KEY") == "from-env"
    assert source.get("TOKEN") == "from-file"
    with pytest.raises(MissingSecret, match="SAGA_SECRET_NOPE"):
        source.get("NOPE")


def test_a_secret_name_cannot_walk_out_of_the_directory(tmp_path: Path) -> None:
    (tmp_path / "outside").write_text("x")
    with pytest.raises(MissingSecret):
        SecretSource(tmp_path / "dir", environ={}).get("../outside")


def test_scrub_removes_every_secret_value() -> None:
    assert scrub("token abc and abcdef", ["abc", "abcdef"]) == "token [secret] and [secret]"


def test_retry_after_reads_seconds_and_dates() -> None:
    assert _retry_after("7") == timedelta(seconds=7)
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    delay = _retry_after(future)
    assert delay is not None and timedelta(seconds=25) < delay <= timedelta(seconds=30)
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == timedelta()
    assert _retry_after("soon") is None and _retry_after(None) is None


def test_bodies_are_json_only_when_the_content_type_says_so() -> None:
    assert _parse_body("application/json; charset=utf-8", b'{"a": 1}') == {"a": 1}
    assert _parse_body("application/problem+json", b'{"a": 1}') == {"a": 1}
    assert _parse_body("text/plain", b'{"a": 1}') == '{"a": 1}'
    assert _parse_body("application/json", b"") is None
    assert _parse_body("application/json", b"not json") == "not json"


def test_a_request_body_over_one_mebibyte_is_refused_before_sending() -> None:
    call = HttpCall("S", "a", "action", "POST", None, "http://h", body="x" * (MAX_BODY_BYTES + 1))
    exchange = _Exchange(call, "http://h", attempt=1)
    with pytest.raises(ApplicationError) as caught:
        exchange.prepare(SecretSource(environ={}))
    assert caught.value.type == "RequestTooLarge" and caught.value.non_retryable
    assert not exchange.sent


def test_service_url_variables_are_upper_case_with_underscores() -> None:
    assert service_url_variable("cargo-ship") == "SAGA_SERVICE_CARGO_SHIP_URL"
