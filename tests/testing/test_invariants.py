"""The invariant checks on their own, on records written by hand (a pure unit test)."""

from __future__ import annotations

from interpreter.contract import SagaReport, SagaStatus, StepReport, StepStatus
from interpreter.testing import RecordedRequest, SimulatedServices, judge

from .conftest import saga, step


def services_with(definition, *requests: tuple[str, str, str, int, str]) -> SimulatedServices:
    """Requests as (step, kind, method, status, key), in order of arrival."""
    services = SimulatedServices(definition)
    for seq, (name, kind, method, status, key) in enumerate(requests, start=1):
        entry = RecordedRequest(2 * seq, name, kind, "shop", method, "/", None, key, 1)
        entry.status, entry.applied, entry.answered_seq = status, 200 <= status < 300, 2 * seq + 1
        services.record.append(entry)
    return services


def report(status: SagaStatus, **steps: StepStatus) -> SagaReport:
    return SagaReport("id", "shop", status, steps=[StepReport(n, s) for n, s in steps.items()])


def test_a_compensation_before_its_dependents_breaks_invariant_2() -> None:
    definition = saga([step("a"), step("b")])
    services = services_with(
        definition,
        ("a", "action", "POST", 201, "k/a"),
        ("b", "action", "POST", 201, "k/b"),
        ("a", "compensation", "DELETE", 204, "k/a/c"),
        ("b", "compensation", "DELETE", 204, "k/b/c"),
    )
    found = judge(definition, report(SagaStatus.COMPENSATED), services).violations
    assert [v.invariant for v in found] == [2]
    assert "a's compensation started before that of b" in found[0].message


def test_retries_with_different_keys_break_invariant_3() -> None:
    definition = saga([step("a")])
    services = services_with(
        definition,
        ("a", "action", "POST", 503, "first"),
        ("a", "action", "POST", 201, "second"),
    )
    found = judge(definition, report(SagaStatus.COMPLETED), services).violations
    assert [v.invariant for v in found] == [3]


def test_an_undo_after_the_pivot_breaks_invariant_4() -> None:
    definition = saga([step("a"), step("b", pivot=True, compensation="none")])
    services = services_with(
        definition,
        ("a", "action", "POST", 201, "k/a"),
        ("b", "action", "POST", 201, "k/b"),
        ("a", "compensation", "DELETE", 204, "k/a/c"),
    )
    ended = report(SagaStatus.COMPENSATED, a=StepStatus.COMPENSATED, b=StepStatus.SUCCEEDED)
    found = judge(definition, ended, services).violations
    assert [v.invariant for v in found] == [4]


def test_an_unnamed_effect_of_a_failed_compensation_breaks_invariant_1() -> None:
    definition = saga([step("a"), step("b")])
    services = services_with(
        definition,
        ("a", "action", "POST", 201, "k/a"),
        ("b", "action", "POST", 201, "k/b"),
        ("b", "compensation", "DELETE", 409, "k/b/c"),
        ("a", "compensation", "DELETE", 409, "k/a/c"),
    )
    ended = report(SagaStatus.COMPENSATION_FAILED, a=StepStatus.COMPENSATION_FAILED)
    ended.compensation_failures = ["a: 409"]
    judgement = judge(definition, ended, services)
    assert judgement.left_in_place == ["a", "b"]
    assert [v.invariant for v in judgement.violations] == [1]
    assert judgement.violations[0].message.endswith("left in place but not named: b")


def test_a_compensated_run_with_every_effect_undone_keeps_every_invariant() -> None:
    definition = saga([step("a"), step("b")])
    services = services_with(
        definition,
        ("a", "action", "POST", 201, "k/a"),
        ("b", "action", "POST", 409, "k/b"),
        ("a", "compensation", "DELETE", 204, "k/a/c"),
    )
    judgement = judge(definition, report(SagaStatus.COMPENSATED), services)
    assert judgement.violations == [] and judgement.left_in_place == []
