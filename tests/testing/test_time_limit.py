"""Cases that once ran into their time limit: a case out of time fails alone, and a
cancel never races an answer on its way."""

from __future__ import annotations

from interpreter.testing import Answer, Fault, Simulator

from .conftest import saga, step
from .test_wait_cases import approved_shop


async def test_after_a_case_out_of_time_the_next_still_skips_time() -> None:
    # The undo of `order` is answered 503 forever, so it is retried without end. A run
    # stopped at the time limit is terminated with a workflow task outstanding, which
    # leaves the test server's time skipping locked for good: without a fresh server,
    # the next case's 24 h wait would run into the limit as well.
    endless = {("order", "compensation"): Fault("503"), ("pay", "action"): Fault("409")}
    async with Simulator.start(time_limit=5) as simulator:
        stopped = await simulator.run(saga([step("order"), step("pay")]), None, faults=endless)
        assert stopped.report is None
        assert stopped.problem == "the saga did not end within 5 s of real time"
        waited = await simulator.run(approved_shop(), None)
        assert waited.report is not None, waited.problem
        assert (str(waited.report.status), waited.report.failed_step) == ("COMPENSATED", "approval")


async def test_a_cancel_waits_for_the_answers_on_their_way_beside_the_held_step(
    simulator: Simulator,
) -> None:
    # `slow` runs beside `held` and answers after a real second. The cancel goes out
    # only once `slow` has answered: a cancel racing an answer on its way makes the test
    # server refuse the workflow's every task, and the case never ends. So `slow`
    # answers before `held` is let go, and both are undone (`last` never starts).
    answers = {"shop": {"POST /slow": Answer(delay=1.0)}}
    shop = saga([step("held"), step("slow", after=[]), step("last", after=["held", "slow"])])
    run = await simulator.run(shop, None, answers, {("held", "action"): Fault("cancel")})
    assert run.report is not None, run.problem
    assert (str(run.report.status), run.report.reason) == ("COMPENSATED", "cancel")
    answered = {r.step: r.answered_seq for r in run.record if r.kind == "action"}
    assert answered["slow"] < answered["held"]
    undone = {r.step for r in run.record if r.kind == "compensation" and r.status == 204}
    assert undone == {"held", "slow"}
