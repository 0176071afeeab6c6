"""Forward progress: every ready step starts at once, each as one HTTP activity.

A failure stops new starts while steps in flight run to their end; a cancel or the
saga's own `timeout` cancels the steps in flight, except a pivot in flight (semantics
2), whose outcome decides. A wait step waits for data delivered by the `signal` update
instead of sending its request. The saga's `output` is rendered at the end.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

from dsl import (
    ExpressionError,
    Saga,
    Step,
    compile_condition,
    compile_template,
    evaluate_condition,
    format_duration,
)
from interpreter.contract import HttpCall, SagaStatus, StepStatus
from interpreter.workflow._outcomes import attempts_of, describe, may_have_landed, was_sent
from interpreter.workflow._state import (
    FINISHED,
    MAX_SAGA_OUTPUT_BYTES,
    RunState,
    handlers_finished,
    move,
    now,
)
from interpreter.workflow._wait import judge, timed_out

__all__ = ["Forward"]


class Forward(RunState):
    """The forward pass of a run (see the module docstring)."""

    async def _forward(self, saga: Saga, *, first: bool = True) -> None:
        deadline = None
        if first and saga.timeout is not None:  # a retry past the pivot has no deadline
            deadline = asyncio.create_task(self._expire(saga, saga.timeout))
        while True:
            if self._report.reason is None:
                self._start_ready(saga)
            if not self._running:
                break
            try:
                await self._a_step_ended()
            except asyncio.CancelledError:
                # `saga cancel` arrives as an asyncio.CancelledError in this (the main)
                # task: a BaseException, so `except Exception` would miss it and leave the
                # saga half done. Only the cancel is caught; other BaseExceptions (the
                # worker evicting this run from its cache) must pass untouched.
                await self._interrupt(saga, "cancel", "cancelled")
            self._reap()
        if deadline is not None and not deadline.done():
            deadline.cancel()

    async def _a_step_ended(self) -> None:
        """Until a running step's task has ended. From semantics 4 the task that ends
        wakes this wait itself (`_step_ended`); before, a condition over every running
        task was re-checked after each activation."""
        if self._semantics < 4:
            await workflow.wait_condition(lambda: any(t.done() for t in self._running.values()))
            return
        if any(t.done() for t in self._running.values()):
            return
        self._ended = asyncio.get_running_loop().create_future()
        try:
            await self._ended
        finally:
            self._ended = None

    def _step_ended(self, _: object) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    async def _expire(self, saga: Saga, timeout: timedelta) -> None:
        await workflow.sleep(timeout, summary="saga timeout")
        await self._interrupt(saga, "timeout", f"timed out after {format_duration(timeout)}")

    async def _interrupt(self, saga: Saga, reason: str, message: str) -> None:
        # The cancel (or the timer) may arrive in the same workflow task as a step's
        # result. Cancelling that step's task now would throw the result away and the
        # step, whose effect landed, would never be undone. An always-true condition is
        # only checked once every ready task has run: the steps that have their results
        # record them first; only the ones still in flight are cancelled.
        await workflow.wait_condition(lambda: True)
        if self._committed:
            workflow.logger.warning("saga is past its pivot: %s ignored, going forward", reason)
            if self._semantics >= 2:
                self._report.notes.append(f"{reason} ignored: the pivot had already succeeded")
            return
        if self._semantics >= 2 and self._pivot_in_flight():
            # The pivot's outcome decides (see _release): cancelling it could leave it
            # applied with nothing after it. Steps in flight beside it finish too; none
            # starts meanwhile.
            if self._held is None:
                self._held = (reason, message, self._report.reason is None)
            return
        if self._report.reason is None:
            self._stopped(reason, message)
        for task in self._running.values():
            if not task.done():
                task.cancel()

    def _pivot_in_flight(self) -> bool:
        assert self._saga is not None
        saga = self._saga
        # A waiting pivot has taken no effect: a cancel or timeout simply ends its wait.
        return any(
            saga.step(n).pivot and saga.step(n).wait is None
            for n, t in self._running.items()
            if not t.done()
        )

    def _release(self, pivot: str) -> None:
        """The pivot a cancel or timeout waited for has ended: forward if it succeeded,
        else the interrupt takes effect now."""
        assert self._held is not None
        (reason, message, first), self._held = self._held, None
        if self._committed:
            self._report.notes.append(
                f"{reason} arrived while the pivot {pivot!r} was in flight; the pivot "
                "succeeded, so the saga went forward"
            )
            return
        if first:  # nothing had stopped the saga before the interrupt: it is the reason
            self._stopped(reason, message)
        for name, task in self._running.items():
            if name != pivot and not task.done():
                task.cancel()

    def _reap(self) -> None:
        for name, task in list(self._running.items()):
            if task.done():
                del self._running[name]
                task.result()  # a bug in the step's own code fails the workflow task

    def _start_ready(self, saga: Saga) -> None:
        def start(name: str) -> None:
            step = saga.step(name)
            if self._wanted(saga, step):
                move(self._steps[name], StepStatus.RUNNING)
                task = asyncio.create_task(self._step(saga, step))
                if self._semantics >= 4:
                    task.add_done_callback(self._step_ended)
                self._running[name] = task

        assert self._plan is not None
        self._plan.start_ready(self._steps, start, self._no_new_steps)

    def _no_new_steps(self) -> bool:
        """A failure, a cancel or a timeout stops new starts; so does a cancel that waits
        for the pivot in flight (semantics 2)."""
        return self._report.reason is not None or self._held is not None

    async def _step(self, saga: Saga, step: Step) -> None:
        await self._run_step(saga, step)
        # At once, in the step's own task: its dependants are ready the moment it is done.
        if self._plan is not None and self._steps[step.name].status in FINISHED:
            self._plan.done(step.name)

    def _wanted(self, saga: Saga, step: Step) -> bool:
        """Evaluate `when` now that the step is ready; false skips it."""
        if step.when is None:
            return True
        try:
            wanted = evaluate_condition(
                compile_condition(step.when), self._context(saga), ordered=self._semantics >= 2
            )
        except ExpressionError as error:
            self._step_failed(step.name, f"when: {error.message}")
            return False
        if not wanted:
            move(self._steps[step.name], StepStatus.SKIPPED)
            self._steps[step.name].finished_at = now()
        return wanted

    async def _run_step(self, saga: Saga, step: Step) -> None:
        report = self._steps[step.name]
        report.started_at = now()
        if step.wait is not None:
            await self._wait_step(saga, step)
            return
        call: HttpCall | None = None
        try:
            call, effective = self._call(step, "action", self._context(saga))
            result = await self._execute(call, effective, forever=self._committed)
        except ExpressionError as error:
            self._step_failed(step.name, error.message)
        except ActivityError as error:
            report.attempts = attempts_of(error)
            if was_sent(error):
                self._sent.add(step.name)
            if call is not None and may_have_landed(error):
                self._uncertain(step.name, call)
            if isinstance(error.cause, CancelledError):
                move(report, StepStatus.CANCELLED)
            else:
                self._step_failed(step.name, describe(error, call))
        except asyncio.CancelledError:
            move(report, StepStatus.CANCELLED)
            if call is not None:  # the request may have gone out: undo it if asked to
                self._sent.add(step.name)
                self._uncertain(step.name, call)
        else:
            self._sent.add(step.name)
            self._outputs[step.name] = result.output
            report.attempts = result.attempt
            move(report, StepStatus.SUCCEEDED)
            self._committed = self._committed or step.pivot
        # Not in a `finally`: when a worker evicts the run, nothing more may happen here.
        report.finished_at = now()
        if step.pivot and self._held is not None:
            self._release(step.name)

    async def _wait_step(self, saga: Saga, step: Step) -> None:
        """Notify, wait for the data (or the timeout), judge it. A failure elsewhere
        ends the wait (CANCELLED): nothing waited for can matter once the saga undoes."""
        assert step.wait is not None
        report, name = self._steps[step.name], step.name
        if step.wait.notify is not None and not await self._notify(saga, step):
            return
        self._sent.add(name)  # the wait began: `compensate_on: attempt` undoes from here
        move(report, StepStatus.WAITING)
        report.waiting_since = now()
        report.deadline = (workflow.now() + step.wait.timeout).isoformat()

        def ended() -> bool:
            stopped = self._report.reason is not None and not self._committed
            return name in self._signals or stopped

        try:
            await workflow.wait_condition(
                ended,
                timeout=step.wait.timeout,
                timeout_summary=f"{name} (wait)",
            )
        except TimeoutError:
            report.reason = "timeout"
            self._step_failed(name, timed_out(step))
        except asyncio.CancelledError:
            move(report, StepStatus.CANCELLED)
        else:
            self._judge(saga, step)
        report.finished_at = now()

    async def _notify(self, saga: Saga, step: Step) -> bool:
        """Send the wait's notify; False (the step has ended) when it did not succeed."""
        report, call = self._steps[step.name], None
        try:
            call, effective = self._call(step, "notify", self._context(saga))
            await self._execute(call, effective)
            return True
        except ExpressionError as error:
            self._step_failed(step.name, f"notify: {error.message}")
        except ActivityError as error:
            report.attempts = attempts_of(error)
            if was_sent(error):
                self._sent.add(step.name)
            if isinstance(error.cause, CancelledError):
                move(report, StepStatus.CANCELLED)
            else:
                self._step_failed(step.name, f"notify: {describe(error, call)}")
        except asyncio.CancelledError:
            move(report, StepStatus.CANCELLED)
            if call is not None:
                self._sent.add(step.name)
        report.finished_at = now()
        return False

    def _judge(self, saga: Saga, step: Step) -> None:
        report = self._steps[step.name]
        if step.name not in self._signals:  # the saga stopped while the step waited
            move(report, StepStatus.CANCELLED)
            return
        output, reason, failure = judge(step, self._signals[step.name], self._context(saga))
        if failure is not None:
            report.reason = reason
            self._step_failed(step.name, failure)
            return
        self._outputs[step.name] = output
        move(report, StepStatus.SUCCEEDED)
        self._committed = self._committed or step.pivot

    async def _complete(self, saga: Saga) -> Any:
        if saga.output is not None:
            output = compile_template(saga.output).render(
                self._context(saga), ordered=self._semantics >= 2
            )
        else:
            output = {name: self._outputs[name] for name in self._steps if name in self._outputs}
        size = len(json.dumps(output, separators=(",", ":")).encode())
        if size > MAX_SAGA_OUTPUT_BYTES:
            # Temporal would refuse the result by failing every workflow task: the saga
            # would hang instead of being compensated.
            raise ExpressionError(f"the saga's output is {size} bytes as JSON, over 1.5 MiB")
        self._report.output = output
        self._set_status(SagaStatus.COMPLETED)
        self._report.finished_at = now()
        await handlers_finished()
        return output
