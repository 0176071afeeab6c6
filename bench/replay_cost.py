"""The worker's own work for one saga, in two halves, without the server.

    python bench/replay_cost.py FOLDER [--repeats 5] [--runner default|unsandboxed]

FOLDER holds histories as `<kind>-<n>.json` (kind: dsl or handwritten), written by
bench_overhead.py from one of its rounds, whose DemoService still runs. In turns,
`--repeats` times:

- workflow tasks: each kind's histories replayed with the same sandbox settings as its
  worker; process CPU per history = the sandbox (a fresh module import per run), the
  workflow's code and the SDK's state machines;
- activities: every activity input recorded in those histories, called again in an
  ActivityEnvironment (the same HTTP requests, to the same service, which answers
  them from its idempotency records); CPU of the calling thread per saga = the activity's
  own code and httpx, without Temporal's task plumbing or heartbeat RPCs.

Prints JSON (or writes it to `--out`). Run it under py-spy to see where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

KINDS = ("dsl", "handwritten")


def replayer(kind: str, runner: str) -> Replayer:
    """A replayer with the same sandbox settings as that kind's worker."""
    if kind == "handwritten":
        from handwritten import HandWrittenTrip

        chosen: WorkflowRunner = SandboxedWorkflowRunner()  # the SDK's default
        workflows: list[type] = [HandWrittenTrip]
    else:
        from interpreter.worker._worker import workflow_runner
        from interpreter.workflow._saga import SagaWorkflow

        chosen, workflows = workflow_runner(), [SagaWorkflow]
    if runner == "unsandboxed":
        chosen = UnsandboxedWorkflowRunner()
    return Replayer(workflows=workflows, workflow_runner=chosen)


def load(folder: Path, kind: str) -> list[WorkflowHistory]:
    return [
        WorkflowHistory.from_json(path.stem, path.read_text())
        for path in sorted(folder.glob(f"{kind}-*.json"))
    ]


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def cpu_ms_per_history(engine: Replayer, histories: list[WorkflowHistory]) -> float:
    began = time.process_time()
    await engine.replay_workflows(_each(histories), raise_on_replay_failure=True)
    return (time.process_time() - began) / len(histories) * 1000


def activity_inputs(kind: str, histories: list[WorkflowHistory]) -> list[Any]:
    from handwritten import Call
    from temporalio.api.enums.v1 import EventType
    from temporalio.converter import DataConverter

    from interpreter.contract import HttpCall

    converter = DataConverter.default.payload_converter
    inputs = []
    for history in histories:
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                payloads = event.activity_task_scheduled_event_attributes.input.payloads
                if kind == "dsl":  # as the activity reads it (the short form has no saga id)
                    data = converter.from_payloads(payloads, [dict])[0]
                    inputs.append(HttpCall.from_dict(data, history.workflow_id))
                else:
                    inputs.append(converter.from_payloads(payloads, [Call])[0])
    return inputs


def activity(kind: str, http: Any) -> Any:
    if kind == "handwritten":
        from handwritten import HandWrittenActivities

        return HandWrittenActivities(http).call
    from interpreter.worker._activity import HttpActivity
    from interpreter.worker._secrets import SecretSource

    return HttpActivity(http, SecretSource(None)).call


async def activity_cpu_ms(call: Any, inputs: list[Any], sagas: int) -> float:
    from temporalio.testing import ActivityEnvironment

    env = ActivityEnvironment()
    began = time.thread_time()
    for argument in inputs:
        await env.run(call, argument)
    return (time.thread_time() - began) / sagas * 1000


async def run(folder: Path, repeats: int, runner: str) -> dict[str, Any]:
    import httpx

    workflow = await workflow_tasks(folder, repeats, runner)
    async with httpx.AsyncClient(timeout=None, follow_redirects=False) as http:
        activities = await activity_calls(folder, repeats, http)
    return {"workflow_tasks": workflow, "activities": activities}


async def activity_calls(folder: Path, repeats: int, http: Any) -> dict[str, Any]:
    histories = {kind: load(folder, kind) for kind in KINDS}
    inputs = {kind: activity_inputs(kind, histories[kind]) for kind in KINDS}
    calls = {kind: activity(kind, http) for kind in KINDS}
    for kind in KINDS:  # warm-up: connections, imports, compiled expressions
        await activity_cpu_ms(calls[kind], inputs[kind][:10], 1)
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(repeats):
        for kind in KINDS:
            runs[kind].append(
                await activity_cpu_ms(calls[kind], inputs[kind], len(histories[kind]))
            )
    return _summary(runs, {kind: len(inputs[kind]) for kind in KINDS}, "calls")


def _summary(runs: dict[str, list[float]], counts: dict[str, int], unit: str) -> dict[str, Any]:
    medians = {kind: statistics.median(values) for kind, values in runs.items()}
    return {
        unit: counts,
        "cpu_ms_per_saga": medians,
        "ratio_dsl_vs_handwritten": medians["dsl"] / medians["handwritten"],
        "runs": runs,
    }


async def workflow_tasks(folder: Path, repeats: int, runner: str) -> dict[str, Any]:
    engines = {kind: replayer(kind, runner) for kind in KINDS}
    histories = {kind: load(folder, kind) for kind in KINDS}
    for kind in KINDS:  # warm-up: first imports
        await cpu_ms_per_history(engines[kind], histories[kind][:5])
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(repeats):
        for kind in KINDS:
            runs[kind].append(await cpu_ms_per_history(engines[kind], histories[kind]))
    return _summary(runs, {kind: len(histories[kind]) for kind in KINDS}, "histories")


def main() -> None:
    parser = argparse.ArgumentParser(description="Workflow-task CPU by replay.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runner", choices=["default", "unsandboxed"], default="default")
    parser.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    args = parser.parse_args()
    text = json.dumps(asyncio.run(run(args.folder, args.repeats, args.runner)))
    if args.out is None:
        print(text)
    else:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
