"""A case that runs into its time limit fails alone: the cases after it still run."""

from __future__ import annotations

from interpreter.testing import Fault, Simulator

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
