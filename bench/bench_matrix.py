"""The failure matrix of a generated 20-step saga: how long it takes, and where the time goes.

    python bench/bench_matrix.py [--steps 20] [--quick] [--out bench/results/matrix.json]

The saga is a chain of POST steps, each undone by a DELETE of what it made, with a
timeout, so every kind of case is made: per step a failure, a timeout, a lost answer and
a cancel; per compensation a failure; the saga's timeout; a run with no fault. The whole
matrix runs on one time-skipping test server, one case after the other, as `saga test
--matrix` runs it. Reported: the wall time, the cases, the cost per case by kind of
fault, and the test server's start, against the baseline of a run with no fault; where
the CPU went (this process: the worker, the workflow and the simulated services; the
test server's process); and why any failing case failed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import RESULTS_DIR, command_line, write_results  # noqa: E402

from dsl import Saga  # noqa: E402
from interpreter.testing import Simulator, matrix_suite, run_suite  # noqa: E402


def generated_saga(steps: int) -> Saga:
    def step(i: int) -> dict[str, Any]:
        name = f"step_{i:02d}"
        return {
            "name": name,
            "action": {"service": "svc", "method": "POST", "path": f"/{name}"},
            "output": {"id": "${ response.body.id }"},
            "compensation": {
                "service": "svc",
                "method": "DELETE",
                "path": f"/{name}/${{ steps.{name}.output.id }}",
            },
        }

    return Saga.model_validate(
        {
            "version": 1,
            "name": "generated",
            "services": {"svc": {"url": "http://svc.test"}},
            "defaults": {"timeout": "5s", "retry": {"max_attempts": 3}},
            "timeout": "10m",
            "steps": [step(i) for i in range(steps)],
        }
    )


def _children_cpu_seconds() -> float:
    """User and system CPU of this process's live child processes (the test server)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # fields[1] is the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _reason(failure: str) -> str:
    """A failure's kind: its invariant or problem, without the step names and values."""
    return re.sub(r"\b(step_\d+)\b", "STEP", failure.split(":")[0])[:80]


async def measure(steps: int) -> dict[str, Any]:
    saga = generated_saga(steps)
    suite = matrix_suite(saga, None)
    started = time.perf_counter()
    own_cpu = time.process_time()
    async with Simulator.start() as simulator:
        server_ready = time.perf_counter() - started
        await run_suite(simulator, suite)
        server_cpu = _children_cpu_seconds()
    total = time.perf_counter() - started
    own_cpu = time.process_time() - own_cpu
    reasons: dict[str, int] = {}
    for result in suite.results:
        for failure in result.failures:
            reasons[_reason(failure)] = reasons.get(_reason(failure), 0) + 1
    by_kind: dict[str, list[float]] = {}
    for result in suite.results:
        if result.status != "SKIPPED":
            by_kind.setdefault(result.case.fault.split(" ")[0], []).append(result.seconds)
    baseline = by_kind.get("none", [0.0])[0]
    ran = [r.seconds for r in suite.results if r.status != "SKIPPED"]
    return {
        "steps": steps,
        "cases": len(suite.results),
        "cases_failed": sum(not r.passed for r in suite.results),
        "wall_seconds": round(total, 2),
        "test_server_start_seconds": round(server_ready, 2),
        # Where the CPU went: this process runs the worker (workflow and activities) and
        # the simulated services; the test server is a child process.
        "cpu_seconds_this_process": round(own_cpu, 2),
        "cpu_seconds_test_server": round(server_cpu, 2),
        "failure_reasons": dict(sorted(reasons.items(), key=lambda item: -item[1])),
        "per_case_median_seconds": round(statistics.median(ran), 3),
        "per_case_max_seconds": round(max(ran), 3),
        "no_fault_run_seconds": round(baseline, 3),
        "per_kind_median_seconds": {
            kind: round(statistics.median(times), 3) for kind, times in sorted(by_kind.items())
        },
        "per_kind_vs_no_fault": {
            kind: round(statistics.median(times) / baseline, 2) if baseline else None
            for kind, times in sorted(by_kind.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a 3-step saga, for smoke tests")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "matrix.json")
    args = parser.parse_args()
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    figures = asyncio.run(measure(3 if args.quick else args.steps))
    write_results(args.out, command_line(), figures)
    print(
        f"{figures['cases']} cases of a {figures['steps']}-step saga in "
        f"{figures['wall_seconds']} s ({figures['per_case_median_seconds']} s per case)"
    )


if __name__ == "__main__":
    main()
