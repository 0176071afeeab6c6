"""Scale: long sequences, wide fan-outs, many sagas at once, big outputs.

    python bench/bench_scale.py [--steps 200] [--width 50] [--concurrent 500] [--quick]

Every scenario gets a fresh worker subprocess (the project's `build_worker`, SDK default
slots), so its peak RSS (VmHWM) is the scenario's own. Scenarios:

- sequence: a `--steps` step sequence, each step reading the previous one's output;
  once to completion, once failing at the last step (every other step compensated);
- fanout: one step, `--width` steps after it at once, one step joining them; every
  call answered 100 ms late, so running the branches one by one would show;
- concurrent: `--concurrent` 5-step sagas started at once on one worker, with the
  hand-written workflow of bench/handwritten.py as the baseline, same settings;
- outputs: steps whose output is a large response body, and a saga output that gathers
  them, below and above Temporal's 2 MB payload limit: what the interpreter does.

Ratios: per-step time of the long sequence against the 5-step saga's (growth with
length), fan-out wall time against one step's, concurrent throughput against the
hand-written baseline. History events, history bytes and the largest payload are read
back from the server and set against Temporal's limits to say where the first limit is
hit. Figures go to bench/results/scale.json (or `--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402
from generated import fanout_saga, outputs_saga, sequence_saga, write_saga  # noqa: E402
from handwritten import WORKFLOW_NAME as HANDWRITTEN_WORKFLOW  # noqa: E402
from handwritten import TripInput  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError  # noqa: E402

from interpreter.contract import WORKFLOW_NAME, SagaRunInput  # noqa: E402
from interpreter.dev.demo import DemoService  # noqa: E402

# Temporal's defaults (server dynamic config): a warning, then an error that ends the run.
LIMITS = {
    "history_events_warn": 10_240,
    "history_events_error": 51_200,
    "history_bytes_warn": 10 * 2**20,
    "history_bytes_error": 50 * 2**20,
    "payload_bytes_warn": 512 * 2**10,
    "payload_bytes_error": 2 * 2**20,
}
CALL_DELAY_S = 0.1
TRIP_INPUT = {"trip_id": "t-1", "traveller": "ada", "amount": 120}


# --- running ----------------------------------------------------------------------------


class Scale:
    """One dev server, one DemoService; a fresh worker per scenario."""

    def __init__(self, client: Client, address: str, service: DemoService, folder: Path) -> None:
        self.client, self.address, self.service, self.folder = client, address, service, folder

    def worker(self, kind: str = "dsl") -> tuple[h.WorkerProcess, str]:
        queue = f"scale-{kind}-{uuid.uuid4().hex[:8]}"
        return h.WorkerProcess(kind, self.address, queue).start(), queue

    def definition(self, saga: dict[str, Any]) -> dict[str, Any]:
        snapshot = h.load_definition(write_saga(self.folder, saga))
        return h.with_service_urls(snapshot, self.service.url)

    async def run_one(
        self, definition: dict[str, Any], queue: str, data: Any = None, timeout: float = 600
    ) -> dict[str, Any]:
        """One saga to its end: wall time, end state, history figures."""
        wid = f"{definition['name']}-{uuid.uuid4().hex[:8]}"
        arg = SagaRunInput(definition, data, h.definition_hash(definition))
        began = h.now()
        handle = await self.client.start_workflow(WORKFLOW_NAME, arg, id=wid, task_queue=queue)
        outcome = await _outcome(handle, timeout)
        wall = h.now() - began
        figures = await h.history_figures(self.client, wid)
        return {"wall_s": wall, "outcome": outcome, "workflow_id": wid, **figures}


async def _outcome(handle: Any, timeout: float) -> str:
    try:
        await asyncio.wait_for(handle.result(), timeout)
        return "COMPLETED"
    except WorkflowFailureError as error:
        kind = getattr(error.cause, "type", None) or type(error.cause).__name__
        return f"failed: {kind}: {error.cause}"
    except TimeoutError:
        description = await handle.describe()
        return f"not finished after {timeout:.0f}s (status {description.status.name})"


async def sequence(scale: Scale, steps: int, repeats: int) -> dict[str, Any]:
    base_def = scale.definition(sequence_saga(5))
    long_def = scale.definition(sequence_saga(steps))
    worker, queue = scale.worker()
    try:
        await scale.run_one(base_def, queue)  # warm-up
        base, base_cpu = await _timed_runs(scale, worker, base_def, queue, repeats)
        long, long_cpu = await _timed_runs(scale, worker, long_def, queue, repeats)
        timing = await step_timing(scale.client, long[0]["workflow_id"])
        failing = await _fail_last(scale, long_def, queue, steps)
        peak = worker.meter.peak_rss_mib()
    finally:
        worker.stop()
    per_step_base = h.median([r["wall_s"] for r in base]) / 5
    per_step_long = h.median([r["wall_s"] for r in long]) / steps
    return {
        "steps": steps,
        "five_step_baseline": _medians(base),
        "completed": _medians(long),
        "compensated": failing,
        "ms_per_step_5": per_step_base * 1000,
        "ms_per_step_long": per_step_long * 1000,
        "ratio_per_step_long_vs_5": per_step_long / per_step_base,
        "worker_cpu_ms_per_step_5": base_cpu / 5,
        "worker_cpu_ms_per_step_long": long_cpu / steps,
        "step_timing_long": timing,
        "definition_bytes": len(json.dumps(long_def, separators=(",", ":"))),
        "worker_peak_rss_mib": peak,
    }


async def _timed_runs(
    scale: Scale, worker: h.WorkerProcess, definition: dict[str, Any], queue: str, repeats: int
) -> tuple[list[dict[str, Any]], float]:
    """`repeats` runs one after another, and the worker's CPU ms per run."""
    cpu = worker.meter.cpu_seconds()
    runs = [await scale.run_one(definition, queue) for _ in range(repeats)]
    return runs, (worker.meter.cpu_seconds() - cpu) / repeats * 1000


