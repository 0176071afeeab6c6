"""Steps form a DAG: independent steps overlap, `when` skips, undo follows dependants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interpreter.contract import StepStatus
from interpreter.dev.demo import DemoService, RecordedRequest

from .conftest import Runtime, query_report, saga


def step(
    svc: DemoService, name: str, after: list[str] | None = None, **keys: Any
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": name,
        "action": {"url": f"{svc.url}/{name}", "method": "POST"},
        "compensation": {"url": f"{svc.url}/{name}/undo", "method": "POST", "expect": ["2xx", 404]},
        **keys,
    }
    if after is not None:
        definition["after"] = after
    return definition


def overlap(a: RecordedRequest, b: RecordedRequest) -> bool:
    assert a.end_time is not None and b.end_time is not None
    return a.time < b.end_time and b.time < a.end_time


def by_path(svc: DemoService) -> dict[str, RecordedRequest]:
    return {f"{r.method} {r.path}": r for r in svc.requests}


async def test_independent_steps_run_at_the_same_time(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(0.5, "POST", "/left")
    svc.delay(0.5, "POST", "/right")
    steps = [step(svc, "start"), step(svc, "left", ["start"]), step(svc, "right", ["start"])]
    steps.append(step(svc, "join", ["left", "right"]))
    await runtime.run(saga(steps))
    seen = by_path(svc)
    assert overlap(seen["POST /left"], seen["POST /right"])
    assert seen["POST /join"].time >= max(
        seen["POST /left"].end_time or 0, seen["POST /right"].end_time or 0
    )
    assert seen["POST /left"].time >= (seen["POST /start"].end_time or 0)


async def test_a_step_waits_for_all_its_dependencies(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.delay(0.4, "POST", "/slow")
    steps = [step(svc, "slow", []), step(svc, "fast", []), step(svc, "join", ["slow", "fast"])]
    await runtime.run(saga(steps))
    seen = by_path(svc)
    assert seen["POST /join"].time >= (seen["POST /slow"].end_time or 0)


async def test_undo_waits_for_the_undo_of_every_dependant(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    # root -> (left, right) -> fail: left's and right's undos overlap, root's comes last.
    svc = services("shop")
    svc.delay(0.4, "POST", "/left/undo")
    svc.delay(0.4, "POST", "/right/undo")
    svc.fail("POST", "/fail", status=400, times=None)
    steps = [step(svc, "root"), step(svc, "left", ["root"]), step(svc, "right", ["root"])]
    steps.append(step(svc, "fail", ["left", "right"]))
    await runtime.fail(saga(steps))
    seen = by_path(svc)
    left, right, root = seen["POST /left/undo"], seen["POST /right/undo"], seen["POST /root/undo"]
    assert overlap(left, right)
    assert root.time >= max(left.end_time or 0, right.end_time or 0)
    assert "POST /fail/undo" not in seen


async def test_undo_order_passes_through_steps_with_nothing_to_undo(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    # a -> b (no compensation) -> c; a's undo must still wait for c's.
    svc = services("shop")
    svc.delay(0.4, "POST", "/c/undo")
    svc.fail("POST", "/d", status=400, times=None)
    steps = [
        step(svc, "a"),
        {**step(svc, "b"), "compensation": "none"},
        step(svc, "c"),
        step(svc, "d"),
    ]
    await runtime.fail(saga(steps))
    undos = [f"{r.method} {r.path}" for r in svc.requests if r.path.endswith("/undo")]
    assert undos == ["POST /c/undo", "POST /a/undo"]
    seen = by_path(svc)
    assert seen["POST /a/undo"].time >= (seen["POST /c/undo"].end_time or 0)


async def test_when_false_skips_a_step_and_its_dependants_still_run(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    steps = [
        step(svc, "first"),
        step(svc, "maybe", when="${ input.extra }"),
        step(svc, "last"),
    ]
    handle = await runtime.start(saga(steps), {"extra": False})
    output = await handle.result()
    assert [r.path for r in svc.requests] == ["/first", "/last"]
    assert "maybe" not in output
    report = await query_report(handle)
    assert {s.name: s.status for s in report.steps}["maybe"] == StepStatus.SKIPPED


async def test_later_steps_read_earlier_outputs_and_the_saga_output_is_rendered(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    steps = [
        {
            "name": "order",
            "action": {"url": f"{svc.url}/orders", "method": "POST", "json": {"sku": "A"}},
            "output": {"id": "${ response.body.id }", "code": "${ response.status }"},
            "compensation": "none",
        },
        {
            "name": "ship",
            "action": {
                "url": f"{svc.url}/shipments",
                "method": "POST",
                "json": {"order": "${ steps.order.output.id }", "saga": "${ saga.name }"},
            },
            "compensation": "none",
        },
    ]
    output = await runtime.run(saga(steps, output={"shipment": "${ steps.ship.output.id }"}))
    assert svc.requests[1].json == {"order": "orders-1", "saga": "test-saga"}
    assert output == {"shipment": "shipments-1"}
