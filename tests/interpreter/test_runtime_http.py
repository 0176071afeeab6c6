"""The HTTP activity: what is sent, what is retried, what fails at once, what is kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from interpreter.contract import StepStatus
from interpreter.dev.demo import DemoService

from .conftest import Runtime, failure_of, saga


def one_step(action: dict[str, Any], **step: Any) -> list[dict[str, Any]]:
    return [{"name": "call", "action": action, "compensation": "none", **step}]


async def test_retries_send_the_same_idempotency_key(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charges", status=503, times=2)
    handle = await runtime.start(saga(one_step({"url": f"{svc.url}/charges", "method": "POST"})))
    await handle.result()
    keys = [r.headers.get("idempotency-key") for r in svc.requests]
    assert keys == [f"{handle.id}/call/action"] * 3


async def test_a_status_that_is_not_retried_fails_after_one_request(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charges", status=422, times=None, body={"error": "card declined"})
    _, report = await runtime.fail(saga(one_step({"url": f"{svc.url}/charges", "method": "POST"})))
    assert len(svc.requests) == 1
    step = report.steps[0]
    assert step.status == StepStatus.FAILED and step.attempts == 1
    assert step.last_error == (
        f'POST {svc.url}/charges: 422 Unprocessable Entity: {{"error": "card declined"}}'
    )


async def test_retry_on_status_decides_what_is_retried(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charges", status=409, times=1)
    retry = {"on_status": [409]}
    action = {"url": f"{svc.url}/charges", "method": "POST", "retry": retry}
    await runtime.run(saga(one_step(action)))
    assert [r.status for r in svc.requests] == [409, 201]


async def test_a_step_gives_up_after_max_attempts(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charges", status=500, times=None)
    _, report = await runtime.fail(saga(one_step({"url": f"{svc.url}/charges", "method": "POST"})))
    assert len(svc.requests) == 3
    assert report.steps[0].attempts == 3
    assert report.error is not None and "gave up after 3 attempts" in report.error


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_retry_after_sets_the_wait_before_the_next_attempt(
    runtime: Runtime, services: Callable[[str], DemoService], form: str
) -> None:
    svc = services("pay")
    when = datetime.now(UTC) + timedelta(seconds=2)
    value = "1" if form == "seconds" else format_datetime(when, usegmt=True)
    svc.fail("POST", "/charges", status=429, times=1, headers={"Retry-After": value})
    # The saga itself would wait 20s: only Retry-After explains a retry within seconds.
    retry = {"initial_interval": "20s", "max_interval": "20s"}
    await runtime.run(
        saga(one_step({"url": f"{svc.url}/charges", "method": "POST", "retry": retry}))
    )
    first, second = svc.requests
    assert 0.5 <= second.time - first.time <= 6.0


async def test_success_false_fails_the_step_without_retrying(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    action = {
        "url": f"{svc.url}/charges",
        "method": "POST",
        "json": {"state": "declined"},
        "success": "response.body.state == 'approved'",
    }
    _, report = await runtime.fail(saga(one_step(action)))
    assert len(svc.requests) == 1
    assert report.steps[0].status == StepStatus.FAILED
    assert "success condition" in (report.steps[0].last_error or "")


async def test_a_response_over_one_mebibyte_fails_the_step(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("big")
    action = {"url": f"{svc.url}/_big", "method": "GET", "query": {"bytes": str(2 * 1024 * 1024)}}
    _, report = await runtime.fail(saga(one_step(action)))
    assert len(svc.requests) == 1
    assert "over 1 MiB" in (report.steps[0].last_error or "")


async def test_a_response_just_under_one_mebibyte_is_read(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("big")
    action = {"url": f"{svc.url}/_big", "method": "GET", "query": {"bytes": "1000000"}}
    output = await runtime.run(saga(one_step(action, output={"n": "${ size(response.body) }"})))
    assert output["call"]["n"] >= 1


async def test_an_output_too_large_for_the_history_fails_the_step_without_retrying(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("big")
    # Under 1 MiB on the wire, but three times that once JSON-escaped ("é" -> "\u00e9").
    svc.fail("GET", "/text", status=200, times=None, body="é" * 500_000)
    _, report = await runtime.fail(saga(one_step({"url": f"{svc.url}/text", "method": "GET"})))
    assert len(svc.requests) == 1
    assert "over the 1 MiB a step may keep" in (report.steps[0].last_error or "")


async def test_a_saga_output_too_large_for_temporal_compensates_instead_of_hanging(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("big")
    read = {"url": f"{svc.url}/_big", "method": "GET", "query": {"bytes": "900000"}}
    steps = [{"name": name, "action": read, "compensation": "none"} for name in ("a", "b")]
    _, report = await runtime.fail(saga(steps))
    assert report.reason == "failure"
    assert "saga's output" in (report.error or "") and "over 1.5 MiB" in (report.error or "")


async def test_the_request_is_rendered_and_the_response_read_with_lower_case_headers(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    action = {
        "service": "pay",
        "path": "/charges",
        "method": "POST",
        "query": {"trip": "${ input.trip }"},
        "headers": {"X-Trace": "t-${ input.trip }"},
        "json": {"amount": "${ input.amount }", "note": "for ${ input.trip }"},
    }
    services_ = {"pay": {"url": svc.url, "headers": {"X-Client": "saga"}}}
    output = {"type": "${ response.headers['content-type'] }", "status": "${ response.status }"}
    definition = saga(one_step(action, output=output), services=services_)
    result = await runtime.run(definition, {"trip": "T1", "amount": 12})
    assert result == {"call": {"type": "application/json", "status": 201}}
    (request,) = svc.requests
    assert request.query == {"trip": "T1"}
    assert request.headers["x-trace"] == "t-T1" and request.headers["x-client"] == "saga"
    assert request.json == {"amount": 12, "note": "for T1"}
    assert request.headers["content-type"] == "application/json"


async def test_a_service_url_is_overridden_on_the_worker(
    runtime: Runtime, services: Callable[[str], DemoService], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = services("pay")
    monkeypatch.setenv("SAGA_SERVICE_PAY_URL", real.url)
    action = {"service": "pay", "path": "/charges", "method": "POST"}
    definition = saga(one_step(action), services={"pay": {"url": "http://127.0.0.1:9/nowhere"}})
    await runtime.run(definition)
    assert [r.path for r in real.requests] == ["/charges"]


async def test_secrets_reach_the_service_but_never_the_history(
    runtime: Runtime, services: Callable[[str], DemoService], monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = services("pay")
    secret, token = "k3y-" + str(time.time_ns()), "t0ken-" + str(time.time_ns())
    monkeypatch.setenv("SAGA_SECRET_PAY_KEY", secret)
    monkeypatch.setenv("SAGA_SECRET_PAY_TOKEN", token)
    # The service echoes the body back; the step fails so the secret is in an error too.
    svc.fail("POST", "/charges", status=400, times=None, body={"echo": secret})
    action = {
        "service": "pay",
        "path": "/charges",
        "method": "POST",
        "auth": {"bearer": {"secret": "PAY_TOKEN"}},
    }
    services_ = {"pay": {"url": svc.url, "headers": {"X-Api-Key": {"secret": "PAY_KEY"}}}}
    handle = await runtime.start(saga(one_step(action), services=services_))
    _, report = await failure_of(handle)
    (request,) = svc.requests
    assert request.headers["x-api-key"] == secret
    assert request.headers["authorization"] == f"Bearer {token}"
    history = (await handle.fetch_history()).to_json()
    assert secret not in history and token not in history
    assert secret not in str(report) and "[secret]" in (report.steps[0].last_error or "")


async def test_a_missing_secret_is_named_but_nothing_is_sent(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    action = {"url": f"{svc.url}/charges", "method": "POST", "auth": {"bearer": {"secret": "NOPE"}}}
    _, report = await runtime.fail(saga(one_step(action)))
    assert svc.requests == []
    assert "SAGA_SECRET_NOPE" in (report.steps[0].last_error or "")


async def test_connection_errors_are_retried(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charges", reset_connection=True, times=1)
    output = await runtime.run(saga(one_step({"url": f"{svc.url}/charges", "method": "POST"})))
    assert len(svc.requests) == 2 and output["call"]["id"] == "charges-1"


async def test_an_attempt_that_takes_too_long_is_retried(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charges", status=201, delay=2.0, times=1)
    action = {"url": f"{svc.url}/charges", "method": "POST", "timeout": "300ms"}
    await runtime.run(saga(one_step(action)))
    assert len(svc.requests) == 2
