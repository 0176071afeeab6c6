"""A run's life: input checked first, a report at any time, cancel and timeout undo."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.common import SearchAttributeKey

from interpreter.contract import (
    ERROR_TYPES,
    INVALID_DEFINITION_ERROR,
    INVALID_INPUT_ERROR,
    SEARCH_ATTRIBUTE_NAME,
    SEARCH_ATTRIBUTE_STATUS,
    WORKFLOW_NAME,
    SagaRunInput,
    SagaStatus,
    StepStatus,
)
from interpreter.dev.demo import DemoService

from .conftest import Runtime, failure_of, query_report, saga, step


async def arrived(svc: DemoService, path: str) -> float:
    for _ in range(200):
        found = [r.time for r in svc.requests if r.path == path]
        if found:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never arrived")


async def test_invalid_input_fails_the_saga_before_any_request(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    schema = {
        "type": "object",
        "required": ["trip_id"],
        "properties": {"trip_id": {"type": "string"}},
    }
    error_type, report = await runtime.fail(saga([step(svc, "a")], input=schema), {"trip": 1})
    assert error_type == INVALID_INPUT_ERROR
    assert report.reason == "invalid_input" and "'trip_id' is a required property" in (
        report.error or ""
    )
    assert svc.requests == []


async def test_the_report_can_be_queried_while_the_saga_runs(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(1.0, "POST", "/b")
    handle = await runtime.start(saga([step(svc, "a"), step(svc, "b")]))
    await arrived(svc, "/b")
    report = await query_report(handle)
    assert report.status == SagaStatus.RUNNING
    assert [(s.name, s.status) for s in report.steps] == [
        ("a", StepStatus.SUCCEEDED),
        ("b", StepStatus.RUNNING),
    ]
    assert report.steps[0].attempts == 1 and report.steps[0].finished_at is not None
    await handle.result()


async def test_the_typed_error_carries_the_report(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.fail("POST", "/b", status=400, times=None, body={"error": "sold out"})
    error_type, report = await runtime.fail(saga([step(svc, "a"), step(svc, "b")]))
    assert error_type == "SagaCompensated"
    assert report.saga_name == "test-saga" and report.failed_step == "b"
    assert report.error == f'POST {svc.url}/b: 400 Bad Request: {{"error": "sold out"}}'
    assert report.started_at and report.finished_at


async def test_cancel_waits_for_the_request_on_the_wire_then_undoes(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(1.5, "POST", "/b")
    definition = saga([step(svc, "a"), step(svc, "b", compensate_on="attempt"), step(svc, "c")])
    handle = await runtime.start(definition)
    await arrived(svc, "/b")
    await handle.cancel()
    error_type, report = await failure_of(handle)
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert report.reason == "cancel"
    paths = [r.path for r in svc.requests]
    assert paths == ["/a", "/b", "/undo/b", "/undo/a"]
    # The request already sent was answered before its undo went out: they never race.
    end_of_b = svc.requests[1].end_time
    assert end_of_b is not None and svc.requests[2].time >= end_of_b
    statuses = {s.name: s.status for s in report.steps}
    assert statuses == {
        "a": StepStatus.COMPENSATED,
        "b": StepStatus.COMPENSATED,
        "c": StepStatus.PENDING,
    }


async def test_a_step_whose_request_succeeds_during_a_cancel_is_undone_too(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(1.5, "POST", "/b")
    handle = await runtime.start(saga([step(svc, "a"), step(svc, "b"), step(svc, "c")]))
    await arrived(svc, "/b")
    await handle.cancel()
    _, report = await failure_of(handle)
    # compensate_on: success, and the request succeeded after the cancel: its effect
    # landed, so it is undone like any succeeded step.
    assert [r.path for r in svc.requests] == ["/a", "/b", "/undo/b", "/undo/a"]
    assert {s.name: s.status for s in report.steps}["b"] == StepStatus.COMPENSATED


async def test_a_cancel_whose_last_step_then_succeeds_comes_too_late(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(1.5, "POST", "/b")
    handle = await runtime.start(saga([step(svc, "a"), step(svc, "b", compensation="none")]))
    await arrived(svc, "/b")
    await handle.cancel()
    # b answered while the cancel waited for it: every step took effect, nothing is undone.
    await handle.result()
    assert [r.path for r in svc.requests] == ["/a", "/b"]


async def test_search_attributes_name_and_status_the_saga(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    handle = await runtime.start(saga([step(svc, "a")]), search_attributes=True)
    await handle.result()
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_NAME)) == "test-saga"
    assert attributes.get(SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATUS)) == "COMPLETED"


async def test_the_saga_timeout_undoes_like_a_cancel(
    skipping_runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.fail("POST", "/b", status=503, times=None)
    slow_retry = {"max_attempts": 0, "initial_interval": "1h", "max_interval": "1h"}
    b = step(svc, "b", compensate_on="attempt")
    b["action"]["retry"] = slow_retry
    definition = saga([step(svc, "a"), b], timeout="30m")
    error_type, report = await skipping_runtime.fail(definition)
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert (report.reason, report.error, report.failed_step) == (
        "timeout",
        "timed out after 30m",
        None,
    ), report
    assert [r.path for r in svc.requests] == ["/a", "/b", "/undo/b", "/undo/a"]


async def test_a_definition_the_worker_cannot_read_is_a_typed_error(runtime: Runtime) -> None:
    handle = await runtime.client.start_workflow(
        WORKFLOW_NAME,
        SagaRunInput(definition={"version": 1, "name": "broken", "steps": []}),
        id=f"broken-{time.time_ns()}",
        task_queue=runtime.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert getattr(caught.value.cause, "type", None) == INVALID_DEFINITION_ERROR


async def test_a_when_that_cannot_be_evaluated_fails_the_step_unsent(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    _, report = await runtime.fail(
        saga([step(svc, "a"), step(svc, "b", when="${ input.missing.field }")]), {}
    )
    assert [r.path for r in svc.requests] == ["/a", "/undo/a"]
    assert report.failed_step == "b" and (report.error or "").startswith("when:")
