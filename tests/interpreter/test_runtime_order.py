"""Steps run in dependency order; a failure undoes what was done, in reverse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interpreter.contract import ERROR_TYPES, SagaStatus, StepStatus
from interpreter.dev.demo import DemoService

from .conftest import Runtime, saga


def booking(svc: DemoService, names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "action": {"url": f"{svc.url}/{name}", "method": "POST", "json": {"n": name}},
            "output": {"id": "${ response.body.id }"},
            "compensation": {
                "url": f"{svc.url}/{name}/${{ steps.{name}.output.id }}",
                "method": "DELETE",
            },
        }
        for name in names
    ]


def calls(svc: DemoService) -> list[str]:
    return [f"{r.method} {r.path}" for r in svc.requests]


async def test_a_sequence_runs_in_list_order_and_returns_the_outputs(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    output = await runtime.run(saga(booking(svc, ["flight", "hotel", "car"])))
    assert calls(svc) == ["POST /flight", "POST /hotel", "POST /car"]
    assert output == {
        "flight": {"id": "flight-1"},
        "hotel": {"id": "hotel-1"},
        "car": {"id": "car-1"},
    }


async def test_a_failed_step_undoes_a_sequence_strictly_in_reverse(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.fail("POST", "/d", status=409, times=None)
    error_type, report = await runtime.fail(saga(booking(svc, ["a", "b", "c", "d"])))
    assert calls(svc) == [
        "POST /a", "POST /b", "POST /c", "POST /d",
        "DELETE /c/c-1", "DELETE /b/b-1", "DELETE /a/a-1",
    ]  # fmt: skip
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert report.status == SagaStatus.COMPENSATED
    assert report.failed_step == "d" and report.reason == "failure"
    statuses = {s.name: s.status for s in report.steps}
    assert statuses == {
        "a": StepStatus.COMPENSATED,
        "b": StepStatus.COMPENSATED,
        "c": StepStatus.COMPENSATED,
        "d": StepStatus.FAILED,
    }
