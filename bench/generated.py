"""Saga definitions generated for the scale benchmark, at any size.

Steps call the one service `api` (the benchmark points it at its DemoService): in the
sequences and fan-outs each step POSTs, keeps the new resource's id as its output and
DELETEs it as its compensation; in the output sagas each step GETs a large body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _step(name: str, collection: str, body: Any, after: list[str] | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": name,
        "action": {"service": "api", "method": "POST", "path": f"/{collection}", "json": body},
        "output": {"id": "${ response.body.id }"},
        "compensation": {
            "service": "api",
            "method": "DELETE",
            "path": f"/{collection}/${{ steps.{name}.output.id }}",
            "expect": [204, 404],
        },
    }
    if after is not None:
        step["after"] = after
    return step


def _saga(name: str, steps: list[dict[str, Any]], output: Any = None) -> dict[str, Any]:
    saga = {
        "version": 1,
        "name": name,
        "services": {"api": {"url": "http://127.0.0.1:9000"}},
        "defaults": {"timeout": "10s"},
        "steps": steps,
    }
    if output is not None:
        saga["output"] = output
    return saga


def sequence_saga(n: int) -> dict[str, Any]:
    steps = [_step("s0", "items", {"n": 0})]
    steps += [
        _step(f"s{i}", "items", {"prev": f"${{ steps.s{i - 1}.output.id }}"}) for i in range(1, n)
    ]
    return _saga(f"sequence-{n}", steps, {"last": f"${{ steps.s{n - 1}.output.id }}"})


def fanout_saga(width: int) -> dict[str, Any]:
    branches = [f"b{i}" for i in range(width)]
    steps = [_step("start", "orders", {"kind": "start"})]
    steps += [
        _step(b, "parts", {"order": "${ steps.start.output.id }"}, ["start"]) for b in branches
    ]
    steps.append(_step("join", "orders", {"parts": len(branches)}, branches))
    return _saga(f"fanout-{width}", steps)


def outputs_saga(count: int, size: int, path: str) -> dict[str, Any]:
    """`count` GETs of a `size`-byte body, each kept whole as the step's output."""
    steps = []
    for i in range(count):
        action = {"service": "api", "method": "GET", "path": path, "query": {"bytes": str(size)}}
        steps.append({"name": f"big{i}", "action": action})
    output = {f"big{i}": f"${{ steps.big{i}.output }}" for i in range(count)}
    return _saga(f"outputs-{count}x{size}", steps, output)


def write_saga(folder: Path, saga: dict[str, Any]) -> Path:
    path = folder / f"{saga['name']}.json"
    path.write_text(json.dumps(saga, indent=1))
    return path
