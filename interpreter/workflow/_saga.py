"""The generic saga workflow: one definition in, its steps run, undone when they must be.

A run's argument is an immutable snapshot of the definition plus the input, so editing a
file never touches sagas already running. The life of a run:

1. parse the snapshot, check the input against the saga's `input` schema (nothing is
   sent when it does not fit);
2. forward: every ready step starts at once, each as one HTTP activity; a failure stops
   new starts while steps in flight run to their end; a cancel or the saga's own
   `timeout` cancels the steps in flight;
3. compensate, shielded from cancellation: a step is undone only after every step that
   depends on it has been undone, independent undos run concurrently;
   A wait step instead waits for data delivered by the `signal` update (`_wait_step`);
4. park (if the saga says so) while compensations have failed, until a `resume` update;
5. end: return the output, or fail with an `ApplicationError` whose type says how the
   saga ended and whose details[0] is the `SagaReport`.

Nothing but the HTTP activities (and the saga timer) enters the history: templates are
rendered here, `success` and `output` in the activity, secrets only in the activity.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import fields
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from dsl import (
        EffectiveRequest,
        ExpressionError,
        Saga,
        Step,
        compile_condition,
        compile_template,
        effective_request,
        evaluate_condition,
        format_duration,
    )
    from dsl import input_problems as dsl_input_problems
    from interpreter.contract import (
        ACTIVITY_NAME,
        ERROR_TYPES,
        INVALID_DEFINITION_ERROR,
        INVALID_INPUT_ERROR,
        QUERY_REPORT,
        SEARCH_ATTRIBUTE_NAME,
        SEARCH_ATTRIBUTE_STATUS,
        UPDATE_RESUME,
        UPDATE_SIGNAL,
        WORKFLOW_NAME,
        HttpCall,
        HttpResult,
        ResumeRequest,
        SagaReport,
        SagaRunInput,
        SagaStatus,
        SignalRequest,
        StepReport,
        StepStatus,
        StepTransition,
    )
    from interpreter.workflow._calls import build_call, request_of, retry_policy
    from interpreter.workflow._outcomes import (
        attempts_of,
        describe,
        input_problems,
        may_have_landed,
        reads_own_output,
        summary,
        was_sent,
    )
    from interpreter.workflow._plan import Plan, StepsView, undo_waits
    from interpreter.workflow._wait import judge, refusal, timed_out

__all__ = ["HEARTBEAT_TIMEOUT", "SEMANTICS_PATCHES", "TIMEOUT_MARGIN", "SagaWorkflow"]

TIMEOUT_MARGIN = timedelta(seconds=10)
"""Added to a request's timeout for Temporal's start-to-close: the activity times the
request itself and reports it readably; Temporal's timeout only catches a stuck worker."""
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A worker that dies mid-request is noticed this fast, and the attempt retried."""

NAME_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_NAME)
STATUS_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATUS)
UNDOABLE_FAILURES = (StepStatus.FAILED, StepStatus.CANCELLED)
FINISHED = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
ACTION_ENDS = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED)
RESOLUTION_ATTEMPTS = 5
"""The most attempts a resolution makes when its action retries without limit: the
decision to compensate waits for it, so it must end."""
INTERRUPTS = ("cancel", "timeout")
SEMANTICS_PATCHES = ("saga-semantics-2",)
"""One `workflow.patched` id per release that changed what the workflow does, oldest
first. A run takes the newest its history allows, once, when it starts: runs recorded
before a release replay with the behaviour they had, new runs get the new one. Every
behaviour change tests `self._semantics`; a release that changes behaviour appends an id
(never removes or renames one) and records new histories under tests/."""
MAX_SAGA_OUTPUT_BYTES = 3 * 512 * 1024
"""The run's result as JSON; under Temporal's 2 MB payload limit with room to spare."""


@workflow.defn(name=WORKFLOW_NAME)
class SagaWorkflow:
    @workflow.init
    def __init__(self, run: SagaRunInput) -> None:
        self._search_attributes = run.search_attributes
        self._input = run.input
        self._saga: Saga | None = None
        self._definition_problem = ""
        try:
            self._saga = Saga.model_validate(run.definition)
        except ValidationError as error:
            self._definition_problem = f"invalid saga definition: {error.errors()[0]['msg']}"
        steps = self._saga.steps if self._saga else []
        self._report = SagaReport(
            saga_id=workflow.info().workflow_id,
            saga_name=self._saga.name if self._saga else str(run.definition.get("name", "")),
            steps=[StepReport(name=step.name) for step in steps],
            started_at=_now(),
        )
        self._steps = {report.name: report for report in self._report.steps}
        self._outputs: dict[str, Any] = {}
        # Built once per run: what each decision needs, so none costs the saga's length.
        self._plan = Plan(self._saga) if self._saga else None
        self._steps_view = StepsView(self._steps, self._outputs)
        self._sent: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._committed = False
        self._rounds = 0
        self._resume: ResumeRequest | None = None
        self._held: tuple[str, str, bool] | None = None
        """A cancel or timeout waiting for the pivot in flight (semantics 2): its reason, its
        message, and whether it came before anything else stopped the saga."""
        self._unsure: dict[str, HttpCall] = {}
        """Actions whose outcome is uncertain (semantics 2), with the request as it was sent."""
        self._semantics = 1
        """Which behaviour this run has: see SEMANTICS_PATCHES."""
        self._signals: dict[str, Any] = {}
        """Data delivered to wait steps (semantics 2), kept until the step uses it."""

    @workflow.run
    async def run(self, run: SagaRunInput) -> Any:
        self._semantics = _semantics()
        saga = self._checked()
        self._set_status(SagaStatus.RUNNING, NAME_KEY.value_set(saga.name))
        await self._forward(saga)
        if self._report.reason in INTERRUPTS and all(
            r.status in FINISHED for r in self._report.steps
        ):
            # Every step took effect after all (the last answered while the cancel was
            # waiting for them): the transaction is done and the cancel came too late.
            workflow.logger.warning("every step finished: %s ignored", self._report.reason)
            if self._semantics >= 2:
                self._report.notes.append(
                    f"{self._report.reason} ignored: every step had taken effect by then"
                )
            self._report.reason = self._report.error = self._report.failed_step = None
        if self._report.reason is None:
            try:
                return await self._complete(saga)
            except ExpressionError as error:
                self._stopped("failure", f"output: {error.message}")
        if self._committed and self._semantics >= 2:
            output = await self._finish_committed(saga)
            if self._report.reason is None:
                return output
        elif self._committed:
            self._refresh_failures()  # past the pivot nothing is undone: failures need a person
        else:
            await _shielded(self._compensate(saga, self._to_undo(saga)))
            await self._park_while_failed(saga)
        await self._end()

    @workflow.query(name=QUERY_REPORT)
    def report(self) -> SagaReport:
        return self._report

    @workflow.update(name=UPDATE_RESUME)
    def resume(self, request: ResumeRequest) -> SagaReport:
        self._resume = request
        # Leaving PARKED at once makes the validator refuse a second resume meanwhile.
        forward = self._parks_forward()
        self._set_status(SagaStatus.RUNNING if forward else SagaStatus.COMPENSATING)
        return self._report

    @resume.validator
    def _validate_resume(self, request: ResumeRequest) -> None:
        if self._report.status != SagaStatus.PARKED:
            raise ValueError(f"saga {self._report.saga_id!r} is {self._report.status}, not PARKED")
        forward = self._parks_forward()
        failed = self._failed_forward() if forward else self._failed_compensations()
        for name in request.skip:
            if name not in self._steps:
                what = "failed steps" if forward else "failed compensations"
                raise ValueError(f"unknown step {name!r}; {what}: {', '.join(failed)}")
            if name not in failed and forward:
                raise ValueError(f"step {name!r} has not failed: nothing to give up")
            if name not in failed:
                raise ValueError(f"step {name!r} has no failed compensation to skip")
        if not request.retry and not request.skip:
            raise ValueError("nothing to do: ask to retry, or name the steps to skip")

    @workflow.update(name=UPDATE_SIGNAL)
    def signal(self, request: SignalRequest) -> SagaReport:
        self._signals[request.step] = request.data
        self._steps[request.step].signal_at = _now()
        return self._report

    @signal.validator
    def _validate_signal(self, request: SignalRequest) -> None:
        # `_semantics` is still 1 before the run's first task: the saga itself says
        # whether it has wait steps, and a run recorded before them has none.
        refused = refusal(self._saga, self._report, self._signals, request)
        if refused is not None:
            raise refused

    # --- checks -----------------------------------------------------------------------

    def _checked(self) -> Saga:
        if self._saga is None:
            self._reject(INVALID_DEFINITION_ERROR, "invalid_definition", self._definition_problem)
        if self._semantics >= 2:  # the same judgement as `saga validate` and `saga run`
            problems = dsl_input_problems(self._saga, self._input)
        else:
            problems = input_problems(self._saga.input, self._input)
        if problems:
            self._reject(INVALID_INPUT_ERROR, "invalid_input", "; ".join(problems))
        return self._saga

    def _reject(self, error_type: str, reason: str, message: str) -> NoReturn:
        self._report.reason, self._report.error = reason, message
        self._report.status, self._report.finished_at = SagaStatus.COMPENSATED, _now()
        raise ApplicationError(message, self._report, type=error_type, non_retryable=True)

    # --- forward ----------------------------------------------------------------------

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
                await workflow.wait_condition(lambda: any(t.done() for t in self._running.values()))
            except asyncio.CancelledError:
                # `saga cancel` arrives as an asyncio.CancelledError in this (the main)
                # task: a BaseException, so `except Exception` would miss it and leave the
                # saga half done. Only the cancel is caught; other BaseExceptions (the
                # worker evicting this run from its cache) must pass untouched.
                await self._interrupt(saga, "cancel", "cancelled")
            self._reap()
        if deadline is not None and not deadline.done():
            deadline.cancel()

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
                _move(self._steps[name], StepStatus.RUNNING)
                self._running[name] = asyncio.create_task(self._step(saga, step))

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
            _move(self._steps[step.name], StepStatus.SKIPPED)
            self._steps[step.name].finished_at = _now()
        return wanted

    async def _run_step(self, saga: Saga, step: Step) -> None:
        report = self._steps[step.name]
        report.started_at = _now()
        if step.wait is not None:
            await self._wait_step(saga, step)
            return
        call: HttpCall | None = None
        try:
            call, effective = build_call(
                saga, step, "action", self._context(saga), semantics=self._semantics
            )
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
                _move(report, StepStatus.CANCELLED)
            else:
                self._step_failed(step.name, describe(error, call))
        except asyncio.CancelledError:
            _move(report, StepStatus.CANCELLED)
            if call is not None:  # the request may have gone out: undo it if asked to
                self._sent.add(step.name)
                self._uncertain(step.name, call)
        else:
            self._sent.add(step.name)
            self._outputs[step.name] = result.output
            report.attempts = result.attempt
            _move(report, StepStatus.SUCCEEDED)
            self._committed = self._committed or step.pivot
        # Not in a `finally`: when a worker evicts the run, nothing more may happen here.
        report.finished_at = _now()
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
        _move(report, StepStatus.WAITING)
        report.waiting_since = _now()
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
            _move(report, StepStatus.CANCELLED)
        else:
            self._judge(saga, step)
        report.finished_at = _now()

    async def _notify(self, saga: Saga, step: Step) -> bool:
        """Send the wait's notify; False (the step has ended) when it did not succeed."""
        report, call = self._steps[step.name], None
        try:
            call, effective = build_call(
                saga, step, "notify", self._context(saga), semantics=self._semantics
            )
            await self._execute(call, effective)
            return True
        except ExpressionError as error:
            self._step_failed(step.name, f"notify: {error.message}")
        except ActivityError as error:
            report.attempts = attempts_of(error)
            if was_sent(error):
                self._sent.add(step.name)
            if isinstance(error.cause, CancelledError):
                _move(report, StepStatus.CANCELLED)
            else:
                self._step_failed(step.name, f"notify: {describe(error, call)}")
        except asyncio.CancelledError:
            _move(report, StepStatus.CANCELLED)
            if call is not None:
                self._sent.add(step.name)
        report.finished_at = _now()
        return False

    def _judge(self, saga: Saga, step: Step) -> None:
        report = self._steps[step.name]
        if step.name not in self._signals:  # the saga stopped while the step waited
            _move(report, StepStatus.CANCELLED)
            return
        output, reason, failure = judge(step, self._signals[step.name], self._context(saga))
        if failure is not None:
            report.reason = reason
            self._step_failed(step.name, failure)
            return
        self._outputs[step.name] = output
        _move(report, StepStatus.SUCCEEDED)
        self._committed = self._committed or step.pivot

    def _uncertain(self, name: str, call: HttpCall) -> None:
        """The action may have taken effect though no answer said so (semantics 2): it
        is never taken as "not applied" (see _resolve)."""
        if self._semantics >= 2:
            self._unsure[name] = call
            self._steps[name].outcome_uncertain = True

    def _step_failed(self, name: str, message: str) -> None:
        _move(self._steps[name], StepStatus.FAILED)
        self._steps[name].last_error = message
        if self._report.reason is None:
            self._stopped("failure", message, name)

    def _stopped(self, reason: str, message: str, step: str | None = None) -> None:
        self._report.reason, self._report.error, self._report.failed_step = reason, message, step

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
        self._report.finished_at = _now()
        await _handlers_finished()
        return output

    # --- compensation -----------------------------------------------------------------

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
        waits, undone = undo_waits(saga, names), set[str]()

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
            _move(report, StepStatus.COMPENSATING)
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
            call, effective = build_call(
                saga, step, "compensation", context, semantics=self._semantics
            )
            if self._semantics >= 2:
                _move(report, StepStatus.COMPENSATING)
            result = await self._execute(call, effective)
        except ExpressionError as error:
            report.compensation_error = error.message
            _move(report, StepStatus.COMPENSATION_FAILED)
        except ActivityError as error:
            report.compensation_attempts += attempts_of(error)
            _move(report, StepStatus.COMPENSATION_FAILED)
            report.compensation_error = describe(error, call)
        else:
            report.compensation_attempts += result.attempt
            report.compensated_at = _now()
            _move(report, StepStatus.COMPENSATED)

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
        _move(report, StepStatus.SUCCEEDED)
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
        _move(report, StepStatus.COMPENSATION_FAILED)

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
                await _shielded(self._compensate(saga, self._failed_compensations()))

    def _failed_compensations(self) -> list[str]:
        return [
            report.name
            for report in self._report.steps
            if report.status == StepStatus.COMPENSATION_FAILED and not report.compensation_skipped
        ]

    def _refresh_failures(self) -> None:
        compensations = [
            f"{n}: {self._steps[n].compensation_error}" for n in self._failed_compensations()
        ]
        after_pivot = [
            r for r in self._report.steps if self._committed and r.status == StepStatus.FAILED
        ]
        if self._semantics < 2:
            self._report.compensation_failures = [
                f"{r.name}: failed after the pivot (not compensated): {r.last_error}"
                for r in after_pivot
            ] + compensations
            return
        self._report.compensation_failures = compensations
        self._report.forward_failures = [
            f"{r.name}: {r.last_error}"
            + (" (given up by an operator)" if r.compensation_skipped else "")
            for r in after_pivot
        ]
        if self._committed and self._report.reason == "failure" and not self._report.failed_step:
            self._report.forward_failures.append(str(self._report.error))  # the saga's output

    # --- past the pivot (semantics 2) -------------------------------------------------

    def _parks_forward(self) -> bool:
        """Whether a park waits on forward steps (past the pivot), not on compensations."""
        return self._committed and self._semantics >= 2

    def _failed_forward(self) -> list[str]:
        return [
            report.name
            for report in self._report.steps
            if report.status == StepStatus.FAILED and not report.compensation_skipped
        ]

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
        self._report.finished_at = _now()
        await _handlers_finished()
        raise ApplicationError(
            summary(self._report), self._report, type=ERROR_TYPES[status], non_retryable=True
        )

    # --- shared -----------------------------------------------------------------------

    async def _execute(
        self,
        call: HttpCall,
        effective: EffectiveRequest,
        *,
        forever: bool = False,
        resolution: bool = False,
    ) -> HttpResult:
        kind = "resolution" if resolution else call.kind
        suffix = f"#{self._rounds}" if kind != "action" and self._rounds > 1 else ""
        retry = retry_policy(effective.retry, forever=forever)
        if resolution and not retry.maximum_attempts:
            retry.maximum_attempts = RESOLUTION_ATTEMPTS
        result: HttpResult = await workflow.execute_activity(
            ACTIVITY_NAME,
            # The same JSON as the dataclass, without the converter's deep copy of it
            # (`dataclasses.asdict`): a third of the cost of starting a step.
            {field.name: getattr(call, field.name) for field in fields(call)},
            result_type=HttpResult,
            activity_id=f"{call.step}/{kind}{suffix}",
            summary=call.step if kind == "action" else f"{call.step} ({kind})",
            start_to_close_timeout=effective.timeout + TIMEOUT_MARGIN,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=retry,
            # Wait until the request has really stopped: a compensation must never race
            # the action it undoes.
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        return result

    def _context(self, saga: Saga, own: str | None = None) -> dict[str, Any]:
        """What templates read; `own` (a compensation's step, semantics 2) reads its
        action's final status instead of the status of its undo."""
        steps = self._steps_view
        if own is not None and self._semantics >= 2:
            steps = steps.with_status(own, _action_status(self._steps[own]))
        return {
            "input": self._input,
            "saga": {"id": self._report.saga_id, "name": saga.name},
            "steps": steps,
        }

    def _set_status(self, status: SagaStatus, *more: SearchAttributeUpdate[Any]) -> None:
        self._report.status = status
        if self._search_attributes:
            workflow.upsert_search_attributes([STATUS_KEY.value_set(str(status)), *more])


async def _shielded(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` to its end even if the workflow is cancelled meanwhile.

    A cancel is an asyncio.CancelledError, a BaseException: it would abandon a saga
    half undone. The work runs in its own task, which the cancel never reaches.
    """
    task = asyncio.create_task(work)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue
    task.result()


async def _handlers_finished() -> None:
    # Checked first: an already-true condition needs no wait, so a cancel cannot land here.
    if not workflow.all_handlers_finished():
        await workflow.wait_condition(workflow.all_handlers_finished)


def _semantics() -> int:
    """1 for runs recorded before any patch; else 2 + the index of the newest patch taken."""
    semantics = 1
    for number, patch in enumerate(SEMANTICS_PATCHES, start=2):
        if not workflow.patched(patch):
            break
        semantics = number
    return semantics


def _action_status(report: StepReport) -> str:
    """How the step's action ended: the last of SUCCEEDED, FAILED, CANCELLED it entered."""
    ends = [t.status for t in report.transitions if t.status in ACTION_ENDS]
    return ends[-1] if ends else str(report.status)


def _now() -> str:
    return workflow.now().isoformat()


def _move(report: StepReport, status: StepStatus) -> None:
    """Every change of a step's status is kept with its time: a reader that polls the
    report can show each state the step went through, not only the last."""
    report.status = status
    report.transitions.append(StepTransition(str(status), _now()))
