"""`saga validate` against check-jsonschema: same schema, same files.

    python bench/bench_validator_vs_checkjsonschema.py [--files 1000] [--big-steps 4000]

Generates `--files` valid saga files (2 to 30 steps, seeded, so every run sees the same
files) and one `--big-steps` step file, writes the project's JSON Schema (`saga schema`)
beside them, then times, in turns (A B A B ...) over `--repeats` rounds:

- check-jsonschema --schemafile saga.schema.json FILES   (the baseline: schema only)
- saga validate FILES                                    (loader, models, semantic checks)

once over all the files in one invocation, once over the big file. Also the cold start
of `saga validate` on one small file (target: under 0.3 s), with check-jsonschema's for
comparison. Each is a fresh process, so imports are paid every time, as in a
pre-commit hook; bytecode is cached (as after any install), and the cold start is also
timed with this environment's own settings (PYTHONDONTWRITEBYTECODE may be set).
Figures are medians; ratios are saga / check-jsonschema, both of the medians and the
median of each round's own ratio (steadier when the machine's load changes between
rounds). They go to
bench/results/validator.json (or `--out`).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

COLD_START_TARGET_S = 0.3
# Bytecode cached in a private folder, as after any install or first run (see _harness).
CACHED = h.child_env(bytecode_cache=True)
METHODS = ("POST", "PUT", "POST", "GET")


def generated_saga(rng: random.Random, name: str, count: int) -> str:
    """A valid saga of `count` steps in YAML, with the features files use most."""
    lines = [
        "version: 1",
        f"name: {name}",
        "description: A generated saga for the validator benchmark.",
        "input:",
        "  type: object",
        "  required: [order_id]",
        "  properties:",
        "    order_id: {type: string}",
        "    notify: {type: boolean}",
        "services:",
    ]
    services = [f"svc{j}" for j in range(rng.randint(1, 4))]
    for j, service in enumerate(services):
        lines += [f"  {service}:", f"    url: http://127.0.0.1:{9100 + j}"]
        if rng.random() < 0.3:
            lines.append(f"    headers: {{X-Api-Key: {{secret: KEY_{j}}}}}")
    lines += ["defaults:", "  timeout: 10s", "  retry: {max_attempts: 3, initial_interval: 500ms}"]
    lines.append("steps:")
    for i in range(count):
        lines += _step_lines(rng, i, count, rng.choice(services))
    lines += ["output:", '  first: "${ steps.s0.output.id }"']
    return "\n".join(lines) + "\n"


def _step_lines(rng: random.Random, i: int, count: int, service: str) -> list[str]:
    independent = i > 0 and rng.random() < 0.15
    method = rng.choice(METHODS)
    reads = "${ input.order_id }" if i == 0 or independent else f"${{ steps.s{i - 1}.output.id }}"
    lines = [f"  - name: s{i}"]
    if independent:
        lines.append("    after: []")
    if i == count - 1 and rng.random() < 0.5:
        lines.append('    when: "${ input.notify }"')
    lines += [
        "    action:",
        f"      service: {service}",
        f"      method: {method}",
        f"      path: /items{i}",
    ]
    if method != "GET":
        lines.append(f'      json: {{ref: "{reads}", n: {i}, tags: [a, b]}}')
        lines.append("      expect: [200, 201]")
    else:
        lines.append(f'      query: {{ref: "{reads}"}}')
    lines.append('    output: {id: "${ response.body.id }", status: "${ response.status }"}')
    if method != "GET":
        lines += [
            "    compensation:",
            f"      service: {service}",
            "      method: DELETE",
            f'      path: "/items{i}/${{ steps.s{i}.output.id }}"',
            "      expect: [204, 404]",
        ]
    return lines


def make_corpus(folder: Path, files: int, big_steps: int) -> tuple[list[Path], Path, Path]:
    rng = random.Random(20240601)
    paths = []
    for index in range(files):
        path = folder / f"saga-{index:04d}.yaml"
        path.write_text(generated_saga(rng, f"generated-{index}", rng.randint(2, 30)))
        paths.append(path)
    big = folder / "big.yaml"
    big.write_text(generated_saga(rng, "generated-big", big_steps))
    schema = folder / "saga.schema.json"
    schema.write_text(_saga_schema())
    return paths, big, schema


def _saga_schema() -> str:
    result = subprocess.run(
        [h.binary("saga"), "schema"], capture_output=True, text=True, check=True
    )
    return result.stdout


def timed(command: list[str], env: dict[str, str] | None) -> float:
    """Wall seconds of one process; a non-zero exit is a broken benchmark."""
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - began
    if result.returncode != 0:
        shown = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise SystemExit(f"Error: {command[0]} exited {result.returncode}: " + " | ".join(shown))
    return wall


def compare(
    saga: list[str], baseline: list[str], repeats: int, env: dict[str, str] | None = CACHED
) -> dict[str, Any]:
    """Both commands in turns, after one untimed run each; medians, ratio saga / baseline."""
    timed(baseline, env), timed(saga, env)
    times: dict[str, list[float]] = {"saga_validate_s": [], "check_jsonschema_s": []}
    for _ in range(repeats):
        times["check_jsonschema_s"].append(timed(baseline, env))
        times["saga_validate_s"].append(timed(saga, env))
    medians = {key: h.median(values) for key, values in times.items()}
    rounds = zip(times["saga_validate_s"], times["check_jsonschema_s"], strict=True)
    return {
        **medians,
        "ratio_saga_vs_check_jsonschema": medians["saga_validate_s"]
        / medians["check_jsonschema_s"],
        # Each round's two runs are next to each other, under about the same load: the
        # median of their ratios is the steadier figure when the load changes between rounds.
        "ratio_median_of_rounds": h.median([saga / base for saga, base in rounds]),
        "runs": times,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    saga, checker = h.binary("saga"), h.binary("check-jsonschema")
    with tempfile.TemporaryDirectory() as tmp:
        paths, big, schema = make_corpus(Path(tmp), args.files, args.big_steps)
        files = [str(p) for p in paths]
        base = [checker, "--schemafile", str(schema)]
        corpus = compare([saga, "validate", *files], [*base, *files], args.repeats)
        print(f"{args.files} files: {_line(corpus)}", flush=True)
        large = compare([saga, "validate", str(big)], [*base, str(big)], args.repeats)
        print(f"{args.big_steps}-step file: {_line(large)}", flush=True)
        one = ([saga, "validate", files[0]], [*base, files[0]])
        cold = compare(*one, args.cold_repeats)
        print(f"one file (cold start): {_line(cold)}", flush=True)
        as_is = compare(*one, args.cold_repeats, env=None)
        print(f"one file, this environment's bytecode settings: {_line(as_is)}", flush=True)
        return {
            "files": args.files,
            "corpus_bytes": sum(p.stat().st_size for p in paths),
            "big_steps": args.big_steps,
            "big_bytes": big.stat().st_size,
            "corpus": corpus,
            "big_file": large,
            "cold_start": cold,
            "cold_start_environment_as_is": as_is,
            "targets": {
                "cold_start_under_0.3s": {
                    "value": cold["saga_validate_s"],
                    "met": cold["saga_validate_s"] < COLD_START_TARGET_S,
                }
            },
        }


def _line(row: dict[str, Any]) -> str:
    return (
        f"saga validate {row['saga_validate_s']:.3f} s, check-jsonschema "
        f"{row['check_jsonschema_s']:.3f} s, ratio {row['ratio_saga_vs_check_jsonschema']:.2f}"
        f" (median of the rounds' ratios {row['ratio_median_of_rounds']:.2f})"
    )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="saga validate against check-jsonschema.")
    parser.add_argument("--files", type=int, default=1000)
    # 4000: the most a valid saga of this shape has in round thousands (past 4266 steps
    # its history could outgrow Temporal's limit, an error `saga validate` reports).
    parser.add_argument("--big-steps", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold-repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--out", type=Path, default=h.RESULTS_DIR / "validator.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.big_steps, args.repeats, args.cold_repeats = 5, 50, 1, 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    figures = run(args)
    print(json.dumps(figures["targets"]))
    h.write_results(args.out, h.command_line(), figures)


if __name__ == "__main__":
    main()
