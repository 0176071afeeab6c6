"""An action whose request may have taken effect is never taken as "not applied".

The service applies the request and answers after the attempt's timeout: no answer says
how it went. Before compensating, the saga resends it with its Idempotency-Key; what it
learns decides how the step is undone, or the saga says it could not be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from interpreter.contract import (
    ERROR_TYPES,
    UPDATE_RESUME,
    ResumeRequest,
    SagaReport,
    SagaStatus,
    StepStatus,
)
from interpreter.dev.demo import DemoService

from .conftest import Runtime, failure_of, query_report, saga, step

ONE_SHORT_ATTEMPT = {"timeout": "500ms", "retry": {"max_attempts": 1}}
LATE = 2.0
"""Seconds the service takes to answer: well past the attempt's timeout."""


def create_item(svc: DemoService, name: str, **keys: Any) -> dict[str, Any]:
    """POST /items, undone by deleting the item it created: the undo needs the output."""
    return {
        "name": name,
        "action": {"url": f"{svc.url}/items", "method": "POST", **ONE_SHORT_ATTEMPT},
        "compensation": {
            "url": f"{svc.url}/items/${{ steps.{name}.output.id }}",
            "method": "DELETE",
        },
        **keys,
    }


def statuses(report: Any) -> dict[str, StepStatus]:
    return {s.name: s.status for s in report.steps}


async def test_a_request_applied_but_answered_too_late_is_resolved_then_undone(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(LATE, "POST", "/items", times=1)
    error_type, report = await runtime.fail(saga([step(svc, "a"), create_item(svc, "item")]))
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert not svc.resources.get("items"), "the item the late request created is left"
    creates = [r for r in svc.requests if r.path == "/items"]
    assert len(creates) == 2 and creates[1].replayed
    keys = {r.headers.get("idempotency-key") for r in creates}
    assert keys == {f"{report.saga_id}/item/action"}
    assert statuses(report) == {"a": StepStatus.COMPENSATED, "item": StepStatus.COMPENSATED}
    item = report.steps[1]
    assert [t.status for t in item.transitions] == [
        "RUNNING",
        "FAILED",
        "SUCCEEDED",
        "COMPENSATING",
        "COMPENSATED",
    ]
    assert not item.outcome_uncertain
    assert report.notes and report.notes[0].startswith("item: its outcome was uncertain")


async def test_an_outcome_that_stays_unknown_is_named_when_the_undo_needs_the_output(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(LATE, "POST", "/items", times=None)
    error_type, report = await runtime.fail(saga([step(svc, "a"), create_item(svc, "item")]))
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATION_FAILED]
    [failure] = report.compensation_failures
    assert failure.startswith("item: outcome uncertain: the action may have taken effect")
    assert "its compensation needs the action's output" in failure
    assert statuses(report) == {
        "a": StepStatus.COMPENSATED,
        "item": StepStatus.COMPENSATION_FAILED,
    }
    assert report.steps[1].outcome_uncertain
    assert not any(r.method == "DELETE" for r in svc.requests)
    assert svc.resources.get("items"), "the test's premise: the effect did land"


async def test_an_outcome_that_stays_unknown_is_undone_when_the_undo_needs_no_output(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(LATE, "POST", "/b", times=None)
    b = step(svc, "b")
    b["action"].update(ONE_SHORT_ATTEMPT)
    error_type, report = await runtime.fail(saga([step(svc, "a"), b]))
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert [r.path for r in svc.requests] == ["/a", "/b", "/b", "/undo/b", "/undo/a"]
    assert statuses(report) == {"a": StepStatus.COMPENSATED, "b": StepStatus.COMPENSATED}
    assert report.steps[1].outcome_uncertain


async def test_an_uncertain_step_parks_the_saga_that_asks_to_park(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(LATE, "POST", "/items", times=None)
    definition = saga([step(svc, "a"), create_item(svc, "item")], on_compensation_failure="park")
    handle = await runtime.start(definition)
    for _ in range(300):
        report = await query_report(handle)
        if report.status == SagaStatus.PARKED:
            break
        await asyncio.sleep(0.05)
    assert report.status == SagaStatus.PARKED
    assert report.compensation_failures[0].startswith("item: outcome uncertain")
    # An operator who has checked the item by hand gives up on its undo.
    await handle.execute_update(UPDATE_RESUME, ResumeRequest(skip=["item"]), result_type=SagaReport)
    error_type, report = await failure_of(handle)
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert report.steps[1].compensation_skipped
