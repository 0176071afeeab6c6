"""Wait steps in `saga test`: data delivered as the run starts, the matrix's wait cases."""

from __future__ import annotations

from typing import Any

from interpreter.contract import StepStatus
from interpreter.testing import Simulator, Suite, matrix_suite, run_suite

from .conftest import saga, step

APPROVAL = {
    "name": "approval",
    "wait": {
        "timeout": "24h",
        "schema": {
            "type": "object",
            "required": ["ok"],
            "properties": {"ok": {"type": "boolean"}},
        },
        "success": "${ signal.ok }",
    },
}
YES, NO = {"ok": True}, {"ok": False}


def approved_shop() -> Any:
    return saga([step("order"), APPROVAL, step("pay")])


async def run_matrix(simulator: Simulator, **data: Any) -> dict[str, Any]:
    suite: Suite = await run_suite(simulator, matrix_suite(approved_shop(), None, **data))
    return {result.case.name: result for result in suite.results}


async def test_with_data_the_matrix_runs_the_steps_behind_a_wait(simulator: Simulator) -> None:
    results = await run_matrix(simulator, signals={"approval": YES}, rejections={"approval": NO})
    skipped = sorted(name for name, r in results.items() if r.status == "SKIPPED")
    # pay is the last step: nothing after it fails; and the saga has no timeout.
    assert skipped == ["pay compensation fails (409)", "the saga's timeout expires"]
    assert results["no fault"].status == "COMPLETED"
    assert results["pay fails (409)"].status == "COMPENSATED"
    assert results["pay is uncertain"].status == "COMPENSATED"
    for name in (
        "approval is not answered (timeout)",
        "approval is rejected",
        "cancel while approval waits",
    ):
        assert results[name].status == "COMPENSATED", name
    assert all(r.passed for r in results.values()), {n: r.failures for n, r in results.items()}


async def test_without_data_the_steps_behind_are_skipped_but_the_wait_times_out(
    simulator: Simulator,
) -> None:
    results = await run_matrix(simulator)
    skipped = results["pay fails (409)"]
    assert skipped.status == "SKIPPED"
    assert skipped.case.skipped is not None
    assert "`signals: {approval: DATA}`" in skipped.case.skipped
    assert "--signal approval=JSON" in skipped.case.skipped
    rejected = results["approval is rejected"]
    assert rejected.status == "SKIPPED"
    assert rejected.case.skipped is not None and "`rejections: {approval: DATA}`" in (
        rejected.case.skipped
    )
    timeout = results["approval is not answered (timeout)"]
    assert timeout.status == "COMPENSATED" and timeout.passed, timeout.failures


async def test_a_rejection_compensates_the_steps_before_the_wait(simulator: Simulator) -> None:
    run = await simulator.run(approved_shop(), None, signals={"approval": NO})
    assert run.report is not None and run.services is not None
    statuses = {s.name: s.status for s in run.report.steps}
    assert statuses == {
        "order": StepStatus.COMPENSATED,
        "approval": StepStatus.FAILED,
        "pay": StepStatus.PENDING,  # never started
    }
    assert [(r.step, r.kind, r.method) for r in run.record] == [
        ("order", "action", "POST"),
        ("order", "compensation", "DELETE"),
    ]


async def test_an_approval_runs_the_steps_behind_the_wait(simulator: Simulator) -> None:
    run = await simulator.run(approved_shop(), None, signals={"approval": YES})
    assert run.report is not None
    assert str(run.report.status) == "COMPLETED"
    assert [(r.step, r.kind) for r in run.record] == [("order", "action"), ("pay", "action")]


async def test_a_cancel_while_it_waits_undoes_what_ran(simulator: Simulator) -> None:
    run = await simulator.run(approved_shop(), None, cancel_waiting="approval")
    assert run.report is not None
    assert (str(run.report.status), run.report.reason) == ("COMPENSATED", "cancel")
    assert {s.name: s.status for s in run.report.steps}["approval"] == StepStatus.CANCELLED
