"""The workflow's bookkeeping is linear, and decides exactly what it decided before.

`Plan` (ready steps counted incrementally) and `undo_waits` (only the nearest steps to
undo first) replaced a scan of every step for every decision. Recorded histories pin
the old decisions for the sagas the tests ran; here random DAGs, random `when` results
and random completion orders pin them for any saga: the old code is kept below as the
reference, word for word.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import Saga, StepGraph
from interpreter.contract import StepReport, StepStatus
from interpreter.workflow._plan import Plan, StepsView, undo_waits
from interpreter.workflow._settle import _undo_in_order

DONE = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


# --- the reference: the bookkeeping as it was (quadratic) ------------------------------


def old_ready_steps(saga: Saga, statuses: Mapping[str, StepStatus]) -> list[str]:
    deps = saga.dependencies()
    return [
        step.name
        for step in saga.steps
        if statuses[step.name] == StepStatus.PENDING
        and all(statuses[dep] in DONE for dep in deps[step.name])
    ]


def old_undo_waits(saga: Saga, to_undo: Collection[str]) -> dict[str, list[str]]:
    graph, wanted = StepGraph.of(saga), set(to_undo)
    index = {name: i for i, name in enumerate(graph.names)}
    return {
        name: [graph.names[d] for d in graph.descendants(index[name]) if graph.names[d] in wanted]
        for name in to_undo
    }


# --- random sagas and runs ------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> Saga:
    """A valid saga: `after` only names steps earlier in a random topological order."""
    size = draw(st.integers(1, 14))
    order = draw(st.permutations(range(size)))
    rank = {step: position for position, step in enumerate(order)}
    steps: list[dict[str, Any]] = []
    for i in range(size):
        earlier = [j for j in range(size) if rank[j] < rank[i]]
        step: dict[str, Any] = {"name": f"s{i}", "action": {"url": "http://h/x", "method": "GET"}}
        default_ok = i == 0 or rank[i - 1] < rank[i]
        if not (default_ok and draw(st.booleans())):
            chosen = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
            step["after"] = [f"s{j}" for j in chosen]
        steps.append(step)
    return Saga.model_validate({"version": 1, "name": "random", "steps": steps})


class Run:
    """Drives one run through `start_ready`, old or new, recording every decision."""

    def __init__(self, saga: Saga, when: dict[str, str], plan: Plan | None) -> None:
        self.saga, self.when, self.plan = saga, when, plan
        self.reports = {step.name: StepReport(step.name) for step in saga.steps}
        self.stopped = False
        self.decisions: list[tuple[str, str]] = []
        self.running: list[str] = []

    def decide(self, name: str) -> None:
        """What the workflow's `_wanted` does: start, skip, or fail the step."""
        verdict = self.when.get(name, "start")
        self.decisions.append((name, verdict))
        if verdict == "start":
            self.reports[name].status = StepStatus.RUNNING
            self.running.append(name)
        elif verdict == "skip":
            self.reports[name].status = StepStatus.SKIPPED
        else:
            self.reports[name].status = StepStatus.FAILED
            self.stopped = True

    def start_ready(self) -> None:
        if self.plan is not None:
            self.plan.start_ready(self.reports, self.decide, lambda: self.stopped)
            return
        progressed = True  # the workflow's loop as it was
        while progressed and not self.stopped:
            progressed = False
            statuses = {n: r.status for n, r in self.reports.items()}
            for name in old_ready_steps(self.saga, statuses):
                progressed = True
                self.decide(name)
                if self.stopped:
                    break

    def finish(self, pick: int, succeeded: bool) -> None:
        name = self.running.pop(pick % len(self.running))
        self.decisions.append((name, "succeeded" if succeeded else "failed"))
        self.reports[name].status = StepStatus.SUCCEEDED if succeeded else StepStatus.FAILED
        if succeeded and self.plan is not None:
            self.plan.done(name)
        self.stopped = self.stopped or not succeeded


Pick = tuple[int, bool, bool]
"""Which running step finishes next, whether it succeeds, whether another one follows."""


def play(saga: Saga, when: dict[str, str], picks: list[Pick], new: bool) -> Run:
    run = Run(saga, when, Plan(saga) if new else None)
    picks = list(picks)
    while True:
        if not run.stopped:
            run.start_ready()
        if not run.running:
            return run
        # One activation may bring several results: finish steps until told to stop.
        while run.running:
            pick, succeeded, more = picks.pop() if picks else (0, True, False)
            run.finish(pick, succeeded)
            if not more:
                break


@settings(max_examples=300, deadline=None)
@given(
    saga=dags(),
    verdicts=st.lists(st.sampled_from(["start", "start", "start", "skip", "fail"]), max_size=14),
    picks=st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 9).map(lambda n: n > 0), st.booleans())
    ),
)
def test_ready_steps_start_in_the_same_order_as_before(
    saga: Saga, verdicts: list[str], picks: list[Pick]
) -> None:
    when = {f"s{i}": verdict for i, verdict in enumerate(verdicts)}
    old, new = play(saga, when, picks, new=False), play(saga, when, picks, new=True)
    assert new.decisions == old.decisions
    assert {n: r.status for n, r in new.reports.items()} == {
        n: r.status for n, r in old.reports.items()
    }


@settings(max_examples=300, deadline=None)
@given(saga=dags(), data=st.data())
def test_undo_waits_free_each_undo_at_the_same_moment_as_before(
    saga: Saga, data: st.DataObject
) -> None:
    names = [step.name for step in saga.steps]
    to_undo = data.draw(st.lists(st.sampled_from(names), unique=True))
    old, new = old_undo_waits(saga, to_undo), undo_waits(saga, to_undo)
    assert list(new) == list(old)
    for name in to_undo:
        assert set(new[name]) <= set(old[name])
    # Undo in every order the waits allow: at each moment the same undos may start.
    undone: set[str] = set()
    while len(undone) < len(to_undo):
        free_old = [n for n in to_undo if n not in undone and set(old[n]) <= undone]
        free_new = [n for n in to_undo if n not in undone and set(new[n]) <= undone]
        assert free_new == free_old
        undone.add(data.draw(st.sampled_from(free_old)))


