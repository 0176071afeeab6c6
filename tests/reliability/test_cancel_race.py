"""A cancel that arrives together with a step's result must not lose the step's effect.

Found by the cancel-chaos scenario, made deterministic here: with no worker running,
the step's activity completes (its effect is in the service) and the saga is cancelled;
the next worker then sees both events in one workflow task. The step succeeded, so
the cancel must compensate it: the saga ends COMPENSATED with the hold deleted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from interpreter.client._runs import start_saga
from interpreter.contract import HttpResult
from interpreter.dev.demo import DemoService

from .processes import TemporalServer, WorkerProcess, connect
from .workload import run_input, wait_for_outcome

pytestmark = pytest.mark.timeout(120)


def hold_then_ship(url: str) -> dict[str, Any]:
    fast = {"max_attempts": 3, "initial_interval": "50ms", "max_interval": "50ms"}
    return {
        "version": 1,
        "name": "cancel-race",
        "defaults": {"timeout": "30s", "retry": fast, "compensation": {"retry": fast}},
        "steps": [
            {
                "name": "hold",
                "action": {"url": url + "/holds/${ saga.id }", "method": "PUT", "json": {}},
                "compensation": {"url": url + "/holds/${ saga.id }", "method": "DELETE"},
            },
            {
                "name": "ship",
                "action": {"url": url + "/shipments", "method": "POST", "json": {}},
                "compensation": "none",
            },
        ],
    }


async def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_a_cancel_arriving_with_a_steps_result_still_undoes_that_step(
    temporal_server: TemporalServer, tmp_path: Path
) -> None:
    queue = f"cancel-race-{uuid.uuid4().hex[:8]}"
    client = await connect(temporal_server.address)
    with DemoService("holds") as holds:
        holds.delay(60, method="PUT")  # the hold is applied, its answer never comes
        first = WorkerProcess(temporal_server.address, queue, tmp_path / "w1.log").start()
        saga_id = f"cancel-race-{uuid.uuid4().hex[:8]}"
        run = run_input(hold_then_ship(holds.url), None)
        handle = await start_saga(client, run, saga_id=saga_id, task_queue=queue)
        await wait_for(lambda: holds.resources.get("holds"))
        first.kill()

        pending = (await handle.describe()).raw_description.pending_activities
        activity = client.get_async_activity_handle(
            workflow_id=saga_id, run_id=None, activity_id=pending[0].activity_id
        )
        await activity.complete(HttpResult(status=201, output={"id": saga_id}))
        await handle.cancel()
        second = WorkerProcess(temporal_server.address, queue, tmp_path / "w2.log").start()
        try:
            outcome = await asyncio.wait_for(wait_for_outcome(handle), 60)
        finally:
            second.kill()
        left = holds.resources.get("holds", {})
    assert (outcome.status, left) == ("COMPENSATED", {}), outcome.report
