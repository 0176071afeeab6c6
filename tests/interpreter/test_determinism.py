"""Runs whose decisions read maps, recorded; every recorded history replayed in fresh
processes, each with its own hash seeds, through `saga replay`.

The C++ CEL runtime visits a map's keys in an order seeded per process: a saga that
branched on that order could take another branch when another worker replays it. Runs
of semantics 2 see every map in sorted key order; these tests record such runs (with
`--record-histories`) and replay all histories, old and new, the way a team's CI would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interpreter.contract import StepStatus
from interpreter.dev.demo import DemoService

from .conftest import HISTORIES, Runtime, query_report, saga

SAGA_COMMAND = str(Path(sys.executable).parent / "saga")
KEYS = {f"k{i}": i for i in range(12)}
"""Insertion order k0, k1, k2, ...; sorted order k0, k1, k10, k11, k2, ..."""
SORTED = sorted(KEYS)


def _map_saga(svc: DemoService) -> dict[str, Any]:
    return saga(
        [
            {
                "name": "pick",
                "when": "${ input.m.map(k, k)[0] == 'k0' }",
                "action": {
                    "url": f"{svc.url}/picks",
                    "method": "POST",
                    "json": {
                        "even": "${ input.m.filter(k, input.m[k] % 2 == 0) }",
                        "m": "${ input.m }",
                        "text": "first=${ input.m.map(k, k)[0] }",
                    },
                },
                "output": {
                    "keys": "${ response.body.m.map(k, k) }",
                    "first_odd": "${ response.body.m.filter(k, response.body.m[k] % 2 == 1)[0] }",
                },
                "compensation": {"url": f"{svc.url}/undo/pick", "method": "PUT"},
            },
            {
                "name": "unless_sorted",
                "when": "${ input.m.map(k, k)[0] != 'k0' }",
                "after": [],
                "action": {"url": f"{svc.url}/never", "method": "POST"},
                "compensation": "none",
            },
        ],
        output={
            "keys": "${ steps.pick.output.keys }",
            "first_odd": "${ steps.pick.output.first_odd }",
            "big": "${ input.m.filter(k, input.m[k] > 9) }",
            "m": "${ input.m }",
        },
    )


async def test_a_saga_sees_maps_in_sorted_key_order(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("picks")
    handle = await runtime.start(_map_saga(svc), {"m": KEYS})
    output = await handle.result()

    [sent] = svc.requests
    assert sent.path == "/picks"
    assert sent.json == {
        "even": ["k0", "k10", "k2", "k4", "k6", "k8"],
        "m": KEYS,
        "text": "first=k0",
    }
    assert list(sent.json["m"]) == SORTED
    assert output == {"keys": SORTED, "first_odd": "k1", "big": ["k10", "k11"], "m": KEYS}
    assert list(output["m"]) == SORTED
    statuses = {step.name: step.status for step in (await query_report(handle)).steps}
    assert statuses == {"pick": StepStatus.SUCCEEDED, "unless_sorted": StepStatus.SKIPPED}


async def test_a_failure_after_a_map_decision_undoes_with_sorted_maps(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("picks")
    definition = _map_saga(svc)
    definition["steps"][0]["compensation"] = {
        "url": f"{svc.url}/undo/pick",
        "method": "PUT",
        "json": {"keys": "${ steps.pick.output.keys }", "m": "${ input.m }"},
    }
    definition["steps"].append(
        {
            "name": "fail",
            "after": ["pick"],
            "when": "${ input.m.exists(k, k == 'k11') }",
            "action": {"url": f"{svc.url}/fail", "method": "POST"},
            "compensation": "none",
        }
    )
    svc.fail("POST", "/fail", status=422, times=None)
    _, report = await runtime.fail(definition, {"m": KEYS})

    assert report.failed_step == "fail"
    undo = next(r for r in svc.requests if r.path == "/undo/pick")
    assert undo.json == {"keys": SORTED, "m": KEYS}
    assert list(undo.json["m"]) == SORTED


RECORDED = sorted(HISTORIES.rglob("*.json"))


@pytest.mark.parametrize("seed", ["0", "1", "2024", "random"])
def test_every_recorded_history_replays_in_a_fresh_process(
    seed: str, request: pytest.FixtureRequest
) -> None:
    if request.config.getoption("--record-histories"):
        pytest.skip("recording new histories")
    done = subprocess.run(
        [SAGA_COMMAND, "replay", str(HISTORIES)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Replayed {len(RECORDED)} histories: {len(RECORDED)} ok" in done.stdout
    assert any("semantics-2" in str(path) for path in RECORDED)