async def step_timing(client: Client, workflow_id: str) -> dict[str, Any]:
    """Where a step's time goes, early in the saga and late: the activity (scheduled to
    completed) and the workflow's turn (one completed to the next scheduled)."""
    scheduled, completed = [], []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        at = event.event_time.ToDatetime().timestamp() * 1000
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled.append(at)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed.append(at)
    activity = [done - start for start, done in zip(scheduled, completed, strict=False)]
    turn = [nxt - done for done, nxt in zip(completed, scheduled[1:], strict=False)]
    tenth = max(1, len(turn) // 10)
    return {
        "activity_ms_first_tenth": h.median(activity[:tenth]),
        "activity_ms_last_tenth": h.median(activity[-tenth:]),
        "workflow_turn_ms_first_tenth": h.median(turn[:tenth]),
        "workflow_turn_ms_last_tenth": h.median(turn[-tenth:]),
    }


async def _fail_last(
    scale: Scale, definition: dict[str, Any], queue: str, steps: int
) -> dict[str, Any]:
    """The same sequence with its last step failing (HTTP 400): steps - 1 compensations."""
    broken = json.loads(json.dumps(definition))
    broken["steps"][-1]["action"]["path"] = "/broken"
    scale.service.fail(method="POST", path_prefix="/broken", status=400, times=None)
    result = await scale.run_one(broken, queue)
    scale.service.reset()
    return result


def _medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in rows[0].items() if isinstance(v, int | float)]
    figures: dict[str, Any] = {k: h.median([row[k] for row in rows]) for k in keys}
    figures["outcomes"] = sorted({row["outcome"] for row in rows})
    return figures


async def fanout(scale: Scale, width: int, repeats: int) -> dict[str, Any]:
    """The fan-out against a one-step saga, every call answered 100 ms late: if the
    branches run at once, the fan-out takes about three calls' time (start, branches,
    join), not `width + 2`."""
    one_def = scale.definition(sequence_saga(1))
    wide_def = scale.definition(fanout_saga(width))
    worker, queue = scale.worker()
    try:
        await scale.run_one(one_def, queue)
        scale.service.delay(CALL_DELAY_S)
        single = [await scale.run_one(one_def, queue) for _ in range(repeats)]
        wide = []
        for _ in range(repeats):
            scale.service.reset()
            scale.service.delay(CALL_DELAY_S)
            result = await scale.run_one(wide_def, queue)
            result["max_in_flight"] = _max_in_flight(scale.service, "/parts")
            result["max_scheduled_at_once"] = await _max_scheduled(scale.client, result)
            wide.append(result)
        scale.service.reset()
        peak = worker.meter.peak_rss_mib()
    finally:
        worker.stop()
    one, many = h.median([r["wall_s"] for r in single]), h.median([r["wall_s"] for r in wide])
    return {
        "width": width,
        "call_delay_s": CALL_DELAY_S,
        "one_step_baseline": _medians(single),
        "fanout": _medians(wide),
        "ratio_wall_vs_one_step": many / one,
        "worker_peak_rss_mib": peak,
    }


