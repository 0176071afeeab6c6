"""Wait steps on the real dev server: data delivered by the `signal` update, refused
before anything is recorded when it does not fit, the timeout, a cancel while waiting,
a wait as the pivot, and a wait that survives its worker."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from interpreter.contract import (
    SIGNAL_INVALID_DATA,
    SIGNAL_NOT_WAITING,
    SIGNAL_UNKNOWN_STEP,
    UPDATE_SIGNAL,
    SagaReport,
    SagaStatus,
    SignalRequest,
    StepStatus,
)
from interpreter.dev.demo import DemoService
from interpreter.worker._worker import build_worker

from .conftest import Runtime, failure_of, query_report, saga, step

APPROVAL_SCHEMA = {
    "type": "object",
    "required": ["approved"],
    "properties": {"approved": {"type": "boolean"}, "by": {"type": "string"}},
}


def approval(svc: DemoService, timeout: str = "1h", **keys: Any) -> dict[str, Any]:
    """A wait step that notifies `svc` at /ask and undoes nothing itself."""
    return {
        "name": "approval",
        "wait": {
            "timeout": timeout,
            "schema": APPROVAL_SCHEMA,
            "success": "${ signal.approved }",
            "notify": {"url": f"{svc.url}/ask", "method": "POST", "json": {"id": "${ saga.id }"}},
        },
        "output": {"by": "${ signal.by }"},
        **keys,
    }


def expense(svc: DemoService, timeout: str = "1h") -> dict[str, Any]:
    """reserve -> approval -> pay."""
    return saga([step(svc, "reserve"), approval(svc, timeout), step(svc, "pay")])


def paths(svc: DemoService) -> list[str]:
    return [r.path for r in svc.requests]


async def signal(handle: WorkflowHandle[Any, Any], step: str, data: Any) -> SagaReport:
    report: SagaReport = await handle.execute_update(
        UPDATE_SIGNAL, SignalRequest(step, data), result_type=SagaReport
    )
    return report


async def refusal(handle: WorkflowHandle[Any, Any], step: str, data: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await signal(handle, step, data)
    assert isinstance(caught.value.cause, ApplicationError)
    return caught.value.cause


async def until_waiting(handle: WorkflowHandle[Any, Any], name: str = "approval") -> SagaReport:
    for _ in range(600):
        report = await query_report(handle)
        if next(s for s in report.steps if s.name == name).status == StepStatus.WAITING:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"step {name!r} never began waiting")


def step_report(report: SagaReport, name: str = "approval") -> Any:
    return next(s for s in report.steps if s.name == name)


async def test_approved_data_completes_the_saga_with_the_step_output(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    handle = await runtime.start({**expense(svc), "output": "${ steps.approval.output }"})
    waiting = step_report(await until_waiting(handle))
    assert waiting.waiting_since is not None and waiting.deadline is not None
    assert waiting.deadline > waiting.waiting_since
    answer = await signal(handle, "approval", {"approved": True, "by": "ann"})
    assert step_report(answer).signal_at is not None
    assert await handle.result() == {"by": "ann"}
    assert paths(svc) == ["/reserve", "/ask", "/pay"]
    assert svc.requests[1].headers["idempotency-key"] == f"{handle.id}/approval/notify"
    assert svc.requests[1].json == {"id": handle.id}


async def test_rejected_data_fails_the_step_and_undoes_the_saga(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    handle = await runtime.start(expense(svc))
    await until_waiting(handle)
    await signal(handle, "approval", {"approved": False, "by": "bob"})
    kind, report = await failure_of(handle)
    assert (kind, report.status, report.failed_step) == (
        "SagaCompensated",
        SagaStatus.COMPENSATED,
        "approval",
    )
    approval_report = step_report(report)
    assert (approval_report.status, approval_report.reason) == (StepStatus.FAILED, "rejected")
    assert paths(svc) == ["/reserve", "/ask", "/undo/reserve"]


async def test_data_that_does_not_fit_the_schema_is_refused_and_changes_nothing(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    handle = await runtime.start(expense(svc))
    await until_waiting(handle)
    refused = await refusal(handle, "approval", {"approved": "yes"})
    assert refused.type == SIGNAL_INVALID_DATA
    assert refused.details[0]["errors"][0]["pointer"] == "/approved"
    assert "approval" in refused.message
    assert step_report(await query_report(handle)).status == StepStatus.WAITING
    await signal(handle, "approval", {"approved": True, "by": "ann"})
    await handle.result()
    history = await handle.fetch_history()
    updates = [e for e in history.events if "UPDATE" in (e.WhichOneof("attributes") or "").upper()]
    assert len(updates) == 2  # accepted and completed, once: the refusal left no trace


async def test_unknown_steps_and_steps_that_do_not_wait_are_refused(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    handle = await runtime.start(expense(svc))
    await until_waiting(handle)
    unknown = await refusal(handle, "aproval", {"approved": True})
    assert (unknown.type, unknown.message) == (
        SIGNAL_UNKNOWN_STEP,
        "unknown step 'aproval'; wait steps: approval",
    )
    assert (await refusal(handle, "reserve", {})).type == SIGNAL_NOT_WAITING
    await signal(handle, "approval", {"approved": True, "by": "ann"})
    assert (await handle.result())["approval"] == {"by": "ann"}


async def test_data_sent_before_the_wait_begins_is_kept_and_used(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    svc.delay(1.0, "POST", "/reserve")
    handle = await runtime.start(expense(svc))
    before = step_report(await signal(handle, "approval", {"approved": True, "by": "early"}))
    assert before.status == StepStatus.PENDING and before.signal_at is not None
    assert (await handle.result())["approval"] == {"by": "early"}
    assert paths(svc) == ["/reserve", "/ask", "/pay"]
    after = step_report(await query_report(handle))
    assert after.signal_at is not None and after.waiting_since is not None
    assert after.signal_at < after.waiting_since


async def test_a_second_delivery_to_the_same_step_is_refused(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    svc.delay(1.0, "POST", "/pay")
    handle = await runtime.start(expense(svc))
    await until_waiting(handle)
    await signal(handle, "approval", {"approved": True, "by": "ann"})
    second = await refusal(handle, "approval", {"approved": False, "by": "bob"})
    assert second.type == SIGNAL_NOT_WAITING
    assert "already has its data" in second.message
    assert (await handle.result())["approval"] == {"by": "ann"}


async def test_no_data_in_time_fails_the_step_with_reason_timeout(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    kind, report = await failure_of(await runtime.start(expense(svc, timeout="300ms")))
    assert (report.status, report.failed_step) == (SagaStatus.COMPENSATED, "approval")
    assert step_report(report).reason == "timeout"
    assert step_report(report).last_error == "timeout: no data arrived within 300ms"
    assert paths(svc) == ["/reserve", "/ask", "/undo/reserve"]


async def test_a_cancel_while_waiting_ends_the_wait_and_undoes(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    handle = await runtime.start(expense(svc))
    await until_waiting(handle)
    await handle.cancel()
    kind, report = await failure_of(handle)
    assert (report.status, report.reason) == (SagaStatus.COMPENSATED, "cancel")
    assert step_report(report).status == StepStatus.CANCELLED
    assert paths(svc) == ["/reserve", "/ask", "/undo/reserve"]


async def test_a_wait_as_the_pivot_commits_the_saga_when_approved(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    pay = step(svc, "pay", compensation="none")
    pay["action"]["retry"] = {"max_attempts": 0, "initial_interval": "50ms"}
    svc.fail("POST", "/pay", status=503, times=2)
    definition = saga([step(svc, "reserve"), approval(svc, pivot=True), pay])
    handle = await runtime.start(definition)
    await until_waiting(handle)
    await signal(handle, "approval", {"approved": True, "by": "ann"})
    await handle.cancel()  # after the pivot: ignored, the saga goes forward
    await handle.result()
    report = await query_report(handle)
    assert report.status == SagaStatus.COMPLETED
    assert paths(svc) == ["/reserve", "/ask", "/pay", "/pay", "/pay"]


async def test_a_cancel_while_the_pivot_waits_is_not_held_back(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    pay = step(svc, "pay", compensation="none")
    pay["action"]["retry"] = {"max_attempts": 0}
    handle = await runtime.start(saga([step(svc, "reserve"), approval(svc, pivot=True), pay]))
    await until_waiting(handle)
    await handle.cancel()
    kind, report = await failure_of(handle)
    assert (report.status, report.reason) == (SagaStatus.COMPENSATED, "cancel")
    assert paths(svc) == ["/reserve", "/ask", "/undo/reserve"]


async def test_a_failure_elsewhere_ends_the_wait(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    svc.fail("POST", "/audit", status=400, times=None)
    audit = step(svc, "audit", after=["reserve"])
    definition = saga([step(svc, "reserve"), approval(svc, after=["reserve"]), audit])
    kind, report = await failure_of(await runtime.start(definition))
    assert (report.failed_step, step_report(report).status) == ("audit", StepStatus.CANCELLED)
    assert paths(svc)[-1] == "/undo/reserve"


async def test_compensate_on_attempt_undoes_a_wait_that_timed_out(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("expense")
    wait = approval(svc, timeout="200ms", compensate_on="attempt")
    wait["compensation"] = {"url": f"{svc.url}/withdraw", "method": "POST"}
    kind, report = await failure_of(await runtime.start(saga([step(svc, "reserve"), wait])))
    assert step_report(report).status == StepStatus.COMPENSATED
    assert paths(svc) == ["/reserve", "/ask", "/withdraw", "/undo/reserve"]


async def test_a_wait_survives_its_worker(
    temporal: WorkflowEnvironment,
    request: pytest.FixtureRequest,
    services: Callable[[str], DemoService],
) -> None:
    svc = services("expense")
    runtime = Runtime(
        temporal.client,
        f"test-{uuid.uuid4().hex[:12]}",
        re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-"),
        bool(request.config.getoption("--record-histories")),
    )
    async with httpx.AsyncClient(timeout=None) as http:
        async with build_worker(temporal.client, runtime.task_queue, http_client=http):
            handle = await runtime.start(expense(svc))
            await until_waiting(handle)
        # The first worker is gone; the saga waits on the server alone.
        async with build_worker(temporal.client, runtime.task_queue, http_client=http):
            await signal(handle, "approval", {"approved": True, "by": "ann"})
            output = await handle.result()
            if runtime.record:
                await runtime.save_histories()
    assert output["approval"] == {"by": "ann"}
    assert paths(svc) == ["/reserve", "/ask", "/pay"]
