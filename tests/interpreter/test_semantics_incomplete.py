"""Past the pivot nothing is undone: a step that fails for good leaves the saga INCOMPLETE.

It is not a compensation failure. A saga with `on_compensation_failure: park` waits
for a person instead: `resume --retry` runs the failed step again, `--skip` gives it up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import WorkflowHandle

from interpreter.cli._progress import STYLES
from interpreter.client._runs import _EXIT_BY_ERROR_TYPE
from interpreter.contract import (
    ERROR_TYPES,
    UPDATE_RESUME,
    ResumeRequest,
    SagaReport,
    SagaStatus,
    StepStatus,
)
from interpreter.dev.demo import DemoService
from interpreter.exit_codes import ExitCode

from .conftest import Runtime, failure_of, query_report, saga, step


def paths(svc: DemoService) -> list[str]:
    return [r.path for r in svc.requests]


def committed(svc: DemoService, **ship: Any) -> dict[str, Any]:
    steps = [step(svc, "reserve"), step(svc, "charge", pivot=True), step(svc, "ship", **ship)]
    return saga(steps)


async def parked(handle: WorkflowHandle[Any, Any]) -> SagaReport:
    for _ in range(300):
        report = await query_report(handle)
        if report.status == SagaStatus.PARKED:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError("the saga never parked")


async def resume(handle: WorkflowHandle[Any, Any], request: ResumeRequest) -> None:
    await handle.execute_update(UPDATE_RESUME, request, result_type=SagaReport)


async def test_an_expression_failing_after_the_pivot_ends_the_saga_incomplete(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    definition = committed(svc)
    definition["steps"][2]["action"]["json"] = {"to": "${ input.address.street }"}
    error_type, report = await runtime.fail(definition, {})
    assert error_type == ERROR_TYPES[SagaStatus.INCOMPLETE] == "SagaIncomplete"
    assert report.status == SagaStatus.INCOMPLETE
    assert report.failed_step == "ship" and report.compensation_failures == []
    assert [line.split(":")[0] for line in report.forward_failures] == ["ship"]
    assert paths(svc) == ["/reserve", "/charge"]


async def test_a_parked_incomplete_saga_runs_the_failed_step_again_on_retry(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/ship", status=400, times=1)
    handle = await runtime.start({**committed(svc), "on_compensation_failure": "park"})
    report = await parked(handle)
    assert report.forward_failures[0].startswith("ship: ")
    await resume(handle, ResumeRequest(retry=True))
    output = await handle.result()
    assert set(output) == {"reserve", "charge", "ship"}
    assert paths(svc) == ["/reserve", "/charge", "/ship", "/ship"]
    ship = (await query_report(handle)).steps[2]
    assert [t.status for t in ship.transitions] == ["RUNNING", "FAILED", "RUNNING", "SUCCEEDED"]


async def test_a_parked_incomplete_saga_can_give_up_its_failed_step(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/ship", status=400, times=None)
    handle = await runtime.start({**committed(svc), "on_compensation_failure": "park"})
    await parked(handle)
    await resume(handle, ResumeRequest(skip=["ship"]))
    error_type, report = await failure_of(handle)
    assert error_type == ERROR_TYPES[SagaStatus.INCOMPLETE]
    assert report.forward_failures[0].endswith("(given up by an operator)")
    assert {s.name: s.status for s in report.steps}["ship"] == StepStatus.FAILED
    assert not any(p.startswith("/undo/") for p in paths(svc))


def test_incomplete_means_a_person_must_look() -> None:
    assert _EXIT_BY_ERROR_TYPE[ERROR_TYPES[SagaStatus.INCOMPLETE]] == ExitCode.NEEDS_ATTENTION
    assert STYLES["INCOMPLETE"] == STYLES["COMPENSATION_FAILED"]