async def _max_scheduled(client: Client, result: dict[str, Any]) -> int:
    """The most activities one workflow task scheduled (the fan-out, if it is one)."""
    handle = client.get_workflow_handle(result["workflow_id"])
    most = current = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            current += 1
            most = max(most, current)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            current = 0
    return most


def _max_in_flight(service: DemoService, prefix: str) -> int:
    """How many requests under `prefix` the service was answering at the same time."""
    marks = []
    for record in service.requests:
        if record.path.startswith(prefix) and record.end_time is not None:
            marks += [(record.time, 1), (record.end_time, -1)]
    peak = current = 0
    for _, step in sorted(marks):
        current += step
        peak = max(peak, current)
    return peak


async def concurrent(scale: Scale, count: int, trip_file: Path) -> dict[str, Any]:
    snapshot = h.with_service_urls(h.load_definition(trip_file), scale.service.url)
    rows = {}
    for kind in ("handwritten", "dsl"):
        worker, queue = scale.worker(kind)
        try:
            await _burst(scale, kind, snapshot, queue, 5)  # warm-up
            cpu = worker.meter.cpu_seconds()
            rows[kind] = await _burst(scale, kind, snapshot, queue, count)
            rows[kind]["worker_cpu_ms_per_saga"] = (worker.meter.cpu_seconds() - cpu) / count * 1000
            rows[kind]["worker_peak_rss_mib"] = worker.meter.peak_rss_mib()
        finally:
            worker.stop()
        scale.service.reset()
    dsl, base = rows["dsl"], rows["handwritten"]
    return {
        "sagas": count,
        **rows,
        "ratio_throughput_dsl_vs_handwritten": dsl["sagas_per_s"] / base["sagas_per_s"],
        "ratio_peak_rss_dsl_vs_handwritten": dsl["worker_peak_rss_mib"]
        / base["worker_peak_rss_mib"],
    }


async def _burst(
    scale: Scale, kind: str, snapshot: dict[str, Any], queue: str, count: int
) -> dict[str, Any]:
    """Start `count` sagas at once and wait for all of them."""
    latencies: list[float] = []

    async def one(index: int) -> None:
        wid = f"burst-{kind}-{uuid.uuid4().hex[:10]}"
        data = {**TRIP_INPUT, "trip_id": wid}
        if kind == "dsl":
            arg: Any = SagaRunInput(snapshot, data, h.definition_hash(snapshot))
            name = WORKFLOW_NAME
        else:
            arg, name = TripInput(scale.service.url, wid, "ada", 120), HANDWRITTEN_WORKFLOW
        began = h.now()
        handle = await scale.client.start_workflow(name, arg, id=wid, task_queue=queue)
        await handle.result()
        latencies.append(h.now() - began)

    began = h.now()
    await asyncio.gather(*(one(i) for i in range(count)))
    wall = h.now() - began
    return {
        "wall_s": wall,
        "sagas_per_s": count / wall,
        "p50_ms": h.percentile(latencies, 50) * 1000,
        "p95_ms": h.percentile(latencies, 95) * 1000,
    }


