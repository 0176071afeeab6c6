"""After the forward pass: undo, park, or (past the pivot) retry forward, then end.

Compensation is shielded from cancellation: a step is undone only after every step
that depends on it has been undone; independent undos run concurrently. While
compensations have failed the saga parks (if it says so) until a `resume` update. Past
the pivot (semantics 2) nothing is undone: a step that failed for good parks the saga
for a retry or ends it INCOMPLETE.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from dsl import ExpressionError, Saga, Step, effective_request
from interpreter.contract import ERROR_TYPES, HttpCall, SagaStatus, StepStatus
from interpreter.workflow._calls import request_of
from interpreter.workflow._forward import Forward
from interpreter.workflow._outcomes import attempts_of, describe, reads_own_output, summary
from interpreter.workflow._plan import undo_waits
from interpreter.workflow._state import (
    UNDOABLE_FAILURES,
    handlers_finished,
    move,
    now,
    shielded,
)

__all__ = ["Settle"]


class Settle(Forward):
    """Compensation, parking and the end of a run (see the module docstring)."""

    def _to_undo(self, saga: Saga) -> list[str]:
        def needs_undo(step: Step) -> bool:
            status = self._steps[step.name].status
            attempted = step.compensate_on == "attempt" and step.name in self._sent
            unsure = step.name in self._unsure  # semantics 2 only
            undoable = (attempted or unsure) and status in UNDOABLE_FAILURES
            return status == StepStatus.SUCCEEDED or undoable

        return [s.name for s in saga.steps if request_of(s, "compensation") and needs_undo(s)]

    async def _compensate(self, saga: Saga, names: list[str]) -> None:
        self._set_status(SagaStatus.COMPENSATING)
        self._rounds += 1
        waits = undo_waits(saga, names)
        if self._semantics >= 4:
            await _undo_in_order(names, waits, lambda name: self._undo_step(saga, saga.step(name)))
        else:
            undone = set[str]()

            async def undo(name: str) -> None:
                await workflow.wait_condition(lambda: all(w in undone for w in waits[name]))
                await self._undo_step(saga, saga.step(name))
                undone.add(name)

            await asyncio.gather(*(undo(name) for name in names))
        self._refresh_failures()

    async def _undo_step(self, saga: Saga, step: Step) -> None:
        report = self._steps[step.name]
        report.compensation_error = None
        if self._semantics < 2:
            move(report, StepStatus.COMPENSATING)
        elif step.name in self._unsure and step.compensate_on == "success":
            await self._resolve(saga, step)
            if step.name in self._unsure and reads_own_output(step):
                self._undecidable(step)
                return
        call: HttpCall | None = None
        try:
            # Rendered before COMPENSATING (semantics 2), so `steps.<self>.status` reads
            # how the action ended: what a `compensate_on: attempt` compensation needs.
            context = self._context(saga, own=step.name)
            call, effective = self._call(step, "compensation", context)
            if self._semantics >= 2:
                move(report, StepStatus.COMPENSATING)
            result = await self._execute(call, effective)
        except ExpressionError as error:
            report.compensation_error = error.message
            move(report, StepStatus.COMPENSATION_FAILED)
        except ActivityError as error:
            report.compensation_attempts += attempts_of(error)
            move(report, StepStatus.COMPENSATION_FAILED)
            report.compensation_error = describe(error, call)
        else:
            report.compensation_attempts += result.attempt
            report.compensated_at = now()
            move(report, StepStatus.COMPENSATED)

    async def _resolve(self, saga: Saga, step: Step) -> None:
        """Learn an uncertain action's outcome by sending the same request again, with the
        same Idempotency-Key: a service that applied it answers as it did the first time.
        Without a key a second request could apply twice, so none is sent."""
        call, report = self._unsure[step.name], self._steps[step.name]
        if call.idempotency_key is None:
            return
        assert step.action is not None  # only an action's outcome can be uncertain
        effective = effective_request(saga, step.action, "action")
        try:
            result = await self._execute(call, effective, resolution=True)
        except ActivityError as error:
            report.last_error = f"{report.last_error}; resent: {describe(error, call)}"
            return
        del self._unsure[step.name]
        report.outcome_uncertain = False
        self._outputs[step.name] = result.output
        move(report, StepStatus.SUCCEEDED)
        self._report.notes.append(
            f"{step.name}: its outcome was uncertain; resent with its Idempotency-Key it "
            "succeeded, so it was undone like any step that succeeded"
        )

    def _undecidable(self, step: Step) -> None:
        report = self._steps[step.name]
        keyless = self._unsure[step.name].idempotency_key is None
        how = (
            "it has no Idempotency-Key to resend it safely" if keyless else "resending did not tell"
        )
        report.compensation_error = (
            f"outcome uncertain: the action may have taken effect ({report.last_error}); "
            f"{how}, and its compensation needs the action's output"
        )
        move(report, StepStatus.COMPENSATION_FAILED)

    async def _park_while_failed(self, saga: Saga) -> None:
        while self._failed_compensations() and saga.on_compensation_failure == "park":
            self._set_status(SagaStatus.PARKED)
            try:
                await workflow.wait_condition(lambda: self._resume is not None)
            except asyncio.CancelledError:
                return  # cancelling a parked saga gives up on it: it ends COMPENSATION_FAILED
            request, self._resume = self._resume, None
            assert request is not None
            for name in request.skip:
                self._steps[name].compensation_skipped = True
            self._refresh_failures()
            if request.retry and self._failed_compensations():
                await shielded(self._compensate(saga, self._failed_compensations()))

    async def _finish_committed(self, saga: Saga) -> Any:
        """Past the pivot nothing is undone: a step that failed for good is not a
        compensation failure. The saga parks (if it says so) until `resume --retry` runs
        the failed steps again, or `--skip` gives them up; else it ends INCOMPLETE.
        Returns the output when a retry lets the saga complete."""
        while self._failed_forward() and saga.on_compensation_failure == "park":
            self._refresh_failures()
            self._set_status(SagaStatus.PARKED)
            try:
                await workflow.wait_condition(lambda: self._resume is not None)
            except asyncio.CancelledError:
                break  # cancelling a parked saga gives up on it: it ends INCOMPLETE
            request, self._resume = self._resume, None
            assert request is not None
            for name in request.skip:
                self._steps[name].compensation_skipped = True
            if request.retry and self._failed_forward():
                output = await self._retry_forward(saga)
                if self._report.reason is None:
                    return output
        self._refresh_failures()
        return None

    async def _retry_forward(self, saga: Saga) -> Any:
        assert self._plan is not None
        for name in self._failed_forward():
            self._steps[name].status = StepStatus.PENDING  # ready again; RUNNING is recorded
            self._plan.again(name)
        self._report.reason = self._report.error = self._report.failed_step = None
        await self._forward(saga, first=False)
        if self._report.reason is not None:
            return None
        try:
            return await self._complete(saga)
        except ExpressionError as error:
            self._stopped("failure", f"output: {error.message}")
            return None

    async def _end(self) -> NoReturn:
        failed = bool(self._report.compensation_failures)
        status = SagaStatus.COMPENSATION_FAILED if failed else SagaStatus.COMPENSATED
        if self._parks_forward():
            status = SagaStatus.INCOMPLETE
        self._set_status(status)
        self._report.finished_at = now()
        await handlers_finished()
        raise ApplicationError(
            summary(self._report), self._details(), type=ERROR_TYPES[status], non_retryable=True
        )


async def _undo_in_order(
    names: list[str],
    waits: dict[str, list[str]],
    undo_step: Callable[[str], Awaitable[None]],
) -> None:
    """Undo `names`, each once the undos it waits for have ended (semantics 4).

    An undo starts (a task of its own) when the last undo it waits for ends, so nothing
    waits on a condition the SDK would re-check after every activation: 1,000 undos cost
    what their own steps cost. Undos that become startable together start in `names`
    order. Returns when every undo has ended; a bug in one fails the workflow task.
    """
    if not names:
        return
    left = {name: len(waits[name]) for name in names}
    released: dict[str, list[str]] = {name: [] for name in names}
    for name in names:  # in list order, so each list is in list order too
        for first in waits[name]:
            released[first].append(name)
    all_done = asyncio.get_running_loop().create_future()
    remaining = len(names)
    tasks: list[asyncio.Task[None]] = []

    async def undo(name: str) -> None:
        nonlocal remaining
        try:
            await undo_step(name)
        except Exception as error:  # handed to the caller, which fails the workflow task
            if not all_done.done():
                all_done.set_exception(error)
            return
        for later in released[name]:
            left[later] -= 1
            if left[later] == 0:
                tasks.append(asyncio.create_task(undo(later)))
        remaining -= 1
        if remaining == 0 and not all_done.done():
            all_done.set_result(None)

    tasks.extend(asyncio.create_task(undo(name)) for name in names if left[name] == 0)
    await all_done
