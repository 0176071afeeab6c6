"""Long sagas: how long each workflow task takes at 1,000 steps (or more).

    python bench/bench_long.py [--steps 1000] [--shapes chain,fan-out] [--quick]

For each shape (a chain of `--steps` steps; one step then `--steps` steps depending on
it alone) the saga runs twice on a dev server, against a DemoService in another thread:
to COMPLETED, and to COMPENSATED (its last step fails). From each history: the longest
workflow task (WORKFLOW_TASK_STARTED to WORKFLOW_TASK_COMPLETED, server clock: the
workflow's code, the SDK, the server writing the task's commands), the wait between a
task being scheduled and started at the beginning and the end of the run, and, replaying
the history in the worker's sandbox, the CPU time of the costliest activation (what the
SDK's 2 s deadlock detector watches, without the neighbours' load) and the CPU of all
activations per step (run it at 10, 100 and 1,000 steps for the curve).
Figures go to bench/results/long.json (or `--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402
import httpx  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowFailureError  # noqa: E402

from dsl import Saga  # noqa: E402
from interpreter.contract import WORKFLOW_NAME, SagaRunInput  # noqa: E402
from interpreter.dev.demo import DemoService  # noqa: E402
from interpreter.worker._replay import activation_cpu_times  # noqa: E402
from interpreter.worker._worker import build_worker  # noqa: E402

FAST = {"max_attempts": 2, "initial_interval": "50ms", "max_interval": "50ms"}


def _step(url: str, name: str, **keys: Any) -> dict[str, Any]:
    return {
        "name": name,
        "action": {"url": f"{url}/{name}", "method": "POST", "idempotency_key": False},
        "compensation": {"url": f"{url}/undo/{name}", "method": "PUT", "idempotency_key": False},
        **keys,
    }


def saga(shape: str, steps: int, url: str) -> dict[str, Any]:
    if shape == "chain":
        body = [_step(url, f"s{i}") for i in range(steps)]
    else:
        body = [_step(url, "hub")] + [_step(url, f"s{i}", after=["hub"]) for i in range(steps)]
    defaults = {"timeout": "5s", "retry": FAST, "compensation": {"retry": FAST}}
    return {"version": 1, "name": shape, "defaults": defaults, "steps": body}


async def run_one(client: Client, queue: str, definition: dict[str, Any]) -> dict[str, Any]:
    snapshot = Saga.model_validate(definition).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    began = time.perf_counter()
    handle = await client.start_workflow(
        WORKFLOW_NAME,
        SagaRunInput(definition=snapshot),
        id=f"long-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    try:
        await handle.result()
        outcome = "COMPLETED"
    except WorkflowFailureError as error:
        outcome = str(getattr(error.cause, "type", "failed"))
    wall = time.perf_counter() - began
    history = await handle.fetch_history()
    figures = _task_figures(history)
    times = await activation_cpu_times(history)
    return {
        "outcome": outcome,
        "wall_s": round(wall, 1),
        "events": len(history.events),
        **figures,
        "costliest_activation_cpu_s": round(max(times), 3),
        "activations": len(times),
        # Every activation's CPU (workflow code and SDK, sandboxed replay) per step: flat
        # when the interpreter's cost per step does not grow with the saga's length.
        "replay_cpu_ms_per_step": round(sum(times) * 1000 / len(definition["steps"]), 3),
    }


def _task_figures(history: Any) -> dict[str, Any]:
    at: dict[int, float] = {}
    tasks: list[float] = []
    waits: list[float] = []
    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        at[event.event_id] = event.event_time.ToDatetime().timestamp()
        if kind == "WORKFLOW_TASK_STARTED":
            scheduled = event.workflow_task_started_event_attributes.scheduled_event_id
            waits.append(at[event.event_id] - at[scheduled])
        elif kind == "WORKFLOW_TASK_COMPLETED":
            started = event.workflow_task_completed_event_attributes.started_event_id
            tasks.append(at[event.event_id] - at[started])
    tenth = max(len(waits) // 10, 1)
    return {
        "workflow_tasks": len(tasks),
        "longest_task_s": round(max(tasks), 3),
        "median_task_s": round(statistics.median(tasks), 4),
        "schedule_to_start_first_tenth_ms": round(statistics.median(waits[:tenth]) * 1000, 1),
        "schedule_to_start_last_tenth_ms": round(statistics.median(waits[-tenth:]) * 1000, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--shapes", default="chain,fan-out")
    parser.add_argument("--quick", action="store_true", help="20 steps")
    parser.add_argument("--out", type=Path, default=h.RESULTS_DIR / "long.json")
    args = parser.parse_args()
    steps = 20 if args.quick else args.steps
    results: dict[str, Any] = {"steps": steps}
    async with h.dev_server() as env, httpx.AsyncClient(timeout=None) as http:
        for shape in args.shapes.split(","):
            with DemoService("long").start() as svc:
                queue = f"long-{uuid.uuid4().hex[:8]}"
                # Activity slots as in the tests: the service shares this process's GIL.
                worker = build_worker(
                    env.client, queue, http_client=http, max_concurrent_activities=20
                )
                async with worker:
                    completed = await run_one(env.client, queue, saga(shape, steps, svc.url))
                    last = f"s{steps - 1}"
                    svc.fail("POST", f"/{last}", status=400, times=None)
                    undone = await run_one(env.client, queue, saga(shape, steps, svc.url))
            results[shape] = {"completed": completed, "compensated": undone}
            print(shape, results[shape])
    h.write_results(args.out, h.command_line(), results)


if __name__ == "__main__":
    asyncio.run(main())