async def outputs(scale: Scale, cases: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """Each case: (body kind, steps, body bytes). 'ascii' bodies are JSON of that size;
    'non_ascii' ones are text of 'é' (2 bytes in UTF-8, 6 once JSON-escaped)."""
    worker, queue = scale.worker()
    found = []
    try:
        for kind, count, size in cases:
            path = "/_big" if kind == "ascii" else "/accents"
            if kind != "ascii":
                body = "\u00e9" * (size // 2)
                scale.service.fail(
                    method="GET", path_prefix=path, status=200, body=body, times=None
                )
            definition = scale.definition(outputs_saga(count, size, path))
            result = await scale.run_one(definition, queue, timeout=30)
            result["stuck_on"] = await _task_failure(scale.client, result.pop("workflow_id"))
            found.append({"body": kind, "steps": count, "body_bytes": size, **result})
            scale.service.reset()
    finally:
        worker.stop()
    return found


async def _task_failure(client: Client, workflow_id: str) -> str | None:
    """The last workflow or activity task failure of a run that did not finish; ends it."""
    handle = client.get_workflow_handle(workflow_id)
    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
        return None
    message = None
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            message = event.workflow_task_failed_event_attributes.failure.message
    await handle.terminate("benchmark: stuck past a payload limit")
    return message


def limits_analysis(seq: dict[str, Any]) -> dict[str, Any]:
    """Extrapolate the sequence's per-step growth to Temporal's limits."""
    n = seq["steps"]
    analysis: dict[str, Any] = {"limits": LIMITS}
    for path in ("completed", "compensated"):
        row = seq[path]
        events_per_step = row["events"] / n
        bytes_per_step = row["history_bytes"] / n
        analysis[path] = {
            "events_per_step": events_per_step,
            "history_bytes_per_step": bytes_per_step,
            "steps_to_events_warn": int(LIMITS["history_events_warn"] / events_per_step),
            "steps_to_events_error": int(LIMITS["history_events_error"] / events_per_step),
            "steps_to_history_bytes_error": int(LIMITS["history_bytes_error"] / bytes_per_step),
        }
    # The run's input (the definition snapshot) is its largest payload; it grows per step.
    input_per_step = seq["completed"]["largest_payload_bytes"] / n
    analysis["input_payload_bytes_per_step"] = input_per_step
    analysis["steps_to_input_payload_warn"] = int(LIMITS["payload_bytes_warn"] / input_per_step)
    analysis["steps_to_input_payload_error"] = int(LIMITS["payload_bytes_error"] / input_per_step)
    return analysis


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with h.dev_server() as env:
        address = env.client.service_client.config.target_host
        with DemoService("scale").start() as service, tempfile.TemporaryDirectory() as tmp:
            scale = Scale(env.client, address, service, Path(tmp))
            figures: dict[str, Any] = {}
            if args.only == "concurrent":
                figures["concurrent"] = await concurrent(
                    scale, args.concurrent, h.SAGAS_DIR / "trip-5.yaml"
                )
                print(f"concurrent: {figures['concurrent']}", flush=True)
                return figures
            figures["sequence"] = await sequence(scale, args.steps, args.repeats)
            print(f"sequence: {figures['sequence']['completed']}", flush=True)
            figures["fanout"] = await fanout(scale, args.width, args.repeats)
            print(f"fanout: {figures['fanout']['fanout']}", flush=True)
            figures["concurrent"] = await concurrent(
                scale, args.concurrent, h.SAGAS_DIR / "trip-5.yaml"
            )
            print(f"concurrent: {figures['concurrent']}", flush=True)
            figures["outputs"] = await outputs(scale, args.output_cases)
            figures["limits"] = limits_analysis(figures["sequence"])
            return figures


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Scale of the saga interpreter.")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--width", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument(
        "--only", choices=["concurrent"], help="run only the burst of concurrent sagas"
    )
    parser.add_argument("--out", type=Path, default=h.RESULTS_DIR / "scale.json")
    args = parser.parse_args(argv)
    # (body, steps, bytes per step): 1 MB and 2.4 MB of saga output in all; then one
    # text body under the 1 MiB response limit whose JSON escaping triples it.
    args.output_cases = [("ascii", 4, 250_000), ("ascii", 4, 600_000), ("non_ascii", 1, 1_000_000)]
    if args.quick:
        args.steps, args.width, args.concurrent, args.repeats = 6, 3, 5, 1
        args.output_cases = [("ascii", 2, 1000)]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    figures = asyncio.run(run(args))
    if "limits" in figures:
        print(json.dumps({k: figures[k] for k in ("limits",)}, indent=1))
    h.write_results(args.out, h.command_line(), figures)


if __name__ == "__main__":
    main()
