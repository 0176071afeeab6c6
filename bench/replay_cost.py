"""The workflow task's CPU alone: recorded histories replayed, no server, no HTTP.

    python bench/replay_cost.py FOLDER [--repeats 5] [--runner default|unsandboxed]

FOLDER holds histories as `<kind>-<n>.json` (kind: dsl or handwritten), written by
bench_overhead.py from one of its rounds. Each kind's histories are replayed in turns,
`--repeats` times, with the same sandbox settings as its worker; the process CPU time
per history is what the worker spends in its workflow tasks for one saga: the sandbox
(a fresh module import per run), the workflow's code and the SDK's state machines.
Prints JSON. Run it under py-spy to see where that time goes.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

KINDS = ("dsl", "handwritten")


def replayer(kind: str, runner: str) -> Replayer:
    chosen: dict[str, WorkflowRunner] = {}
    if runner == "unsandboxed":
        chosen["workflow_runner"] = UnsandboxedWorkflowRunner()
    if kind == "handwritten":
        from handwritten import HandWrittenTrip

        return Replayer(workflows=[HandWrittenTrip], **chosen)
    from interpreter.worker import workflow_runner
    from interpreter.workflow import SagaWorkflow

    return Replayer(workflows=[SagaWorkflow], **({"workflow_runner": workflow_runner()} | chosen))


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


async def run(folder: Path, repeats: int, runner: str) -> dict[str, Any]:
    engines = {kind: replayer(kind, runner) for kind in KINDS}
    histories = {kind: load(folder, kind) for kind in KINDS}
    for kind in KINDS:  # warm-up: first imports
        await cpu_ms_per_history(engines[kind], histories[kind][:5])
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(repeats):
        for kind in KINDS:
            runs[kind].append(await cpu_ms_per_history(engines[kind], histories[kind]))
    medians = {kind: statistics.median(values) for kind, values in runs.items()}
    return {
        "histories": {kind: len(histories[kind]) for kind in KINDS},
        "cpu_ms_per_saga": medians,
        "ratio_dsl_vs_handwritten": medians["dsl"] / medians["handwritten"],
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Workflow-task CPU by replay.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runner", choices=["default", "unsandboxed"], default="default")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.folder, args.repeats, args.runner))))


if __name__ == "__main__":
    main()
