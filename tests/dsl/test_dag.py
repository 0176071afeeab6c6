"""The step graph: ancestry through `after` (transitive), and cycles named in order."""

from __future__ import annotations

from typing import Any

from dsl._dag import StepGraph
from dsl._model import Saga
from dsl._validate import check_text


def _graph(*steps: tuple[str, list[str] | None]) -> StepGraph:
    listed: list[dict[str, Any]] = []
    for name, after in steps:
        step: dict[str, Any] = {"name": name, "action": {"url": "http://x", "method": "GET"}}
        if after is not None:
            step["after"] = after
        listed.append(step)
    return StepGraph.of(Saga.model_validate({"version": 1, "name": "g", "steps": listed}))


def test_a_list_is_a_chain_and_ancestry_is_transitive() -> None:
    graph = _graph(("a", None), ("b", None), ("c", None))
    assert graph.ancestors(2) == [0, 1]
    assert graph.is_ancestor(0, 2) and not graph.is_ancestor(2, 0)
    assert graph.descendants(0) == [1, 2]


def test_parallel_branches_are_not_ancestors_of_each_other() -> None:
    graph = _graph(("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"]))
    assert not graph.is_ancestor(1, 2) and not graph.is_ancestor(2, 1)
    assert graph.ancestors(3) == [0, 1, 2]


def test_unknown_after_targets_are_left_out() -> None:
    assert _graph(("a", None), ("b", ["a", "nope"])).deps == [[], [0]]


def test_cycles_are_closed_walks_through_after() -> None:
    graph = _graph(("a", ["c"]), ("b", None), ("c", None), ("d", ["d"]), ("e", []))
    assert graph.cycles() == [[0, 2, 1, 0], [3, 3]]


def test_ancestry_terminates_on_cycles() -> None:
    graph = _graph(("a", ["b"]), ("b", ["a"]), ("c", ["b"]))
    assert graph.ancestors(2) == [0, 1]


def test_a_duplicate_name_keeps_its_own_after() -> None:
    graph = _graph(("a", []), ("b", []), ("a", ["b"]))
    assert graph.deps == [[], [], [1]]


def test_thousands_of_chained_steps_need_no_recursion() -> None:
    count = 4000  # under the 4,266 steps of Temporal's event limit (see test_history_size)
    steps = "".join(
        f"  - name: s{i}\n    action: {{url: 'http://x', method: GET}}\n" for i in range(count)
    )
    last = "  - name: last\n    action: {url: 'http://x/${ steps.s0.output }', method: GET}\n"
    result = check_text(f"version: 1\nname: long\nsteps:\n{steps}{last}")
    assert result.ok and result.errors == []  # a warning says the history would be long
