"""Interpreter overhead: bench/sagas/trip-5.yaml against bench/handwritten.py.

    python bench/bench_overhead.py [--rounds 5] [--sagas 200] [--quick] [--profile]

One dev server (the pip-installed `temporal` binary), one loopback DemoService, one
worker subprocess per variant with the same settings; the variants take turns in every
round (A B A B ...), after one warm-up round that is not counted. Per variant and round:

- throughput: `--sagas` successful sagas, `--concurrency` in flight: sagas/s, p50/p95
  end-to-end latency (start to result, as a client sees it), worker and server CPU per saga;
- compensation: `--failures` sagas whose step 4 fails (HTTP 402), so steps 3, 2, 1 are
  compensated: sagas/s and latency;
- serial: `--serial` sagas one at a time: latency without queueing;
- history: events and bytes per saga, read back from the server, and for each phase's
  first saga its bytes by event type (`history_breakdown`).

Figures are medians over rounds; ratios are DSL / hand-written. `--unsandboxed` adds
both workflows run outside Temporal's sandbox (the sandbox's cost); `--profile` samples
each worker with py-spy during an extra throughput phase. Figures go to
bench/results/overhead.json (or `--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402
from _profiling import profile_shares, spy_command, spy_on, stop  # noqa: E402
from handwritten import WORKFLOW_NAME as HANDWRITTEN_WORKFLOW  # noqa: E402
from handwritten import TripInput  # noqa: E402
from temporalio.client import Client, WorkflowFailureError  # noqa: E402

from interpreter.contract import WORKFLOW_NAME, SagaRunInput  # noqa: E402
from interpreter.dev.demo import DemoService  # noqa: E402

SAGA_FILE = h.SAGAS_DIR / "trip-5.yaml"
BASELINE = "handwritten"
COMPENSATED = {"SagaCompensated"}
AMOUNT = 120
SAMPLE_INPUT = {"trip_id": "t-1", "traveller": "ada", "amount": AMOUNT}


@dataclass
class Variant:
    """One worker under test and how to start its workflow."""

    name: str
    kind: str
    runner: str
    task_queue: str
    experiment: str | None = None
    """A named change to the DSL worker (worker_runner.py's EXPERIMENTS), profiling only."""
    worker: h.WorkerProcess | None = None

    @property
    def baseline(self) -> str:
        """The variant this one is measured against (itself for the baselines)."""
        if self.kind == BASELINE and self.runner == "default" and self.experiment is None:
            return BASELINE
        return BASELINE if self.runner == "default" else f"{BASELINE}-{self.runner}"


class Driver:
    """Starts sagas of either variant against a given DemoService and times them."""

    def __init__(self, client: Client, definition: dict[str, Any]) -> None:
        self.client = client
        self.definition = definition
        self.ids: dict[str, list[str]] = {}
        """The latest throughput phase's saga ids, per variant (for replay)."""

    def starter(self, variant: Variant, service: DemoService) -> Callable[[str], Awaitable[Any]]:
        if variant.kind == "dsl":
            snapshot = h.with_service_urls(self.definition, service.url)
            digest = h.definition_hash(snapshot)

            def start_dsl(wid: str) -> Awaitable[Any]:
                # As a client sends it (`saga run`, the gateway): the compact form.
                arg = SagaRunInput(snapshot, {**SAMPLE_INPUT, "trip_id": wid}, digest).compact()
                return self.client.start_workflow(
                    WORKFLOW_NAME, arg, id=wid, task_queue=variant.task_queue
                )

            return start_dsl

        def start_handwritten(wid: str) -> Awaitable[Any]:
            arg = TripInput(service.url, wid, "ada", AMOUNT)
            return self.client.start_workflow(
                HANDWRITTEN_WORKFLOW, arg, id=wid, task_queue=variant.task_queue
            )

        return start_handwritten

    async def batch(
        self, variant: Variant, service: DemoService, count: int, limit: int, fails: bool
    ) -> dict[str, Any]:
        """Run `count` sagas, `limit` at a time; wall time, latencies, CPU, sample ids."""
        start = self.starter(variant, service)
        # Ids and task queues of one length for every variant: both are written into the
        # history (the id into requests and idempotency keys too), so bytes compare fairly.
        ids = [f"s-{uuid.uuid4().hex[:16]}" for _ in range(count)]
        latencies: list[float] = []

        async def one(wid: str) -> None:
            began = h.now()
            handle = await start(wid)
            await _outcome(handle, fails)
            latencies.append(h.now() - began)

        assert variant.worker is not None
        cpu = _cpu_marks(variant.worker)
        began = h.now()
        await h.bounded(limit, [lambda wid=wid: one(wid) for wid in ids])
        wall = h.now() - began
        if limit > 1 and not fails:
            self.ids[variant.name] = ids
        worker_cpu, server_cpu = (
            after - before for before, after in zip(cpu, _cpu_marks(variant.worker), strict=True)
        )
        return {
            "sagas": count,
            "wall_s": wall,
            "sagas_per_s": count / wall,
            "p50_ms": h.percentile(latencies, 50) * 1000,
            "p95_ms": h.percentile(latencies, 95) * 1000,
            "worker_cpu_ms_per_saga": worker_cpu / count * 1000,
            "server_cpu_ms_per_saga": server_cpu / count * 1000,
            "ids": ids[:3],
        }


def _cpu_marks(worker: h.WorkerProcess) -> tuple[float, float]:
    server = h.dev_server_meter()
    return worker.meter.cpu_seconds(), server.cpu_seconds() if server else 0.0


async def _outcome(handle: Any, fails: bool) -> None:
    try:
        await handle.result()
    except WorkflowFailureError as error:
        kind = getattr(error.cause, "type", None)
        if not fails or kind not in COMPENSATED:
            raise SystemExit(
                f"Error: saga {handle.id} failed unexpectedly: {error.cause}"
            ) from None
        return
    if fails:
        raise SystemExit(f"Error: saga {handle.id} completed but was meant to be compensated")


async def measure_round(
    driver: Driver, variant: Variant, services: dict[str, DemoService], args: argparse.Namespace
) -> dict[str, Any]:
    ok, failing = services["ok"], services["failing"]
    figures = {
        "throughput": await driver.batch(variant, ok, args.sagas, args.concurrency, False),
        "compensation": await driver.batch(variant, failing, args.failures, args.concurrency, True),
        "serial": await driver.batch(variant, ok, args.serial, 1, False),
    }
    _check_compensated(failing)
    for phase in ("throughput", "compensation"):
        ids = figures[phase].pop("ids")
        samples = [await h.history_figures(driver.client, wid) for wid in ids]
        sample = ids[0]
        figures[phase]["history"] = {key: h.median([s[key] for s in samples]) for key in samples[0]}
        figures[phase]["history_breakdown"] = await h.history_breakdown(driver.client, sample)
    figures["serial"].pop("ids")
    ok.reset()
    failing.reset()
    _fail_step_four(failing)
    return figures


def _check_compensated(failing: DemoService) -> None:
    left = {name: items for name, items in failing.resources.items() if name != "payments"}
    if any(left.values()):
        raise SystemExit(f"Error: compensation left resources behind: {left}")


def _fail_step_four(service: DemoService) -> None:
    service.fail(method="POST", path_prefix="/payments", status=402, times=None)


METRICS = {
    "throughput_sagas_per_s": ("throughput", "sagas_per_s"),
    "p50_ms": ("throughput", "p50_ms"),
    "p95_ms": ("throughput", "p95_ms"),
    "serial_p50_ms": ("serial", "p50_ms"),
    "serial_p95_ms": ("serial", "p95_ms"),
    "compensation_sagas_per_s": ("compensation", "sagas_per_s"),
    "compensation_p50_ms": ("compensation", "p50_ms"),
    "compensation_p95_ms": ("compensation", "p95_ms"),
    "worker_cpu_ms_per_saga": ("throughput", "worker_cpu_ms_per_saga"),
    "server_cpu_ms_per_saga": ("throughput", "server_cpu_ms_per_saga"),
}
HISTORY = {
    "events_success": ("throughput", "events"),
    "events_compensation": ("compensation", "events"),
    "history_bytes_success": ("throughput", "history_bytes"),
    "history_bytes_compensation": ("compensation", "history_bytes"),
}


def summarize(rounds: list[dict[str, Any]], variants: list[Variant]) -> dict[str, Any]:
    """Medians over rounds per variant; ratios against the baseline, round by round.

    A ratio is the median of the rounds' own ratios (each DSL phase against the baseline
    phase next to it), so load that drifts between rounds cancels out.
    """
    medians: dict[str, dict[str, float]] = {}
    for variant in variants:
        rows = [r[variant.name] for r in rounds]
        medians[variant.name] = {
            key: h.median([row[phase][field] for row in rows])
            for key, (phase, field) in METRICS.items()
        }
        for key, (phase, field) in HISTORY.items():
            medians[variant.name][key] = h.median([row[phase]["history"][field] for row in rows])
    ratios: dict[str, dict[str, Any]] = {}
    pairs = [(v.name, v.name, v.baseline) for v in variants if v.name != v.baseline]
    # The DSL against each changed baseline too (`--baseline-experiment`).
    pairs += [
        (f"dsl vs {v.name}", "dsl", v.name)
        for v in variants
        if v.kind == BASELINE and v.experiment is not None
    ]
    for label, name, baseline in pairs:
        paired = {
            key: [r[name][phase][field] / r[baseline][phase][field] for r in rounds]
            for key, (phase, field) in METRICS.items()
        }
        ratios[label] = {key: h.median(values) for key, values in paired.items()}
        for key in HISTORY:
            ratios[label][key] = medians[name][key] / medians[baseline][key]
        ratios[label]["per_round_throughput_ratios"] = paired["throughput_sagas_per_s"]
        ratios[label]["per_round_worker_cpu_ratios"] = paired["worker_cpu_ms_per_saga"]
    return {"medians": medians, "ratios_vs_handwritten": ratios}


def targets(summary: dict[str, Any]) -> dict[str, Any]:
    """The performance issue's targets for this benchmark, each against the hand-written
    baseline with the SDK's default settings."""
    dsl, base = summary["medians"]["dsl"], summary["medians"][BASELINE]
    ratios = summary["ratios_vs_handwritten"]["dsl"]
    cpu = ratios["worker_cpu_ms_per_saga"]
    throughput = ratios["throughput_sagas_per_s"]
    compensation = ratios["compensation_sagas_per_s"]
    events = {kind: dsl[f"events_{kind}"] - base[f"events_{kind}"] for kind in KINDS}
    history = {kind: dsl[f"history_bytes_{kind}"] / base[f"history_bytes_{kind}"] for kind in KINDS}
    return {
        "worker_cpu_at_most_1.0x": {"value": cpu, "met": cpu <= 1.0},
        "history_bytes_at_most_1.3x": {**history, "met": max(history.values()) <= 1.3},
        "events_at_most_handwritten_plus_1": {**events, "met": max(events.values()) <= 1},
        "throughput_at_least_1.0x": {"value": throughput, "met": throughput >= 1.0},
        "compensation_throughput_at_least_0.95x": {
            "value": compensation,
            "met": compensation >= 0.95,
        },
    }


KINDS = ("success", "compensation")
"""A completed saga (the throughput phase) and a compensated one."""


def report(summary: dict[str, Any], goals: dict[str, Any]) -> None:
    medians = summary["medians"]
    names = list(medians)
    print(f"\n{'median over rounds':30}" + "".join(f"{n:>24}" for n in names))
    for key in medians[names[0]]:
        print(f"{key:30}" + "".join(f"{medians[n][key]:24.2f}" for n in names))
    for name, ratios in summary["ratios_vs_handwritten"].items():
        print(f"\nratios {name} / its hand-written baseline:")
        for key, value in ratios.items():
            shown = (
                ", ".join(f"{v:.3f}" for v in value) if isinstance(value, list) else f"{value:.3f}"
            )
            print(f"  {key:32} {shown}")
    for goal, state in goals.items():
        print(f"target {goal}: {'met' if state['met'] else 'NOT met'} ({state})")


async def profile(
    driver: Driver,
    variants: list[Variant],
    services: dict[str, DemoService],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Sample each worker with py-spy during one more throughput phase."""
    found = {}
    for variant in variants:
        assert variant.worker is not None
        folded = args.profile_dir / f"worker-{variant.name}.txt"
        spy = spy_on(variant.worker.meter.pid, folded)
        await asyncio.sleep(1.0)  # py-spy attaches
        await driver.batch(variant, services["ok"], args.sagas, args.concurrency, False)
        stop(spy)
        services["ok"].reset()
        found[variant.name] = profile_shares(folded)
    return found


async def replay(driver: Driver, args: argparse.Namespace, runners: list[str]) -> dict[str, Any]:
    """The workflow task's CPU alone: the last round's histories replayed (replay_cost.py)."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("dsl", BASELINE):
            for n, wid in enumerate(driver.ids[kind][: args.replay_histories]):
                history = await driver.client.get_workflow_handle(wid).fetch_history()
                Path(tmp, f"{kind}-{n:04d}.json").write_text(history.to_json())
        for runner in runners:
            out = Path(tmp, f"replay-{runner}.json")
            command = [sys.executable, str(h.BENCH_DIR / "replay_cost.py"), tmp, "--out", str(out)]
            command += ["--repeats", str(args.replay_repeats), "--runner", runner]
            folded = args.profile_dir / f"replay-{runner}.txt" if args.profile else None
            _replay_process(command, folded, not args.no_bytecode_cache)
            found[runner] = json.loads(out.read_text())
            if folded is not None:
                found[runner]["profile"] = profile_shares(folded)
    return found


def _replay_process(command: list[str], folded: Path | None, bytecode_cache: bool) -> None:
    if folded is not None:
        command = spy_command(folded) + command
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=h.ROOT, env=h.child_env(bytecode_cache)
    )
    if done.returncode != 0:
        raise SystemExit(f"Error: replay failed: {done.stderr.strip()[-2000:]}")


def _queue() -> str:
    return f"bench-{uuid.uuid4().hex[:16]}"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    definition = h.load_definition(SAGA_FILE)
    runners = ["default", "unsandboxed"] if args.unsandboxed else ["default"]
    variants = [
        Variant(
            f"{kind}{'' if runner == 'default' else '-' + runner}",
            kind,
            runner,
            _queue(),
        )
        for runner in runners
        for kind in ("dsl", BASELINE)
    ]
    for name in args.experiment:
        variants.insert(1, Variant(f"dsl-{name}", "dsl", "default", _queue(), name))
    for name in args.baseline_experiment:
        variants.append(Variant(f"{BASELINE}-{name}", BASELINE, "default", _queue(), name))
    async with h.dev_server() as env:
        address = env.client.service_client.config.target_host
        with DemoService("ok").start() as ok, DemoService("failing").start() as failing:
            _fail_step_four(failing)
            services = {"ok": ok, "failing": failing}
            driver = Driver(env.client, definition)
            for variant in variants:
                variant.worker = h.WorkerProcess(
                    variant.kind,
                    address,
                    variant.task_queue,
                    runner=variant.runner,
                    experiment=variant.experiment,
                    bytecode_cache=not args.no_bytecode_cache,
                    max_concurrent_activities=args.max_concurrent_activities,
                    max_concurrent_workflow_tasks=args.max_concurrent_workflow_tasks,
                ).start()
            try:
                return await _measure(driver, variants, services, args)
            finally:
                for variant in variants:
                    if variant.worker is not None:
                        variant.worker.stop()


async def _measure(
    driver: Driver,
    variants: list[Variant],
    services: dict[str, DemoService],
    args: argparse.Namespace,
) -> dict[str, Any]:
    for variant in variants:  # warm-up: imports, sandbox, connections
        await measure_round(driver, variant, services, args)
    rounds = []
    for number in range(args.rounds):
        row = {}
        for variant in variants:
            row[variant.name] = await measure_round(driver, variant, services, args)
        rounds.append(row)
        print(
            f"round {number + 1}/{args.rounds}: "
            + ", ".join(f"{n} {r['throughput']['sagas_per_s']:.1f}/s" for n, r in row.items()),
            flush=True,
        )
    summary = summarize(rounds, variants)
    figures: dict[str, Any] = {"rounds": rounds, **summary, "targets": targets(summary)}
    figures["worker_peak_rss_mib"] = {
        v.name: v.worker.meter.peak_rss_mib() for v in variants if v.worker
    }
    h.write_results(args.out, h.command_line(), figures)  # kept if a later phase fails
    if args.profile:
        figures["profile"] = await profile(driver, variants, services, args)
    runners = sorted({v.runner for v in variants})
    figures["replay"] = await replay(driver, args, runners)
    for runner, row in figures["replay"].items():
        for part in ("workflow_tasks", "activities"):
            print(f"{part} ({runner}), CPU ms per saga: {row[part]['cpu_ms_per_saga']}")
    return figures


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Interpreter overhead against hand-written.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sagas", type=int, default=200, help="sagas per throughput phase")
    parser.add_argument("--failures", type=int, default=60, help="sagas per compensation phase")
    parser.add_argument("--serial", type=int, default=20, help="sagas run one at a time")
    parser.add_argument("--concurrency", type=int, default=20, help="sagas in flight")
    parser.add_argument("--max-concurrent-activities", type=int, default=100)
    parser.add_argument("--max-concurrent-workflow-tasks", type=int, default=100)
    parser.add_argument("--unsandboxed", action="store_true", help="add unsandboxed variants")
    parser.add_argument(
        "--experiment",
        action="append",
        default=[],
        help="add a DSL worker changed by this named experiment (see worker_runner.py)",
    )
    parser.add_argument(
        "--baseline-experiment",
        action="append",
        default=[],
        help="add a hand-written worker changed by this named experiment (see worker_runner.py)",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy each worker afterwards")
    parser.add_argument("--profile-dir", type=Path, help="keep py-spy's folded stacks here")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="workers without cached bytecode (PYTHONDONTWRITEBYTECODE=1, no .pyc)",
    )
    parser.add_argument("--replay-histories", type=int, default=100, help="histories replayed")
    parser.add_argument("--replay-repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--out", type=Path, default=h.RESULTS_DIR / "overhead.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.sagas, args.failures, args.serial, args.concurrency = 1, 4, 2, 2, 2
        args.replay_histories, args.replay_repeats = 3, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        args.profile_dir = args.profile_dir or Path(tmp)
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        figures = asyncio.run(run(args))
    report(figures, figures["targets"])
    h.write_results(args.out, h.command_line(), figures)


if __name__ == "__main__":
    main()
