"""The step graph as the workflow walks it: which steps are ready, and the undo order.

Built once per run over the language's step graph (`dsl.StepGraph`), so every decision
costs time in proportion to the steps it touches, never to the length of the saga: a
1,000-step saga must not make one workflow task slow enough for the SDK to call it a
deadlock. Deterministic: lists in definition order, never set iteration, so the
workflow's decisions replay identically.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from dsl import Saga, StepGraph
from interpreter.contract import StepReport, StepStatus

__all__ = ["DONE", "Plan", "StepsView", "undo_waits"]

DONE = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
"""A dependant may start once each of its dependencies is in one of these."""
PENDING = StepStatus.PENDING


class Plan:
    """Which pending steps may start: each step counts its dependencies not yet done.

    `done(name)` when a step succeeds or is skipped releases its dependants;
    `start_ready()` hands out the steps whose count reached zero, in list order: the same
    steps, in the same order, as checking every pending step's dependencies each time.
    """

    def __init__(self, saga: Saga) -> None:
        graph = StepGraph.of(saga)
        self._names = graph.names
        self._index: dict[str, int] = {}
        for i, name in enumerate(graph.names):
            self._index.setdefault(name, i)
        self._dependants: list[list[int]] = [[] for _ in graph.names]
        for i, deps in enumerate(graph.deps):
            for dep in deps:
                self._dependants[dep].append(i)
        self._waiting = [len(deps) for deps in graph.deps]
        self._done = [False] * len(graph.names)
        self._ready = [i for i, waiting in enumerate(self._waiting) if waiting == 0]

    def done(self, name: str) -> None:
        """The step succeeded or was skipped: its dependants wait for one step fewer."""
        i = self._index[name]
        if self._done[i]:
            return
        self._done[i] = True
        for dependant in self._dependants[i]:
            self._waiting[dependant] -= 1
            if self._waiting[dependant] == 0:
                self._ready.append(dependant)

    def again(self, name: str) -> None:
        """A step that failed is PENDING again (a resume past the pivot): ready once more,
        its dependencies having all finished before it first ran."""
        self._ready.append(self._index[name])

    def start_ready(
        self,
        reports: Mapping[str, StepReport],
        start: Callable[[str], None],
        stopped: Callable[[], bool],
    ) -> None:
        """Call `start` on every ready pending step, in rounds, until none is left or the
        saga stopped: a round is every step ready at its beginning, in list order; the
        steps that `start` skipped (SKIPPED) release theirs for the next round."""
        while not stopped():
            batch, self._ready = sorted(self._ready), []
            ready = [self._names[i] for i in batch if reports[self._names[i]].status == PENDING]
            if not ready:
                return
            for taken, name in enumerate(ready):
                start(name)
                if reports[name].status in DONE:
                    self.done(name)
                if stopped():
                    # Steps taken but not started: ready again should the saga go on.
                    self._ready.extend(self._index[n] for n in ready[taken + 1 :])
                    return


class StepsView(Mapping[str, dict[str, Any]]):
    """The expressions' `steps` map, read live from the report and the outputs.

    Built once per run instead of once per rendered request: an expression reads only
    the steps it names, so only those entries are ever made.
    """

    def __init__(
        self,
        reports: Mapping[str, StepReport],
        outputs: Mapping[str, Any],
        statuses: Mapping[str, str] | None = None,
    ) -> None:
        self._reports, self._outputs = reports, outputs
        self._statuses = statuses or {}

    def __getitem__(self, name: str) -> dict[str, Any]:
        status = self._statuses.get(name) or str(self._reports[name].status)
        return {"output": self._outputs.get(name), "status": status}

    def with_status(self, name: str, status: str) -> StepsView:
        """The same view, but step `name` reads `status`."""
        return StepsView(self._reports, self._outputs, {**self._statuses, name: status})

    def __iter__(self) -> Iterator[str]:
        return iter(self._reports)

    def __len__(self) -> int:
        return len(self._reports)


def undo_waits(saga: Saga, to_undo: Collection[str]) -> dict[str, list[str]]:
    """For each step to undo, the steps to undo first, in list order.

    A step's undo waits for every descendant that needs undoing, so a step with nothing
    to undo in between (skipped, or without a compensation) never lets an ancestor's
    undo overtake its own dependants'. It is enough to name the nearest ones (those
    reached through no other step to undo): each of them waits, in turn, for the rest.
    So the lists stay as long as the graph's edges, not the square of the steps.
    """
    graph = StepGraph.of(saga)
    index: dict[str, int] = {}
    for i, name in enumerate(graph.names):
        index.setdefault(name, i)
    wanted = {index[name] for name in to_undo}
    dependants: list[list[int]] = [[] for _ in graph.names]
    for i, deps in enumerate(graph.deps):
        for dep in deps:
            dependants[dep].append(i)
    nearest: dict[int, frozenset[int]] = {}
    for node in _dependants_first(dependants):
        found: set[int] = set()
        for child in dependants[node]:
            found |= {child} if child in wanted else nearest.get(child, frozenset())
        nearest[node] = frozenset(found)
    return {name: [graph.names[i] for i in sorted(nearest[index[name]])] for name in to_undo}


def _dependants_first(dependants: list[list[int]]) -> Iterator[int]:
    """Every step after all of its dependants (depth-first post-order, no recursion).

    In a cycle (a definition the validator refuses) some dependant comes later; the
    result is then smaller, never wrong about order between steps outside the cycle.
    """
    seen = [False] * len(dependants)
    for root in range(len(dependants)):
        if seen[root]:
            continue
        seen[root] = True
        stack: list[tuple[int, int]] = [(root, 0)]
        while stack:
            node, child = stack.pop()
            if child < len(dependants[node]):
                stack.append((node, child + 1))
                target = dependants[node][child]
                if not seen[target]:
                    seen[target] = True
                    stack.append((target, 0))
                continue
            yield node
