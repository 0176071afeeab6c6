"""One judgement of a run's input everywhere, and what a compensation reads of its step.

The workflow checks the input with the function `saga validate` and `saga run` use
(JSON Schema 2020-12, formats asserted), and parses the snapshot those commands made
from a strictly validated model. A compensation reads how its step's action ended.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dsl import Saga, definition_snapshot, input_problems, load_and_check, validate_input
from interpreter.contract import ERROR_TYPES, INVALID_INPUT_ERROR, SagaStatus
from interpreter.dev.demo import DemoService

from .conftest import Runtime, saga, step

ROOT = Path(__file__).parents[2]
SAGAS = [path for path in ROOT.glob("sagas/*.yaml") if ".test." not in path.name]
EXAMPLES = sorted([*SAGAS, *(ROOT / "tests/examples/valid").iterdir()])
DATED = {
    "type": "object",
    "required": ["trip_id"],
    "properties": {"trip_id": {"type": "string"}, "day": {"type": "string", "format": "date"}},
}


def dated_model() -> Saga:
    one = {"name": "a", "action": {"url": "http://127.0.0.1:9/a", "method": "GET"}}
    return Saga.model_validate(saga([one], input=DATED))


def dated_saga(svc: DemoService) -> dict[str, Any]:
    return saga([step(svc, "a")], input=DATED)


async def test_the_workflow_refuses_an_input_that_breaks_a_format(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    error_type, report = await runtime.fail(
        dated_saga(svc), {"trip_id": "t-1", "day": "not-a-date"}
    )
    assert error_type == INVALID_INPUT_ERROR
    assert report.error == "`day` must be a valid date, not 'not-a-date'"
    assert svc.requests == []


@pytest.mark.parametrize(
    "value",
    [
        {"trip_id": "t-1", "day": "not-a-date"},
        {"trip_id": "t-1", "day": "2023-02-29"},
        {"trip": "t-1"},
        {"trip_id": 5},
        [],
        {"trip_id": "t-1", "day": "2024-02-29"},
    ],
)
def test_the_workflows_input_check_is_the_validators(value: Any) -> None:
    model = dated_model()
    errors = [d.message for d in validate_input(model, value) if d.is_error]
    assert input_problems(model, value) == errors


def test_an_input_missing_a_key_close_to_one_it_has_is_refused() -> None:
    # The near miss ("trip" for "trip_id") must not hide the missing key.
    model = dated_model()
    assert input_problems(model, {"trip": "t-1"}) == ["input: 'trip_id' is a required property"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_a_snapshot_parses_strictly_to_the_saga_it_came_from(path: Path) -> None:
    # The workflow parses the snapshot in pydantic's lax mode; the snapshot is the dump of
    # a model validated strictly, so both modes must give that same model back.
    checked = load_and_check(path).unwrap()
    snapshot, _ = definition_snapshot(checked)
    assert Saga.model_validate(snapshot, strict=True) == checked
    assert Saga.model_validate(snapshot) == checked


async def test_a_compensation_reads_how_its_action_ended(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.fail("POST", "/b", status=400, times=None)
    a, b = step(svc, "a"), step(svc, "b", compensate_on="attempt")
    a["compensation"]["json"] = {"was": "${ steps.a.status }"}
    b["compensation"]["json"] = {"was": "${ steps.b.status }"}
    error_type, _ = await runtime.fail(saga([a, b]))
    assert error_type == ERROR_TYPES[SagaStatus.COMPENSATED]
    undos = {r.path: r.json for r in svc.requests if r.path.startswith("/undo/")}
    assert undos == {"/undo/b": {"was": "FAILED"}, "/undo/a": {"was": "SUCCEEDED"}}
