"""Compensation: attempts undone, failures listed, parking and resuming, the pivot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from interpreter.contract import (
    ERROR_TYPES,
    UPDATE_RESUME,
    ResumeRequest,
    SagaReport,
    SagaStatus,
    StepStatus,
)
from interpreter.dev.demo import DemoService

from .conftest import FAST_ATTEMPTS, Runtime, failure_of, query_report, saga, step


def paths(svc: DemoService) -> list[str]:
    return [r.path for r in svc.requests]


async def test_compensate_on_attempt_undoes_a_failed_step(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charge", status=400, times=None)
    await runtime.fail(saga([step(svc, "reserve"), step(svc, "charge", compensate_on="attempt")]))
    assert paths(svc) == ["/reserve", "/charge", "/undo/charge", "/undo/reserve"]


async def test_a_failed_step_is_not_undone_by_default(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charge", status=400, times=None)
    await runtime.fail(saga([step(svc, "reserve"), step(svc, "charge")]))
    assert paths(svc) == ["/reserve", "/charge", "/undo/reserve"]


async def test_compensate_on_attempt_skips_a_step_that_was_never_sent(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    charge = step(svc, "charge", compensate_on="attempt")
    charge["action"]["auth"] = {"bearer": {"secret": "ABSENT"}}
    await runtime.fail(saga([step(svc, "reserve"), charge]))
    assert paths(svc) == ["/reserve", "/undo/reserve"]


async def test_every_failed_compensation_is_listed_and_the_others_still_run(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/c", status=400, times=None)
    svc.fail("PUT", "/undo/b", status=409, times=None)
    svc.fail("PUT", "/undo/a", status=500, times=None)
    error_type, report = await runtime.fail(saga([step(svc, "a"), step(svc, "b"), step(svc, "c")]))
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATION_FAILED]
    assert report.status == SagaStatus.COMPENSATION_FAILED
    assert [line.split(":")[0] for line in report.compensation_failures] == ["a", "b"]
    assert "409 Conflict" in report.compensation_failures[1]
    assert paths(svc).count("/undo/a") == FAST_ATTEMPTS
    statuses = {s.name: s.status for s in report.steps}
    assert statuses["a"] == statuses["b"] == StepStatus.COMPENSATION_FAILED


async def parked(runtime: Runtime, svc: DemoService) -> WorkflowHandle[Any, Any]:
    svc.fail("POST", "/c", status=400, times=None)
    svc.fail("PUT", "/undo/a", status=409, times=1)
    svc.fail("PUT", "/undo/b", status=409, times=1)
    definition = saga([step(svc, "a"), step(svc, "b"), step(svc, "c")])
    handle = await runtime.start({**definition, "on_compensation_failure": "park"})
    for _ in range(200):
        if (await query_report(handle)).status == SagaStatus.PARKED:
            return handle
        await asyncio.sleep(0.05)
    raise AssertionError("the saga never parked")


async def resume(handle: WorkflowHandle[Any, Any], request: ResumeRequest) -> SagaReport:
    report: SagaReport = await handle.execute_update(UPDATE_RESUME, request, result_type=SagaReport)
    return report


async def test_a_parked_saga_retries_its_failed_compensations_on_resume(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    handle = await parked(runtime, svc)
    report = await query_report(handle)
    assert len(report.compensation_failures) == 2
    await resume(handle, ResumeRequest(retry=True))
    error_type, report = await failure_of(handle)
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert paths(svc).count("/undo/a") == 2 and paths(svc).count("/undo/b") == 2
    assert report.compensation_failures == []
    assert {s.name: s.status for s in report.steps}["b"] == StepStatus.COMPENSATED


async def test_a_parked_saga_can_skip_a_compensation_and_retry_the_rest(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    handle = await parked(runtime, svc)
    await resume(handle, ResumeRequest(retry=True, skip=["b"]))
    _, report = await failure_of(handle)
    assert report.status == SagaStatus.COMPENSATED
    assert paths(svc).count("/undo/b") == 1 and paths(svc).count("/undo/a") == 2
    b = next(s for s in report.steps if s.name == "b")
    assert b.compensation_skipped and b.status == StepStatus.COMPENSATION_FAILED


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ResumeRequest(skip=["nope"]), "unknown step 'nope'"),
        (ResumeRequest(skip=["c"]), "no failed compensation"),
        (ResumeRequest(), "nothing to do"),
    ],
    ids=["unknown-step", "not-failed", "nothing"],
)
async def test_a_resume_that_makes_no_sense_is_rejected(
    runtime: Runtime, services: Callable[[str], DemoService], request_: ResumeRequest, message: str
) -> None:
    svc = services("pay")
    handle = await parked(runtime, svc)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await resume(handle, request_)
    assert message in str(caught.value.cause)
    assert (await query_report(handle)).status == SagaStatus.PARKED
    await handle.terminate("test over")


async def test_a_saga_that_is_not_parked_refuses_resume(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.delay(2.0, "POST", "/a")
    handle = await runtime.start(saga([step(svc, "a")]))
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await resume(handle, ResumeRequest(retry=True))
    assert "not PARKED" in str(caught.value.cause)
    await handle.terminate("test over")


async def test_after_the_pivot_a_failure_is_not_undone_and_steps_retry_forward(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    # More failures than max_attempts: only a forward-only retry gets through them.
    svc.fail("POST", "/ship", status=503, times=FAST_ATTEMPTS + 1)
    steps = [step(svc, "reserve"), step(svc, "charge", pivot=True), step(svc, "ship")]
    await runtime.run(saga(steps))
    assert paths(svc).count("/ship") == FAST_ATTEMPTS + 2
    assert not any(p.startswith("/undo/") for p in paths(svc))


async def test_a_step_that_fails_for_good_after_the_pivot_is_reported_not_undone(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/ship", status=400, times=None)
    steps = [step(svc, "reserve"), step(svc, "charge", pivot=True), step(svc, "ship")]
    error_type, report = await runtime.fail(saga(steps))
    assert not any(p.startswith("/undo/") for p in paths(svc))
    # Not a compensation failure (nothing was to be undone): the saga is INCOMPLETE.
    assert error_type == ERROR_TYPES[SagaStatus.INCOMPLETE]
    assert report.failed_step == "ship" and report.compensation_failures == []
    assert [line.split(":")[0] for line in report.forward_failures] == ["ship"]


async def test_cancelling_a_parked_saga_ends_it_compensation_failed(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    handle = await parked(runtime, svc)
    await handle.cancel()
    error_type, report = await failure_of(handle)
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATION_FAILED]
    assert len(report.compensation_failures) == 2


async def test_a_cancel_after_the_pivot_is_ignored_and_the_saga_completes(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.delay(1.0, "POST", "/ship")
    steps = [step(svc, "charge", pivot=True), step(svc, "ship")]
    handle = await runtime.start(saga(steps))
    for _ in range(100):
        if "/ship" in paths(svc):
            break
        await asyncio.sleep(0.02)
    await handle.cancel()
    output = await handle.result()
    assert set(output) == {"charge", "ship"}
    assert paths(svc) == ["/charge", "/ship"]
