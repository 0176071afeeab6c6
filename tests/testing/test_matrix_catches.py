"""The matrix finds real mistakes in sagas, each named by step, fault and invariant."""

from __future__ import annotations

from interpreter.testing import Simulator

from .conftest import matrix, saga, step


async def test_a_mutating_step_without_compensation_leaves_its_effect(
    simulator: Simulator,
) -> None:
    first = step("order")
    del first["compensation"], first["output"]
    results = await matrix(simulator, saga([first, step("pay")]))
    case = results["pay fails (409)"]
    assert not case.passed
    assert case.left_in_place == ["order"]
    assert "invariant 1" in case.failures[0] and "order" in case.failures[0]


async def test_compensation_none_is_listed_not_failed(simulator: Simulator) -> None:
    first = step("email", compensation="none")
    del first["output"]
    results = await matrix(simulator, saga([first, step("pay")]))
    case = results["pay fails (409)"]
    assert case.passed, case.failures
    assert case.on_purpose == ["email"]
    assert case.left_in_place == []


async def test_a_compensation_needing_an_uncertain_steps_output_is_caught(
    simulator: Simulator,
) -> None:
    # The undo is DELETE /pay/<id from the answer>. When the answer is lost and the
    # request has no Idempotency-Key, it cannot be resent to learn the id: nothing can
    # name what to delete, and the charge stays. The saga must say so, and the matrix
    # shows which effect is left and where.
    pay = step("pay")
    pay["action"]["idempotency_key"] = False
    results = await matrix(simulator, saga([step("order"), pay]))
    case = results["pay is uncertain"]
    assert case.status == "COMPENSATION_FAILED"
    assert case.left_in_place == ["pay"]


async def test_an_uncertain_step_is_resent_with_its_key_and_then_undone(
    simulator: Simulator,
) -> None:
    # With its Idempotency-Key the lost answer is recovered by sending the request
    # again: the service answers as it did the first time, and the charge is undone.
    results = await matrix(simulator, saga([step("order"), step("pay")]))
    case = results["pay is uncertain"]
    assert case.passed, case.failures
    assert (case.status, case.left_in_place) == ("COMPENSATED", [])


async def test_a_compensation_by_a_key_it_chose_survives_an_uncertain_step(
    simulator: Simulator,
) -> None:
    pay = {
        "name": "pay",
        "action": {"service": "shop", "method": "PUT", "path": "/payments/p-1"},
        "compensate_on": "attempt",
        "compensation": {"service": "shop", "method": "DELETE", "path": "/payments/p-1"},
    }
    results = await matrix(simulator, saga([step("order"), pay]))
    assert results["pay is uncertain"].passed, results["pay is uncertain"].failures
    assert results["pay times out"].passed, results["pay times out"].failures


async def test_a_saga_timeout_shorter_than_its_steps_worst_case_is_caught(
    simulator: Simulator,
) -> None:
    # 3 attempts of 5s plus the waits between them: 17s, over the 10s the saga allows.
    results = await matrix(simulator, saga([step("order"), step("pay")], timeout="10s"))
    case = next(r for name, r in results.items() if name.startswith("the saga's timeout"))
    assert not case.passed
    assert "timeout (10s) can expire while order's request is in flight" in case.failures[0]


async def test_a_saga_timeout_longer_than_the_worst_case_passes(simulator: Simulator) -> None:
    results = await matrix(simulator, saga([step("order"), step("pay")], timeout="1h"))
    case = next(r for name, r in results.items() if name.startswith("the saga's timeout"))
    assert case.passed, case.failures
    assert case.status == "COMPENSATED"


async def test_a_timed_out_step_whose_request_landed_is_resolved_and_undone(
    simulator: Simulator,
) -> None:
    # A timeout is not "not applied": the service may have booked the order. The saga
    # sends the request again with its key, learns the order exists, and undoes it.
    results = await matrix(simulator, saga([step("order"), step("pay")]))
    case = results["order times out"]
    assert case.passed, case.failures
    assert (case.status, case.left_in_place) == ("COMPENSATED", [])


async def test_a_well_built_saga_passes_every_case(simulator: Simulator) -> None:
    steps = [
        {
            "name": name,
            "action": {"service": "shop", "method": "PUT", "path": f"/{name}/k-1"},
            "compensate_on": "attempt",
            "compensation": {"service": "shop", "method": "DELETE", "path": f"/{name}/k-1"},
        }
        for name in ("order", "pay", "ship")
    ]
    results = await matrix(simulator, saga(steps, timeout="1h"))
    failed = {name: r.failures for name, r in results.items() if not r.passed}
    assert failed == {}
    assert len(results) == 1 + 3 * 4 + 3 + 1
