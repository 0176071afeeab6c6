"""A definition is parsed and its requests compiled once, and shared by the runs of
that definition only."""

from __future__ import annotations

from typing import Any

import pytest

from dsl import ExpressionError, Saga, definition_snapshot
from interpreter.workflow._calls import build_call, render_call
from interpreter.workflow._compiled import compiled_saga

DEFINITION: dict[str, Any] = {
    "version": 1,
    "name": "trip",
    "services": {"api": {"url": "http://127.0.0.1:1", "headers": {"X-Tenant": "t-1"}}},
    "steps": [
        {
            "name": "flight",
            "action": {
                "service": "api",
                "path": "/flights/${ input.id }",
                "method": "POST",
                "headers": {"x-tenant": "${ input.tenant }"},
                "json": {"who": "${ input.who }"},
                "success": "${ response.status == 201 }",
            },
            "output": {"id": "${ response.body.id }"},
        },
        {
            "name": "hotel",
            "action": {
                "url": "http://127.0.0.1:1/hotels?f=${ steps.flight.output.id }",
                "method": "GET",
            },
        },
    ],
}
CONTEXT: dict[str, Any] = {
    "input": {"id": 7, "tenant": "t-2", "who": "ada"},
    "saga": {"id": "s-1", "name": "trip"},
    "steps": {"flight": {"status": "SUCCEEDED", "output": {"id": "f-1"}}},
}


def _snapshot(definition: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return definition_snapshot(Saga.model_validate(definition))


def test_runs_of_one_definition_share_its_parsed_saga() -> None:
    parsed: list[str] = []

    def parse(definition: dict[str, Any]) -> Saga:
        parsed.append(definition["name"])
        return Saga.model_validate(definition)

    snapshot, digest = _snapshot(DEFINITION)
    first = compiled_saga(snapshot, digest, parse)
    again = compiled_saga(dict(snapshot), digest, parse)
    assert again is first and parsed == ["trip"]


def test_a_digest_that_does_not_match_its_definition_costs_a_parse_not_a_wrong_saga() -> None:
    snapshot, digest = _snapshot(DEFINITION)
    other, _ = _snapshot({**DEFINITION, "name": "other-trip"})
    compiled_saga(snapshot, digest, Saga.model_validate)
    wrong = compiled_saga(other, digest, Saga.model_validate)
    assert wrong.saga.name == "other-trip"
    assert compiled_saga(other, "", Saga.model_validate).saga.name == "other-trip"


@pytest.mark.parametrize("semantics", [1, 2, 3])
def test_a_compiled_request_renders_what_building_the_call_gives(semantics: int) -> None:
    snapshot, digest = _snapshot(DEFINITION)
    compiled = compiled_saga(snapshot, digest, Saga.model_validate)
    for step in compiled.saga.steps:
        request = compiled.request(step, "action", semantics)
        assert compiled.request(step, "action", semantics) is request
        call = render_call(request, CONTEXT, ordered=semantics >= 2)
        built, effective = build_call(compiled.saga, step, "action", CONTEXT, semantics=semantics)
        assert call == built and request.effective == effective
    flight = render_call(
        compiled.request(compiled.saga.steps[0], "action", 3), CONTEXT, ordered=True
    )
    assert flight.path == "/flights/7" and flight.headers == {"x-tenant": "t-2"}
    assert flight.context == {} and flight.json_body == {"who": "ada"}


def test_a_template_that_does_not_compile_fails_the_call_each_time() -> None:
    broken = {
        "version": 1,
        "name": "broken",
        "steps": [
            {"name": "a", "action": {"url": "http://127.0.0.1:1/${ input.( }", "method": "GET"}}
        ],
    }
    saga = Saga.model_validate(broken)
    compiled = compiled_saga(broken, "", Saga.model_validate)
    for _ in range(2):
        with pytest.raises(ExpressionError):
            compiled.request(saga.steps[0], "action", 3)