def test_a_skipped_step_releases_its_dependants_in_the_next_round() -> None:
    saga = Saga.model_validate(
        {
            "version": 1,
            "name": "rounds",
            "steps": [
                {"name": "b", "after": ["a"], "action": {"url": "http://h/b", "method": "GET"}},
                {"name": "a", "after": [], "action": {"url": "http://h/a", "method": "GET"}},
                {"name": "c", "after": [], "action": {"url": "http://h/c", "method": "GET"}},
            ],
        }
    )
    run = play(saga, {"a": "skip"}, [], new=True)
    # Round one: a (skipped) then c, in list order; b, freed by the skip, in round two.
    assert run.decisions[:3] == [("a", "skip"), ("c", "start"), ("b", "start")]


def test_steps_freed_by_several_results_start_in_list_order() -> None:
    saga = Saga.model_validate(
        {
            "version": 1,
            "name": "order",
            "steps": [
                {"name": name, "after": after, "action": {"url": "http://h/x", "method": "GET"}}
                for name, after in [("a", []), ("b", []), ("c", ["b"]), ("d", ["a"])]
            ],
        }
    )
    # a finishes first, then b, in one activation: c (after b) still starts before d.
    run = play(saga, {}, [(0, True, False), (0, True, True)], new=True)
    assert run.decisions[4:6] == [("c", "start"), ("d", "start")]


def _chain(size: int) -> Saga:
    action = {"url": "http://h/x", "method": "GET"}
    steps = [{"name": f"s{i}", "action": action} for i in range(size)]
    return Saga.model_validate({"version": 1, "name": "chain", "steps": steps})


def test_a_step_is_found_by_name_without_walking_the_steps() -> None:
    saga = _chain(5)
    assert saga.step("s3") is saga.steps[3]
    assert saga == _chain(5)  # the index kept on the model is not part of its value


def test_the_steps_view_reads_reports_and_outputs_live() -> None:
    reports = {"a": StepReport("a"), "b": StepReport("b")}
    outputs: dict[str, Any] = {}
    view = StepsView(reports, outputs)
    assert view["a"] == {"output": None, "status": "PENDING"}
    reports["a"].status, outputs["a"] = StepStatus.SUCCEEDED, {"id": 7}
    assert view["a"] == {"output": {"id": 7}, "status": "SUCCEEDED"}
    assert list(view) == ["a", "b"] and "c" not in view


def test_undoing_a_long_chain_names_one_step_to_wait_for_each() -> None:
    saga = _chain(4000)
    names = [step.name for step in saga.steps]
    waits = undo_waits(saga, names)
    assert waits["s0"] == ["s1"] and waits["s3999"] == []
    assert sum(len(w) for w in waits.values()) == 3999


class CountingReports(dict[str, StepReport]):
    """The reports, counting how often the bookkeeping looks one up."""

    lookups = 0

    def __getitem__(self, name: str) -> StepReport:
        self.lookups += 1
        return super().__getitem__(name)


def test_planning_a_long_chain_looks_at_each_step_a_bounded_number_of_times() -> None:
    # Counted, not timed: the old bookkeeping looked at every step for every decision
    # (16 million lookups here), the new one at the steps each decision concerns.
    saga = _chain(4000)
    reports = CountingReports({step.name: StepReport(step.name) for step in saga.steps})
    plan = Plan(saga)
    started: list[str] = []

    def start(name: str) -> None:
        dict.__getitem__(reports, name).status = StepStatus.RUNNING
        started.append(name)

    for _ in range(4000):
        plan.start_ready(reports, start, lambda: False)
        dict.__getitem__(reports, started[-1]).status = StepStatus.SUCCEEDED
        plan.done(started[-1])
    assert started == [step.name for step in saga.steps]
    assert reports.lookups <= 2 * 4000


@settings(max_examples=200, deadline=None)
@given(saga=dags(), data=st.data())
def test_undos_started_on_demand_wait_for_every_undo_they_must_follow(
    saga: Saga, data: st.DataObject
) -> None:
    """Semantics 4: an undo starts when the last undo it waits for has ended; each
    undo runs once, never before a dependant's, whatever the undos' own durations."""
    names = [step.name for step in saga.steps]
    to_undo = data.draw(st.lists(st.sampled_from(names), unique=True))
    waits = undo_waits(saga, to_undo)
    hops = {name: data.draw(st.integers(0, 3)) for name in to_undo}
    started: list[str] = []
    ended: list[str] = []

    async def undo(name: str) -> None:
        started.append(name)
        for _ in range(hops[name]):
            await asyncio.sleep(0)
        ended.append(name)

    asyncio.run(_undo_in_order(to_undo, waits, undo))
    assert sorted(started) == sorted(to_undo) and sorted(ended) == sorted(to_undo)
    descendants = old_undo_waits(saga, to_undo)  # every dependant to undo, not only the nearest
    for name in to_undo:
        for later in descendants[name]:
            assert ended.index(later) < started.index(name), (later, name)


def test_undos_started_on_demand_pass_a_failure_on() -> None:
    async def undo(name: str) -> None:
        if name == "b":
            raise RuntimeError("a bug in an undo")

    with pytest.raises(RuntimeError, match="a bug in an undo"):
        asyncio.run(_undo_in_order(["a", "b"], {"a": ["b"], "b": []}, undo))
