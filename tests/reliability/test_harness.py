"""The harness itself: the chaos proxy injects what it claims, the invariant catches
what it must. A checker that cannot see a half-done saga would make every scenario pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interpreter.dev.demo import DemoService

from .chaos import ChaosConfig, ChaosProxy
from .invariant import check
from .workload import Outcomes, SagaOutcome


@pytest.fixture
def shop() -> Iterator[DemoService]:
    with DemoService("shop") as service:
        yield service


def proxy_for(shop: DemoService, **config: Any) -> ChaosProxy:
    return ChaosProxy(shop.url, ChaosConfig(**config)).start()


def charge(
    url: str, key: str, amount: int = 10, timeout: float = 2.0, http: httpx.Client | None = None
) -> httpx.Response:
    body = {"saga": key.split("/")[0], "amount": amount}
    headers = {"Idempotency-Key": key}
    if http is not None:
        return http.post(url + "/charges", json=body, headers=headers)
    return httpx.post(url + "/charges", json=body, headers=headers, timeout=timeout)


def test_a_reset_after_the_effect_leaves_the_effect_in_place(shop: DemoService) -> None:
    with proxy_for(shop, rate=1.0, faults=("reset_after",)) as proxy:
        with pytest.raises(httpx.TransportError):
            charge(proxy.url, "s1/charge/action")
    assert [c["saga"] for c in shop.resources["charges"].values()] == ["s1"]


def test_a_reset_before_the_service_leaves_no_effect(shop: DemoService) -> None:
    with proxy_for(shop, rate=1.0, faults=("reset_before",)) as proxy:
        with pytest.raises(httpx.TransportError):
            charge(proxy.url, "s1/charge/action")
    assert shop.resources == {}


def test_a_slow_answer_outlasts_the_callers_timeout_after_the_effect(shop: DemoService) -> None:
    with proxy_for(shop, rate=1.0, faults=("slow",), slow_seconds=0.6) as proxy:
        with pytest.raises(httpx.TimeoutException):
            charge(proxy.url, "s1/charge/action", timeout=0.2)
    assert len(shop.resources["charges"]) == 1


def test_throttling_says_when_to_come_back(shop: DemoService) -> None:
    with proxy_for(shop, rate=1.0, faults=("throttle_429",), retry_after=2) as proxy:
        response = charge(proxy.url, "s1/charge/action")
    assert (response.status_code, response.headers["retry-after"]) == (429, "2")


def test_business_rejections_refuse_actions_and_never_undos(shop: DemoService) -> None:
    with proxy_for(shop, rate=1.0, faults=("reject",)) as proxy:
        refused = charge(proxy.url, "s1/charge/action")
        shop.fail("DELETE", status=204, times=1)  # the undo reaches the service
        undo = httpx.delete(proxy.url + "/charges/x", headers={"Idempotency-Key": "s2/c/comp"})
    assert refused.status_code == 422 and undo.status_code == 204
    assert proxy.ledger.rejected_sagas == {"s1"}


def test_a_retry_of_an_applied_request_is_never_refused(shop: DemoService) -> None:
    with proxy_for(shop, rate=1.0, faults=("reset_after",)) as proxy:
        with pytest.raises(httpx.TransportError):
            charge(proxy.url, "s1/charge/action")
        proxy.config.faults = ("reject",)
        retry = charge(proxy.url, "s1/charge/action")
        fresh = charge(proxy.url, "s2/charge/action")
    assert (retry.status_code, fresh.status_code) == (201, 422)
    assert len(shop.resources["charges"]) == 1 and proxy.ledger.rejected_sagas == {"s2"}


def test_charges_over_the_limit_are_declined_on_every_attempt(shop: DemoService) -> None:
    with proxy_for(shop, decline_over=100) as proxy:
        statuses = [charge(proxy.url, "s1/charge/action", amount=500).status_code for _ in "ab"]
        accepted = charge(proxy.url, "s2/charge/action", amount=50).status_code
    assert statuses == [402, 402] and accepted == 201
    assert proxy.ledger.rejected_sagas == {"s1"}


def test_the_fault_rate_is_roughly_the_configured_share(shop: DemoService) -> None:
    with proxy_for(shop, rate=0.2, faults=("error_5xx",), seed=3) as proxy, httpx.Client() as http:
        statuses = [charge(proxy.url, f"s{i}/c/action", http=http).status_code for i in range(200)]
    assert 20 <= statuses.count(503) <= 60


# --- the invariant --------------------------------------------------------------------

COMPLETE = {
    "reservations": {"a": {"id": "a", "saga": "a"}},
    "charges": {"charges-1": {"id": "charges-1", "saga": "a"}},
    "shipments": {"shipments-1": {"id": "shipments-1", "saga": "a"}},
    "confirmations": {"confirmations-1": {"id": "confirmations-1", "saga": "a"}},
}
UNDONE = {"charges": {"charges-2": {"id": "charges-2", "saga": "b", "status": "refund"}}}
UNDONE_REPORT = {"steps": [{"name": "charge", "status": "COMPENSATED"}]}


def outcomes(*items: SagaOutcome) -> Outcomes:
    return Outcomes({item.saga_id: item for item in items})


def test_complete_and_fully_undone_sagas_pass() -> None:
    ran = outcomes(
        SagaOutcome("a", "COMPLETED"), SagaOutcome("b", "COMPENSATED", report=UNDONE_REPORT)
    )
    state = {**COMPLETE, "charges": {**COMPLETE["charges"], **UNDONE["charges"]}}
    verdict = check(ran, state, refused={"b"})
    assert verdict.clean, verdict.explain()


def test_a_compensated_saga_with_its_charge_kept_is_a_violation() -> None:
    state = {"charges": {"charges-2": {"id": "charges-2", "saga": "b"}}}
    ran = outcomes(SagaOutcome("b", "COMPENSATED", report=UNDONE_REPORT))
    verdict = check(ran, state, refused={"b"})
    assert verdict.violations == ["b: compensated but charge charges-2 not refunded"]


def test_a_completed_saga_missing_an_effect_is_a_violation() -> None:
    state = {k: v for k, v in COMPLETE.items() if k != "shipments"}
    verdict = check(outcomes(SagaOutcome("a", "COMPLETED")), state, refused=set())
    assert verdict.violations == ["a: completed but no shipments"]


def test_a_step_left_succeeded_in_a_compensated_report_is_a_violation() -> None:
    report = {"steps": [{"name": "charge", "status": "SUCCEEDED"}]}
    verdict = check(outcomes(SagaOutcome("b", "COMPENSATED", report=report)), UNDONE, {"b"})
    assert verdict.violations == ["b: step charge left SUCCEEDED in a compensated saga"]


def test_an_end_state_the_faults_do_not_explain_is_a_violation() -> None:
    verdict = check(outcomes(SagaOutcome("a", "COMPENSATED", report=UNDONE_REPORT)), {}, set())
    assert len(verdict.violations) == 1 and "expected COMPLETED" in verdict.violations[0]


def test_two_charges_for_one_saga_are_a_duplicate() -> None:
    state = {**COMPLETE, "charges": {**COMPLETE["charges"], "charges-9": {"id": "x", "saga": "a"}}}
    verdict = check(outcomes(SagaOutcome("a", "COMPLETED")), state, refused=set())
    assert verdict.duplicates == ["a: 2 charges"]


def test_an_unfinished_saga_is_lost() -> None:
    verdict = check(outcomes(SagaOutcome("a", "LOST", detail="not finished")), {}, set())
    assert verdict.lost == ["a: not finished"] and not verdict.clean
