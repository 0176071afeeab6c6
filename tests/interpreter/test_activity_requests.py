"""The HTTP activity sends what the saga wrote: query strings kept, each header once.

Each test runs the real activity (Temporal's ActivityEnvironment) against a recording
DemoService on loopback, with calls rendered by the workflow's own `build_call`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from temporalio.converter import value_to_type
from temporalio.testing import ActivityEnvironment

from dsl import Saga
from dsl._validate import check_text
from interpreter.contract import HttpCall, HttpResult
from interpreter.dev.demo import DemoService, RecordedRequest
from interpreter.worker._activity import HttpActivity
from interpreter.worker._secrets import SecretSource
from interpreter.workflow._calls import build_call

CONTEXT = {"input": {"q": "x y"}, "saga": {"id": "saga-1", "name": "s"}, "steps": {}}


@pytest.fixture
async def send() -> AsyncIterator[Callable[[dict[str, Any]], Any]]:
    """Render one action as the workflow would, and run the activity on it."""
    activity = HttpActivity(None, SecretSource(environ={"SAGA_SECRET_TOKEN": "s3cret"}))

    async def run(action: dict[str, Any]) -> HttpResult:
        saga = Saga.model_validate(
            {"version": 1, "name": "s", "steps": [{"name": "a", "action": action}]}
        )
        call: HttpCall = build_call(saga, saga.steps[0], "action", CONTEXT)[0]
        result = await ActivityEnvironment().run(activity.call, call)
        read: HttpResult = value_to_type(HttpResult, result)  # as the workflow reads it
        return read

    yield run
    await activity.aclose()


def _only(svc: DemoService) -> RecordedRequest:
    [request] = svc.requests
    return request


async def test_a_query_string_written_in_the_url_is_sent(
    send: Callable[[dict[str, Any]], Any], services: Callable[[str], DemoService]
) -> None:
    svc = services("api")
    await send({"url": f"{svc.url}/items?page=2&sort=name", "method": "GET"})
    assert _only(svc).query == {"page": "2", "sort": "name"}


async def test_a_query_string_in_the_path_is_merged_with_query_whose_keys_win(
    send: Callable[[dict[str, Any]], Any], services: Callable[[str], DemoService]
) -> None:
    svc = services("api")
    action = {
        "url": f"{svc.url}/items?page=2&sort=name",
        "method": "GET",
        "query": {"sort": "date", "q": "${ input.q }"},
    }
    await send(action)
    request = _only(svc)
    assert request.path == "/items"
    assert request.query == {"page": "2", "sort": "date", "q": "x y"}


@pytest.mark.parametrize(
    ("header", "value", "extra"),
    [
        ("content-type", "application/vnd.shop+json", {"json": {"a": 1}}),
        ("CONTENT-TYPE", "text/x-shop", {"body": '{"a": 1}'}),
        ("idempotency-key", "order-7", {}),
        ("authorization", "Token mine", {"auth": {"bearer": {"secret": "TOKEN"}}}),
    ],
)
async def test_a_header_the_saga_writes_in_any_case_wins_and_is_sent_once(
    send: Callable[[dict[str, Any]], Any],
    services: Callable[[str], DemoService],
    header: str,
    value: str,
    extra: dict[str, Any],
) -> None:
    svc = services("api")
    action = {"url": f"{svc.url}/items", "method": "POST", "headers": {header: value}, **extra}
    await send(action)
    # The service keeps the last value of a repeated header: the saga's, since the
    # activity adds no second one.
    assert _only(svc).headers[header.lower()] == value


async def test_without_a_header_of_its_own_the_built_in_ones_are_sent(
    send: Callable[[dict[str, Any]], Any], services: Callable[[str], DemoService]
) -> None:
    svc = services("api")
    action = {
        "url": f"{svc.url}/items",
        "method": "POST",
        "json": {"a": 1},
        "auth": {"bearer": {"secret": "TOKEN"}},
    }
    await send(action)
    headers = _only(svc).headers
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == "saga-1/a/action"
    assert headers["authorization"] == "Bearer s3cret"


def test_the_prepared_request_holds_each_header_name_once() -> None:
    from interpreter.worker._activity import _Exchange

    call = HttpCall(
        saga_id="s",
        step="a",
        kind="action",
        method="POST",
        service=None,
        base_url="http://h",
        headers={"content-type": "text/csv", "IDEMPOTENCY-KEY": "k"},
        body="a,b",
        content_type="text/plain",
        idempotency_key="s/a/action",
    )
    exchange = _Exchange(call, "http://h", 1)
    exchange.prepare(SecretSource(environ={}))
    names = [name.lower() for name in exchange.headers]
    assert sorted(names) == ["content-type", "idempotency-key"]


@pytest.mark.parametrize("timeout", ["0s", "0ms", "0h0m0s"])
def test_a_timeout_of_zero_is_refused(timeout: str) -> None:
    text = (
        "version: 1\nname: s\nsteps:\n"
        f"  - name: a\n    action: {{url: 'http://h', method: GET, timeout: {timeout}}}\n"
    )
    [error] = check_text(text, "s.yaml").errors
    assert error.message == (
        f"invalid timeout '{timeout}': use a duration of at least 1ms, such as '250ms', '10s'"
    )


def test_the_shortest_timeout_is_one_millisecond() -> None:
    step = "{name: a, action: {url: 'http://h', method: GET, timeout: 1ms}}"
    text = f"version: 1\nname: s\nsteps:\n  - {step}\n"
    assert check_text(text, "s.yaml").errors == []


async def test_the_argument_as_json_is_sent_as_the_call_would_be(
    services: Callable[[str], DemoService],
) -> None:
    """A worker hands the activity its argument as JSON data (the workflow's compact form),
    which the activity reads itself; one it cannot read fails as the SDK's decoding does."""
    from temporalio.exceptions import ApplicationError

    from interpreter.workflow._calls import call_argument

    svc = services("api")
    saga = Saga.model_validate(
        {
            "version": 1,
            "name": "s",
            "steps": [
                {"name": "a", "action": {"method": "POST", "url": svc.url + "/a", "json": {"k": 1}}}
            ],
        }
    )
    call = build_call(saga, saga.steps[0], "action", CONTEXT)[0]
    activity = HttpActivity(None, SecretSource(environ={}))
    try:
        result = await ActivityEnvironment().run(activity.call, call_argument(call))
        assert result["status"] in (200, 201)
        assert _only(svc).json == {"k": 1}
        with pytest.raises(ApplicationError, match="Failed decoding arguments") as caught:
            await ActivityEnvironment().run(activity.call, {"step": "a"})
        assert not caught.value.non_retryable
    finally:
        await activity.aclose()
