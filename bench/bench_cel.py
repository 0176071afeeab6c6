"""Compare CEL libraries for the saga templates: import time, compile, evaluate.

    pip install -e '.[bench]' && python bench/bench_cel.py

Each library runs in a fresh subprocess so import times are cold. The baseline is
cel-expr-python (the one the project uses); other rows are ratios against it.
Figures go to bench/results/cel.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXPR = "input.a + 1 == 2 && steps.s.output.id == '42'"
DATA = {"input": {"a": 1, "b": "x"}, "steps": {"s": {"output": {"id": "42"}}}}
N = 2000

PROBES = {
    "cel-expr-python": f"""
import time; t0 = time.perf_counter()
from cel_expr_python import cel as C
t1 = time.perf_counter()
env = C.NewEnv(variables={{n: C.Type.DYN for n in ("input", "steps")}})
t2 = time.perf_counter()
progs = [env.compile("{EXPR} || input.a == %d" % i) for i in range({N})]
t3 = time.perf_counter()
for p in progs: r = p.eval(data={DATA!r}).plain_value()
t4 = time.perf_counter()
""",
    "common-expression-language": f"""
import time; t0 = time.perf_counter()
import cel
t1 = time.perf_counter(); t2 = t1
progs = [cel.compile("{EXPR} || input.a == %d" % i) for i in range({N})]
t3 = time.perf_counter()
for p in progs: r = p.execute({DATA!r})
t4 = time.perf_counter()
""",
    "cel-python": f"""
import time; t0 = time.perf_counter()
import celpy
t1 = time.perf_counter()
env = celpy.Environment()
t2 = time.perf_counter()
progs = [env.program(env.compile("{EXPR} || input.a == %d" % i)) for i in range({N})]
t3 = time.perf_counter()
act = celpy.json_to_cel({DATA!r})
for p in progs: r = p.evaluate(act)
t4 = time.perf_counter()
""",
}
REPORT = "\nimport json; print(json.dumps({'import_ms': (t1-t0)*1e3, 'env_ms': (t2-t1)*1e3, "
REPORT += f"'compile_us': (t3-t2)/{N}*1e6, 'eval_us': (t4-t3)/{N}*1e6}}))"


def measure(code: str) -> dict[str, float] | None:
    proc = subprocess.run([sys.executable, "-c", code + REPORT], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    results = {name: measure(code) for name, code in PROBES.items()}
    base = results["cel-expr-python"]
    assert base is not None, "cel-expr-python must be installed"
    print(f"{'library':28} {'import ms':>10} {'compile us':>11} {'eval us':>9}  ratios vs base")
    for name, row in results.items():
        if row is None:
            print(f"{name:28} not installed (pip install -e '.[bench]')")
            continue
        ratios = " ".join(
            f"{k}={row[k] / base[k]:.2f}x" for k in ("import_ms", "compile_us", "eval_us")
        )
        print(
            f"{name:28} {row['import_ms']:10.1f} {row['compile_us']:11.1f} {row['eval_us']:9.1f}  "
            f"{ratios}"
        )
    out = Path(__file__).parent / "results" / "cel.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
