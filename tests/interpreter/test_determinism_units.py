"""What the workflow decides depends on nothing but the run: pure checks, some in fresh
processes (the C++ CEL runtime seeds its map hashing per process, not by PYTHONHASHSEED).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from typing import Any

import pytest

from dsl import check_text
from dsl._dag import StepGraph
from dsl._expressions import (
    ExpressionError,
    compile_condition,
    evaluate_condition,
    render,
    with_ordered_ranges,
)
from dsl._model import (
    BUILTIN_DEFAULTS,
    Request,
    Retry,
    Saga,
    builtin_defaults,
    effective_request,
)
from interpreter.contract import StepReport, StepStatus
from interpreter.workflow._calls import build_call
from interpreter.workflow._plan import Plan, undo_waits
from interpreter.workflow._saga import SEMANTICS_PATCHES

KEYS = {f"k{i}": i for i in range(12)}
"""Insertion order k0, k1, k2, ...; sorted order k0, k1, k10, k11, k2, ..."""
SORTED = sorted(KEYS)
CONTEXT = {"input": {"m": KEYS}, "saga": {"id": "S-1", "name": "s"}, "steps": {}}
LATEST = len(SEMANTICS_PATCHES) + 1

_EVALUATE_IN_A_FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    from dsl._expressions import render
    keys = {f"k{i}": i for i in range(12)}
    ordered = sys.argv[1] == "ordered"
    print(json.dumps(render(sys.argv[2], {"input": {"m": keys}}, ordered=ordered)))
    """
)


def _in_fresh_processes(source: str, *, ordered: bool, count: int = 8) -> list[Any]:
    results = []
    for seed in range(count):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _EVALUATE_IN_A_FRESH_PROCESS,
                "ordered" if ordered else "",
                source,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            check=True,
        )
        results.append(json.loads(done.stdout))
    return results


# --- map order across processes ----------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "${ input.m.map(k, k) }",
        "${ input.m.filter(k, input.m[k] % 2 == 0) }",
        "${ input.m.map(k, k)[0] == 'k0' }",
        "${ input.m }",
        "keys: ${ input.m.map(k, k) } map: ${ input.m }",
    ],
)
def test_ordered_evaluation_gives_one_answer_in_every_process(source: str) -> None:
    results = _in_fresh_processes(source, ordered=True)
    assert all(result == results[0] for result in results), results


def test_the_old_evaluation_differs_between_processes() -> None:
    # Why semantics 1 runs could not be trusted to replay. Should the CEL runtime ever
    # iterate maps in one order everywhere, this fails: then say so in docs/RUNTIME.md.
    results = _in_fresh_processes("${ input.m.map(k, k) }", ordered=False, count=6)
    assert len({tuple(result) for result in results}) > 1, results


# --- what ordered evaluation gives --------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${ input.m.map(k, k) }", SORTED),
        ("${ input.m.map(k, input.m[k] > 9, k) }", ["k10", "k11"]),
        ("${ input.m.filter(k, input.m[k] < 3) }", ["k0", "k1", "k2"]),
        ("${ input.m.all(k, k.startsWith('k')) }", True),
        ("${ input.m.exists(k, k == 'k7') }", True),
        ("${ input.m.exists_one(k, input.m[k] == 3) }", True),
        ("${ [3, 1, 2].map(x, x * 2) }", [6, 2, 4]),
        ("${ {2: 'b', 1: 'a'}.map(k, k) }", [1, 2]),
        ("${ [{'b': 1, 'a': 2}].map(x, x) }", [{"a": 2, "b": 1}]),
        ("${ 'x.map(k, k)' + \"y\" }", "x.map(k, k)y"),
        ("${ input.m.filter(k, input.m[k] > 9).map(k, k + '!') }", ["k10!", "k11!"]),
    ],
)
def test_macros_over_a_map_visit_its_keys_in_sorted_order(source: str, expected: Any) -> None:
    assert render(source, CONTEXT) == expected


def test_maps_come_out_with_their_keys_sorted_at_every_depth() -> None:
    value = render("${ {'b': {'y': 1, 'x': 2}, 'a': [input.m]} }", CONTEXT)
    assert list(value) == ["a", "b"]
    assert list(value["b"]) == ["x", "y"]
    assert list(value["a"][0]) == SORTED
    assert render("${ input.m }", CONTEXT) == KEYS


def test_the_rewrite_puts_the_ordering_before_each_macro_and_nowhere_else() -> None:
    assert with_ordered_ranges("a.b.map(k, k).filter(x, x)") == (
        "a.b.__ordered__().map(k, k).__ordered__().filter(x, x)"
    )
    assert with_ordered_ranges("f(a)[0] . exists (x, x)") == "f(a)[0] . __ordered__().exists (x, x)"
    assert with_ordered_ranges("'s.map(k, k)' + a.map + b.size()") == (
        "'s.map(k, k)' + a.map + b.size()"
    )


@pytest.mark.parametrize("ordered", [True, False])
def test_errors_read_the_same_either_way(ordered: bool) -> None:
    with pytest.raises(ExpressionError) as caught:
        render("${ input.x.map(k, k) }", {"input": {"x": 5}}, ordered=ordered)
    assert caught.value.message == "'input.x.map(k, k)': no matching overloads found : <iter_range>"


def test_the_old_evaluation_is_still_there_for_old_runs() -> None:
    condition = compile_condition("${ input.m.size() == 12 && input.m.exists(k, k == 'k3') }")
    assert evaluate_condition(condition, CONTEXT, ordered=False) is True
    assert sorted(render("${ input.m.map(k, k) }", CONTEXT, ordered=False)) == SORTED


