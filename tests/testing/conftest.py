"""One time-skipping test server for the session; sagas written as plain dicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dsl import Saga
from interpreter.testing import CaseResult, Simulator, Suite, matrix_suite, run_suite

FAST = {"max_attempts": 3, "initial_interval": "1s", "max_interval": "5s"}
DEFAULTS = {"timeout": "5s", "retry": FAST}


@pytest.fixture(scope="session")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start(time_limit=60) as started:
        yield started


def step(name: str, **keys: Any) -> dict[str, Any]:
    """A POST step on the `shop` service, undone by DELETE of what it made."""
    return {
        "name": name,
        "action": {"service": "shop", "method": "POST", "path": f"/{name}"},
        "output": {"id": "${ response.body.id }"},
        "compensation": {
            "service": "shop",
            "method": "DELETE",
            "path": f"/{name}/${{ steps.{name}.output.id }}",
        },
        **keys,
    }


def saga(steps: list[dict[str, Any]], **keys: Any) -> Saga:
    definition = {
        "version": 1,
        "name": "shop",
        "services": {"shop": {"url": "http://shop.test"}},
        "defaults": DEFAULTS,
        "steps": steps,
        **keys,
    }
    return Saga.model_validate(definition)


async def matrix(simulator: Simulator, definition: Saga) -> dict[str, CaseResult]:
    suite: Suite = await run_suite(simulator, matrix_suite(definition, None))
    return {result.case.name: result for result in suite.results}
