"""The history: small and fixed per step, and recorded runs replay on the current code.

A change to the workflow that would break sagas already running (a different command
sequence on replay) fails `test_recorded_sagas_replay_on_the_current_code`. When such
a change is intended, it needs a workflow patch, and new recordings:
`pytest tests/interpreter --record-histories`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from interpreter.dev.demo import DemoService
from interpreter.worker._worker import workflow_runner
from interpreter.workflow._saga import SagaWorkflow

from .conftest import HISTORIES, Runtime, saga

RECORDED = sorted(HISTORIES.rglob("*.json"))


async def test_each_step_adds_one_activity_and_one_workflow_task(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    steps = [
        {
            "name": name,
            "action": {"url": f"{svc.url}/{name}", "method": "POST"},
            "compensation": {
                "url": f"{svc.url}/{name}/${{ steps.{name}.output.id }}",
                "method": "DELETE",
            },
        }
        for name in ("flight", "hotel", "car")
    ]
    handle = await runtime.start(saga(steps))
    await handle.result()
    history = await handle.fetch_history()
    counts = Counter(
        EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events
    )
    assert counts == {
        "WORKFLOW_EXECUTION_STARTED": 1,
        # No marker and no TemporalChangeVersion upsert: the run's semantics version
        # travels in its input (SagaRunInput.semantics).
        "WORKFLOW_TASK_SCHEDULED": 4,
        "WORKFLOW_TASK_STARTED": 4,
        "WORKFLOW_TASK_COMPLETED": 4,
        "ACTIVITY_TASK_SCHEDULED": 3,
        "ACTIVITY_TASK_STARTED": 3,
        "ACTIVITY_TASK_COMPLETED": 3,
        "WORKFLOW_EXECUTION_COMPLETED": 1,
    }


def test_there_are_recorded_histories_to_replay(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--record-histories"):
        pytest.skip("recording new histories")
    assert len(RECORDED) >= 10


@pytest.mark.parametrize(
    "path", RECORDED, ids=[str(path.relative_to(HISTORIES).with_suffix("")) for path in RECORDED]
)
async def test_recorded_sagas_replay_on_the_current_code(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    history = WorkflowHistory.from_json(path.stem, json.loads(text))
    replayer = Replayer(workflows=[SagaWorkflow], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
