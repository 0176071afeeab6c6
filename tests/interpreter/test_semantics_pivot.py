"""A cancel or the saga's timeout that arrives while the pivot is in flight waits for it.

The pivot succeeded: the saga is committed and goes forward, the report notes the
ignored interrupt. The pivot failed: the interrupt takes effect and the saga is undone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from interpreter.contract import ERROR_TYPES, SagaStatus, StepStatus
from interpreter.dev.demo import DemoService

from .conftest import Runtime, failure_of, query_report, saga, step


async def arrived(svc: DemoService, path: str) -> None:
    for _ in range(250):
        if any(r.path == path for r in svc.requests):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never arrived")


def paths(svc: DemoService) -> list[str]:
    return [r.path for r in svc.requests]


async def test_a_cancel_while_the_pivot_is_in_flight_goes_forward_when_it_succeeds(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.delay(1.5, "POST", "/charge")
    steps = [step(svc, "reserve"), step(svc, "charge", pivot=True), step(svc, "ship")]
    handle = await runtime.start(saga(steps))
    await arrived(svc, "/charge")
    await handle.cancel()
    output = await handle.result()
    assert set(output) == {"reserve", "charge", "ship"}
    assert paths(svc) == ["/reserve", "/charge", "/ship"]
    report = await query_report(handle)
    assert report.status == SagaStatus.COMPLETED
    assert report.notes == [
        "cancel arrived while the pivot 'charge' was in flight; the pivot succeeded, "
        "so the saga went forward"
    ]


async def test_a_cancel_while_the_pivot_is_in_flight_undoes_when_it_fails(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.fail("POST", "/charge", status=400, delay=1.5, times=None)
    steps = [step(svc, "reserve"), step(svc, "charge", pivot=True), step(svc, "ship")]
    handle = await runtime.start(saga(steps))
    await arrived(svc, "/charge")
    await handle.cancel()
    error_type, report = await failure_of(handle)
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    assert report.reason == "cancel" and report.notes == []
    assert paths(svc) == ["/reserve", "/charge", "/undo/reserve"]
    statuses = {s.name: s.status for s in report.steps}
    assert statuses == {
        "reserve": StepStatus.COMPENSATED,
        "charge": StepStatus.FAILED,
        "ship": StepStatus.PENDING,
    }


async def test_a_step_beside_the_pivot_finishes_while_a_cancel_waits_for_the_pivot(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.delay(1.5, "POST", "/charge")
    svc.delay(2.5, "POST", "/notify")
    steps = [
        step(svc, "charge", pivot=True),
        step(svc, "notify", after=[]),
        step(svc, "ship", after=["charge"]),
    ]
    handle = await runtime.start(saga(steps))
    await arrived(svc, "/notify")
    await arrived(svc, "/charge")
    await handle.cancel()
    output = await handle.result()
    # notify was not cancelled: the saga went forward, and it is one of its steps.
    assert set(output) == {"charge", "notify", "ship"}
    assert not any(p.startswith("/undo/") for p in paths(svc))


async def test_the_saga_timeout_while_the_pivot_is_in_flight_goes_forward(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.delay(3.0, "POST", "/charge")
    steps = [step(svc, "charge", pivot=True), step(svc, "ship")]
    handle = await runtime.start(saga(steps, timeout="1s"))
    output = await handle.result()
    assert set(output) == {"charge", "ship"}
    assert paths(svc) == ["/charge", "/ship"]
    report = await query_report(handle)
    assert report.notes == [
        "timeout arrived while the pivot 'charge' was in flight; the pivot succeeded, "
        "so the saga went forward"
    ]


async def test_a_cancel_after_the_pivot_is_noted_in_the_report(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("pay")
    svc.delay(1.5, "POST", "/ship")
    handle = await runtime.start(saga([step(svc, "charge", pivot=True), step(svc, "ship")]))
    await arrived(svc, "/ship")
    await handle.cancel()
    await handle.result()
    report = await query_report(handle)
    assert report.notes == ["cancel ignored: the pivot had already succeeded"]
