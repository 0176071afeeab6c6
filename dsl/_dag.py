"""The step graph: which step waits for which, cycles, and ancestry.

Ancestor sets are bitsets (Python ints, bit i = step i), computed once over the
strongly connected components, so "is X guaranteed to finish before Y" is one AND
even for sagas of thousands of steps, and a cycle cannot make it loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsl._model import Saga

__all__ = ["StepGraph"]


@dataclass
class StepGraph:
    """Steps by index (list order); `deps[i]` are the steps step i waits for."""

    names: list[str]
    deps: list[list[int]]
    _ancestors: list[int] = field(default_factory=list, repr=False)
    _components: list[list[int]] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, saga: Saga) -> StepGraph:
        """The graph of a saga; `after` targets that do not exist are left out."""
        names = [step.name for step in saga.steps]
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            index.setdefault(name, i)
        # Not saga.dependencies(): it is keyed by name, and a duplicate name (an error
        # reported elsewhere) must keep its own `after`.
        deps: list[list[int]] = []
        for i, step in enumerate(saga.steps):
            if step.after is not None:
                deps.append(sorted({index[d] for d in step.after if d in index}))
            else:
                deps.append([i - 1] if i > 0 else [])
        graph = cls(names, deps)
        graph._components = _components(deps)
        graph._ancestors = _ancestor_sets(deps, graph._components)
        return graph

    def is_ancestor(self, ancestor: int, step: int) -> bool:
        """True when `ancestor` is guaranteed to finish before `step` starts."""
        return bool(self._ancestors[step] >> ancestor & 1)

    def ancestors(self, step: int) -> list[int]:
        return _bits(self._ancestors[step])

    def descendants(self, step: int) -> list[int]:
        return [i for i in range(len(self.names)) if self.is_ancestor(step, i)]

    def cycles(self) -> list[list[int]]:
        """One cycle per knot of steps that wait for each other, each as a closed walk."""
        found = []
        for component in self._components:
            members = set(component)
            first = min(component)
            if len(component) > 1 or first in self.deps[first]:
                found.append(self._walk(first, members))
        return sorted(found)

    def _walk(self, start: int, members: set[int]) -> list[int]:
        walk, seen, node = [start], {start: 0}, start
        while True:
            node = next(d for d in self.deps[node] if d in members)
            if node in seen:
                return walk[seen[node] :] + [node]
            seen[node] = len(walk)
            walk.append(node)


def _bits(value: int) -> list[int]:
    return [i for i in range(value.bit_length()) if value >> i & 1]


def _components(deps: list[list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, without recursion; dependencies first."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    result: list[list[int]] = []
    for root in range(len(deps)):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if child < len(deps[node]):
                work.append((node, child + 1))
                target = deps[node][child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _ancestor_sets(deps: list[list[int]], components: list[list[int]]) -> list[int]:
    ancestors = [0] * len(deps)
    for component in components:  # every dependency's component comes earlier
        members = set(component)
        union = 0
        for member in component:
            for dep in deps[member]:
                union |= 1 << dep
                if dep not in members:
                    union |= ancestors[dep]
        for member in component:
            ancestors[member] = union
    return ancestors
