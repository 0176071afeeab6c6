"""How fast `saga validate` is, against check-jsonschema as the baseline.

    python bench/bench_validate.py [--steps 5000] [--files 1000] [--repeats 3]

Measures, in one run:

1. in-process: `load_and_check` of a generated saga of `--steps` steps (cold caches:
   the first call of a fresh interpreter), with the time of each stage;
2. cold start: `saga validate` on one small file in a fresh process (target < 0.3 s);
3. the big file and `--files` generated files (2 to 30 steps each), each in one
   process, with `saga validate` and with `check-jsonschema --schemafile`: the ratio
   saga / check-jsonschema (which checks the schema only; saga also loads with
   positions, builds the models and runs the semantic checks).

Figures are medians of `--repeats` runs, in wall-clock seconds (CPU seconds of the
in-process run too, since a busy machine stretches wall time). Results go to
bench/results/validate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_BIG_S = 2.0
TARGET_COLD_S = 0.3


def generated_saga(name: str, count: int, rng: random.Random) -> str:
    """A valid saga of `count` steps: services, defaults, input, a DAG, `when`, undo."""
    lines = [
        "version: 1",
        f"name: {name}",
        "input:",
        "  type: object",
        "  required: [order_id]",
        "  properties: {order_id: {type: string}, notify: {type: boolean}}",
        "services:",
        "  api: {url: 'http://localhost:9000'}",
        "defaults:",
        "  timeout: 5s",
        "  retry: {max_attempts: 3, initial_interval: 200ms}",
        "steps:",
    ]
    for i in range(count):
        after = f"[s{rng.randrange(i)}]" if i and rng.random() < 0.3 else None
        lines += [
            f"  - name: s{i}",
            *([f"    after: {after}"] if after else []),
            *(["    when: ${ input.notify }"] if rng.random() < 0.1 else []),
            "    action:",
            "      service: api",
            f"      method: {rng.choice(['POST', 'PUT', 'PATCH'])}",
            f"      path: /things/{i}",
            "      json: {order: '${ input.order_id }', n: " + str(i) + "}",
            "    output: {id: '${ response.body.id }'}",
            "    compensation:",
            "      service: api",
            "      method: DELETE",
            f"      path: '/things/${{ steps.s{i}.output.id }}'",
        ]
    return "\n".join(lines) + "\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _median_run(command: list[str], repeats: int, expect: int = 0) -> dict[str, float]:
    """Median wall and CPU seconds of a command run in a fresh process."""
    walls, cpus = [], []
    for _ in range(repeats):
        cpu, started = _children_cpu(), time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
        if done.returncode != expect:
            raise SystemExit(f"{command[:3]}... exited {done.returncode}: {done.stdout[-500:]}")
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def in_process(big: Path) -> dict[str, float]:
    """One fresh interpreter, so caches are cold, timing each stage."""
    script = f"""
