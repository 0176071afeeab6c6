"""Compensations never inherit the actions' finite retry (semantics 2).

`defaults.retry` is for actions. A compensation takes `defaults.compensation.retry`,
else the built-in unlimited retry: an undo that gave up after the actions' few attempts
would leave an effect in place. Runs recorded before (semantics 1) keep the old rule;
the recorded histories replay it.
"""

from __future__ import annotations

from collections.abc import Callable

from interpreter.contract import SagaStatus, StepStatus
from interpreter.dev.demo import DemoService

from .conftest import Runtime, failure_of, step

FAST = {"initial_interval": "50ms", "max_interval": "50ms"}


async def test_a_compensation_retries_past_the_actions_max_attempts(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.fail("POST", "/charge", status=400, times=None)
    svc.fail("PUT", "/undo/reserve", status=500, times=3)
    definition = {
        "version": 1,
        "name": "undo-keeps-trying",
        # Actions: 2 attempts. Compensations: fast waits, but no `max_attempts` of their own.
        "defaults": {"timeout": "5s", "retry": {"max_attempts": 2, **FAST}},
        "steps": [step(svc, "reserve"), step(svc, "charge")],
    }
    definition["defaults"]["compensation"] = {"retry": FAST}  # type: ignore[index]
    _, report = await failure_of(await runtime.start(definition))
    assert report.status == SagaStatus.COMPENSATED
    reserve = report.steps[0]
    assert reserve.status == StepStatus.COMPENSATED
    assert reserve.compensation_attempts == 4  # three 500s, then the undo went through
    assert report.steps[1].attempts == 1  # a 400 is not retried
    assert [r.path for r in svc.requests if r.method == "PUT"] == ["/undo/reserve"] * 4
