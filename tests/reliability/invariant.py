"""The invariant every scenario checks, read from the service's state afterwards.

For every saga: either all its effects are present and it ended COMPLETED, or none is
(the reservation deleted, the charge refunded, the shipment deleted, no confirmation)
and it ended COMPENSATED; no effect was applied twice under one key; the end state is
the one the faults call for (COMPENSATED exactly when some action was refused; either,
for a saga cancelled while it ran, but then for the reason 'cancel' unless refused); and
a COMPENSATED report leaves no step un-undone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .workload import Outcomes, SagaOutcome

CREATED = ("charges", "shipments", "confirmations")
"""Collections whose resources get server-chosen ids: a second create is a duplicate."""
UNDONE_STEP_STATES = frozenset({"SUCCEEDED", "COMPENSATING", "COMPENSATION_FAILED", "RUNNING"})

State = dict[str, dict[str, dict[str, Any]]]


@dataclass
class Verdict:
    sagas: int = 0
    lost: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    end_states: dict[str, int] = field(default_factory=dict)

    @property
    def violating_sagas(self) -> int:
        """Sagas with at least one violation (a saga may break several rules)."""
        return len({item.split(":", 1)[0] for item in self.violations})

    @property
    def clean(self) -> bool:
        return not (self.lost or self.violations or self.duplicates)

    def explain(self) -> str:
        lines = [f"{len(self.lost)} lost, {self.violating_sagas} with violations, "]
        lines[0] += f"{len(self.duplicates)} duplicates over {self.sagas} sagas"
        lines += [f"lost: {item}" for item in self.lost[:20]]
        lines += [f"violation: {item}" for item in self.violations[:20]]
        lines += [f"duplicate: {item}" for item in self.duplicates[:20]]
        return "\n".join(lines)


def by_saga(state: State) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """saga id -> collection -> the resources that name it."""
    index: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for collection, items in state.items():
        for item in items.values():
            saga = item.get("saga")
            if isinstance(saga, str):
                index[saga][collection].append(item)
    return index


def check(
    outcomes: Outcomes, state: State, refused: set[str], cancelled: set[str] | None = None
) -> Verdict:
    """Judge every saga of `outcomes` against the service state, the refusals and the
    cancels."""
    cancelled = cancelled or set()
    index = by_saga(state)
    verdict = Verdict(sagas=len(outcomes.by_id), end_states=outcomes.counts())
    for saga_id, outcome in sorted(outcomes.by_id.items()):
        effects = index.get(saga_id, {})
        for collection in CREATED:
            extra = len(effects.get(collection, [])) - 1
            if extra > 0:
                verdict.duplicates.append(f"{saga_id}: {extra + 1} {collection}")
        if outcome.status == "LOST":
            verdict.lost.append(f"{saga_id}: {outcome.detail}")
            continue
        verdict.violations += _judge(outcome, effects, saga_id in refused, saga_id in cancelled)
    return verdict


def _judge(
    outcome: SagaOutcome, effects: dict[str, list[dict[str, Any]]], refused: bool, cancelled: bool
) -> list[str]:
    saga = outcome.saga_id
    expected = {"COMPENSATED"} if refused else {"COMPLETED"}
    if cancelled and not refused:
        expected.add("COMPENSATED")
    if outcome.status == "COMPENSATION_FAILED" and _names_only_uncertain(outcome.report):
        # A request whose answer was lost, and lost again when it was resent: it may have
        # taken effect, and its undo needs its answer. The saga must say so, naming it;
        # that is the promised end, not a violation.
        return []
    if outcome.status not in expected:
        wanted = " or ".join(sorted(expected))
        return [f"{saga}: ended {outcome.status}, expected {wanted} ({outcome.detail})"]
    reason = (outcome.report or {}).get("reason")
    if cancelled and not refused and outcome.status == "COMPENSATED" and reason != "cancel":
        return [f"{saga}: cancelled, but compensated for the reason {reason!r}"]
    if outcome.status == "COMPLETED":
        return [f"{saga}: completed but {gap}" for gap in _missing(effects)]
    problems = [f"{saga}: compensated but {left}" for left in _left_over(effects)]
    return problems + _unundone_steps(saga, outcome.report)


def _names_only_uncertain(report: dict[str, Any] | None) -> bool:
    failures = (report or {}).get("compensation_failures") or []
    return bool(failures) and all("outcome uncertain" in line for line in failures)


def _missing(effects: dict[str, list[dict[str, Any]]]) -> list[str]:
    gaps = [f"no {c}" for c in ("reservations", *CREATED) if not effects.get(c)]
    gaps += [f"charge {c['id']} refunded" for c in effects.get("charges", []) if _refunded(c)]
    return gaps


def _left_over(effects: dict[str, list[dict[str, Any]]]) -> list[str]:
    kept = ("reservations", "shipments", "confirmations")
    left = [f"{c} still present" for c in kept if effects.get(c)]
    left += [
        f"charge {c['id']} not refunded" for c in effects.get("charges", []) if not _refunded(c)
    ]
    return left


def _refunded(charge: dict[str, Any]) -> bool:
    return charge.get("status") == "refund"


def _unundone_steps(saga: str, report: dict[str, Any] | None) -> list[str]:
    if report is None:
        return [f"{saga}: compensated without a report"]
    steps = report.get("steps", [])
    return [
        f"{saga}: step {s.get('name')} left {s.get('status')} in a compensated saga"
        for s in steps
        if s.get("status") in UNDONE_STEP_STATES
    ]