import json, time
t0 = time.perf_counter(); c0 = time.process_time()
from dsl import load_and_check
from dsl._loader import load_file
from dsl import Saga
from dsl._checks import check_saga
t1 = time.perf_counter()
document = load_file({str(big)!r})
t2 = time.perf_counter()
saga = Saga.model_validate(document.data, strict=True)
t3 = time.perf_counter()
problems = check_saga(saga, document)
t4 = time.perf_counter(); c4 = time.process_time()
assert not [p for p in problems if p.is_error], problems[:3]  # warnings: its length
print(json.dumps({{"imports_s": t1 - t0, "load_s": t2 - t1, "models_s": t3 - t2,
    "checks_s": t4 - t3, "total_s": t4 - t1, "cpu_total_s": c4 - c0}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    stages: dict[str, float] = json.loads(done.stdout)
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "validate.json")
    args = parser.parse_args()
    saga = str(BIN / "saga")
    check = shutil.which("check-jsonschema", path=str(BIN)) or "check-jsonschema"
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schema = folder / "saga.schema.json"
        schema.write_text(subprocess.run([saga, "schema"], capture_output=True, text=True).stdout)
        big = folder / "big.yaml"
        big.write_text(generated_saga("big", args.steps, rng))
        many = folder / "many"
        many.mkdir()
        files = [many / f"saga{i:04d}.yaml" for i in range(args.files)]
        for i, path in enumerate(files):
            path.write_text(generated_saga(f"saga{i}", rng.randint(2, 30), rng))
        small = files[0]

        stages = in_process(big)
        results: dict[str, Any] = {
            "machine": {"cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0]},
            "big_file": {"steps": args.steps, "bytes": big.stat().st_size, **stages},
            "many_files": args.files,
        }
        targets = {"cold_start": [small], "big": [big], "many": files}
        for key, paths in targets.items():
            repeats = max(args.repeats, 5) if key == "cold_start" else args.repeats
            target = [str(many)] if key == "many" else [str(p) for p in paths]
            results[f"{key}_saga_validate"] = _median_run([saga, "validate", *target], repeats)
            results[f"{key}_check_jsonschema"] = _median_run(
                [check, "--schemafile", str(schema), *map(str, paths)], repeats
            )
    _ratios(results)
    _print(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(
        f"\nwritten to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
    )


ROWS = (
    ("cold_start", "cold start, one small file"),
    ("big", "the big file"),
    ("many", "the generated files"),
)


def _ratios(results: dict[str, Any]) -> None:
    ratios: dict[str, float] = {}
    for key, _ in ROWS:
        ours, theirs = results[f"{key}_saga_validate"], results[f"{key}_check_jsonschema"]
        for measure in ("wall_s", "cpu_s"):
            ratios[f"{key}_vs_check_jsonschema_{measure[:-2]}"] = ours[measure] / theirs[measure]
    ratios["big_in_process_vs_target"] = results["big_file"]["total_s"] / TARGET_BIG_S
    ratios["cold_start_vs_target_wall"] = (
        results["cold_start_saga_validate"]["wall_s"] / TARGET_COLD_S
    )
    ratios["cold_start_vs_target_cpu"] = (
        results["cold_start_saga_validate"]["cpu_s"] / TARGET_COLD_S
    )
    results["ratios"] = ratios


def _print(results: dict[str, Any]) -> None:
    big, ratios = results["big_file"], results["ratios"]
    print(f"load average (1 min) at start: {results['machine']['load_average_1m']:.2f}")
    print(f"\n{big['steps']}-step file ({big['bytes'] / 1e6:.1f} MB), in process, cold caches:")
    for stage in ("imports_s", "load_s", "models_s", "checks_s", "total_s", "cpu_total_s"):
        print(f"  {stage[:-2]:<10} {big[stage]:7.3f} s")
    print(f"  target < {TARGET_BIG_S} s: {ratios['big_in_process_vs_target']:.2f} of it")
    print(f"\n{'':<28}{'saga validate':>22}{'check-jsonschema':>22}{'ratio':>14}")
    print(f"{'':<28}{'wall':>11}{'cpu':>11}{'wall':>11}{'cpu':>11}{'wall':>7}{'cpu':>7}")
    for key, label in ROWS:
        ours, theirs = results[f"{key}_saga_validate"], results[f"{key}_check_jsonschema"]
        print(
            f"{label:<28}{ours['wall_s']:>10.3f}s{ours['cpu_s']:>10.3f}s"
            f"{theirs['wall_s']:>10.3f}s{theirs['cpu_s']:>10.3f}s"
            f"{ratios[f'{key}_vs_check_jsonschema_wall']:>7.2f}"
            f"{ratios[f'{key}_vs_check_jsonschema_cpu']:>7.2f}"
        )
    print(
        f"\ncold start target < {TARGET_COLD_S} s: wall {ratios['cold_start_vs_target_wall']:.2f}"
        f" of it, cpu {ratios['cold_start_vs_target_cpu']:.2f} of it"
    )


if __name__ == "__main__":
    main()
