"""The step graph as the workflow walks it: which steps are ready, and the undo order.

Pure functions over the language's step graph (`dsl.StepGraph`), deterministic (lists
in definition order, never set iteration), so the workflow's decisions replay identically.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from dsl import Saga, StepGraph
from interpreter.contract import StepStatus

__all__ = ["DONE", "ready_steps", "undo_waits"]

DONE = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
"""A dependant may start once each of its dependencies is in one of these."""


def ready_steps(saga: Saga, statuses: Mapping[str, StepStatus]) -> list[str]:
    """Pending steps whose dependencies have all succeeded or been skipped, in list order."""
    deps = saga.dependencies()
    return [
        step.name
        for step in saga.steps
        if statuses[step.name] == StepStatus.PENDING
        and all(statuses[dep] in DONE for dep in deps[step.name])
    ]


def undo_waits(saga: Saga, to_undo: Collection[str]) -> dict[str, list[str]]:
    """For each step to undo, the steps to undo first: its descendants that need undoing.

    Descendants, not just direct dependants, so a step with nothing to undo in between
    (skipped, or without a compensation) never lets an ancestor's undo overtake its own
    dependants'.
    """
    graph, wanted = StepGraph.of(saga), set(to_undo)
    index = {name: i for i, name in enumerate(graph.names)}
    return {
        name: [graph.names[d] for d in graph.descendants(index[name]) if graph.names[d] in wanted]
        for name in to_undo
    }
