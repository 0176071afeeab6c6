"""The step graph as the workflow walks it: which steps are ready, and the undo order.

Pure functions over `Saga.dependencies()`, deterministic (lists in definition order,
never set iteration), so the workflow's decisions replay identically.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from dsl.model import Saga
from interpreter.contract import StepStatus

__all__ = ["DONE", "descendants", "ready_steps", "undo_waits"]

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


def descendants(saga: Saga) -> dict[str, list[str]]:
    """Every step that depends on each step, directly or through others, in list order."""
    dependants: dict[str, list[str]] = {step.name: [] for step in saga.steps}
    for name, deps in saga.dependencies().items():
        for dep in deps:
            dependants[dep].append(name)
    order = [step.name for step in saga.steps]
    result: dict[str, list[str]] = {}
    for name in order:
        seen: set[str] = set()
        stack = list(dependants[name])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(dependants[current])
        result[name] = [other for other in order if other in seen]
    return result


def undo_waits(saga: Saga, to_undo: Collection[str]) -> dict[str, list[str]]:
    """For each step to undo, the steps to undo first: its descendants that need undoing.

    Descendants, not just direct dependants, so a step with nothing to undo in between
    (skipped, or without a compensation) never lets an ancestor's undo overtake its own
    dependants'.
    """
    below, wanted = descendants(saga), set(to_undo)
    return {name: [d for d in below[name] if d in wanted] for name in to_undo}