def test_users_cannot_call_the_ordering_function() -> None:
    text = json.dumps(
        {
            "version": 1,
            "name": "s",
            "steps": [
                {
                    "name": "a",
                    "when": "${ input.m.__ordered__().size() > 0 }",
                    "action": {"url": "http://x/a", "method": "GET"},
                }
            ],
        }
    )
    errors = check_text(text, "s.json").errors
    assert len(errors) == 1
    assert "unknown function '__ordered__'" in errors[0].message


# --- what a run of each semantics version is sent -----------------------------------------

SAGA = Saga.model_validate(
    {
        "version": 1,
        "name": "s",
        "steps": [
            {
                "name": "a",
                "action": {
                    "url": "http://x/${ input.m.map(k, k)[0] }",
                    "method": "POST",
                    "json": {"keys": "${ input.m.filter(k, input.m[k] > 9) }", "m": "${ input.m }"},
                    "headers": {"x-first": "${ input.m.map(k, k)[0] }"},
                },
                "compensation": "none",
            }
        ],
    }
)


def test_a_call_of_semantics_2_is_rendered_with_sorted_maps() -> None:
    call, _ = build_call(SAGA, SAGA.steps[0], "action", CONTEXT, semantics=2)
    assert call.base_url == "http://x/k0" and call.headers == {"x-first": "k0"}
    assert call.json_body == {"keys": ["k10", "k11"], "m": KEYS}
    assert list(call.json_body["m"]) == SORTED


def test_a_call_of_semantics_1_keeps_the_old_evaluation() -> None:
    call, _ = build_call(SAGA, SAGA.steps[0], "action", CONTEXT, semantics=1)
    assert sorted(call.json_body["keys"]) == ["k10", "k11"]
    assert call.base_url.removeprefix("http://x/") in KEYS


# --- built-in defaults are pinned per semantics version ------------------------------------

PINNED = {
    1: {
        "timeout": timedelta(seconds=30),
        "action_retry": Retry(
            max_attempts=5,
            initial_interval=timedelta(seconds=1),
            backoff=2.0,
            max_interval=timedelta(seconds=30),
            on_status=[408, 425, 429, "5xx"],
        ),
        "compensation_retry": Retry(max_attempts=0, max_interval=timedelta(minutes=1)),
    },
}
"""The built-in defaults that running sagas were started with. Never edit an entry: a
release that changes a default adds a semantics version and an entry for it."""


@pytest.mark.parametrize("version", sorted(PINNED))
def test_the_built_in_defaults_of_a_released_version_never_change(version: int) -> None:
    defaults = BUILTIN_DEFAULTS[version]
    assert {name: getattr(defaults, name) for name in PINNED[version]} == PINNED[version]


def test_every_semantics_version_has_pinned_defaults() -> None:
    assert set(BUILTIN_DEFAULTS) <= set(PINNED), "pin the new entry in PINNED above"
    for version in range(1, LATEST + 1):
        assert builtin_defaults(version) is BUILTIN_DEFAULTS[max(v for v in PINNED if v <= version)]
    assert builtin_defaults() is builtin_defaults(LATEST)


@pytest.mark.parametrize("version", range(1, LATEST + 1))
def test_a_run_gets_the_defaults_of_its_semantics_version(version: int) -> None:
    action = effective_request(SAGA, _action(SAGA), "action", semantics=version)
    undo = effective_request(SAGA, _action(SAGA), "compensation", semantics=version)
    assert action.timeout == undo.timeout == timedelta(seconds=30)
    assert (action.retry.max_attempts, action.retry.max_interval) == (5, timedelta(seconds=30))
    assert (undo.retry.max_attempts, undo.retry.max_interval) == (0, timedelta(minutes=1))
    assert action.retry.on_status == (408, 425, 429, "5xx")


# --- what the workflow iterates is in definition order --------------------------------------

# Names whose set order differs from their list order in most processes.
NAMES = ["zeta", "alpha", "mu", "beta", "omega", "kappa", "delta", "gamma", "eta", "iota"]


def _fan_saga() -> Saga:
    steps: list[dict[str, Any]] = [
        {"name": "start", "action": {"url": "http://x", "method": "GET"}}
    ]
    steps += [
        {"name": name, "after": ["start"], "action": {"url": "http://x", "method": "GET"}}
        for name in NAMES
    ]
    steps.append(
        {
            "name": "end",
            "after": list(reversed(NAMES)),
            "action": {"url": "http://x", "method": "GET"},
        }
    )
    return Saga.model_validate({"version": 1, "name": "fan", "steps": steps})


def test_dependencies_keep_the_order_of_the_file() -> None:
    saga = _fan_saga()
    deps = saga.dependencies()
    assert list(deps) == ["start", *NAMES, "end"]
    assert deps["end"] == list(reversed(NAMES))
    assert StepGraph.of(saga).deps[-1] == list(range(1, len(NAMES) + 1))


def test_ready_steps_and_undo_waits_follow_the_file() -> None:
    saga = _fan_saga()
    reports = {step.name: StepReport(step.name) for step in saga.steps}
    plan, started = Plan(saga), list[str]()
    plan.start_ready(reports, started.append, lambda: False)
    assert started == ["start"]
    reports["start"].status = StepStatus.SUCCEEDED
    plan.done("start")
    plan.start_ready(reports, started.append, lambda: False)
    assert started == ["start", *NAMES]
    waits = undo_waits(saga, list(reversed(["start", *NAMES])))
    assert list(waits) == list(reversed(["start", *NAMES]))
    assert waits["start"] == NAMES


def _action(saga: Saga) -> Request:
    action = saga.steps[0].action
    assert action is not None
    return action
