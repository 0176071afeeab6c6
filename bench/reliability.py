"""Run the reliability scenarios at full size (or any size) and print the figures.

    python bench/reliability.py                 # every scenario, full size
    python bench/reliability.py --ci            # the sizes the test suite uses
    python bench/reliability.py -s worker-crash --sagas 500 --faults 8 --seed 7

Each scenario starts its own Temporal dev server (a persistent SQLite file in a
temporary folder), a stateful service behind a chaos proxy, and worker subprocesses;
see tests/reliability/scenarios.py. The figures go to stdout as a table and, with
--out, to a JSON file. The exit code is 1 when any saga was lost, any invariant broken,
any effect duplicated or any secret leaked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability.scenarios import SCENARIOS, ScenarioResult, Size  # noqa: E402
from tests.reliability.sizes import CI_SIZES, FULL_SIZES  # noqa: E402

COLUMNS = ("scenario", "sagas", "faults", "lost", "violations", "duplicates", "secret_leaks")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-s", "--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--ci", action="store_true", help="the test suite's sizes")
    parser.add_argument("--sagas", type=int, help="override the number of sagas")
    parser.add_argument("--faults", type=int, help="override the number of process faults")
    parser.add_argument("--rate", type=float, help="override the HTTP fault rate (0..1)")
    parser.add_argument("--seed", type=int, help="override the seed")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the logs and databases")
    return parser.parse_args(argv)


def size_for(name: str, args: argparse.Namespace) -> Size:
    size = (CI_SIZES if args.ci else FULL_SIZES)[name]
    overrides = {"sagas": args.sagas, "faults": args.faults, "seed": args.seed}
    overrides["http_fault_rate"] = args.rate
    return Size(**{**size.__dict__, **{k: v for k, v in overrides.items() if v is not None}})


def table(rows: list[dict[str, Any]]) -> str:
    def cell(row: dict[str, Any], column: str) -> str:
        value = row[column]
        if isinstance(value, dict):
            return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
        return str(value)

    lines = [" | ".join(COLUMNS), " | ".join("---" for _ in COLUMNS)]
    lines += [" | ".join(cell(row, c) for c in COLUMNS) for row in rows]
    return "\n".join(f"| {line} |" for line in lines)


async def run_all(args: argparse.Namespace, workdir: Path) -> list[ScenarioResult]:
    results = []
    for name in args.scenario or list(SCENARIOS):
        size = size_for(name, args)
        print(f"{name}: {size}", file=sys.stderr, flush=True)
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        result = await SCENARIOS[name](folder, size)
        print(result.explain(), file=sys.stderr, flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="saga-reliability-"))
    try:
        results = asyncio.run(run_all(args, workdir))
    finally:
        if args.keep:
            print(f"logs and databases kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = [result.row() for result in results]
    print(table(rows))
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    bad = [r for r in rows if r["lost"] or r["violations"] or r["duplicates"] or r["secret_leaks"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
