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
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from dsl import ExpressionError, Saga
    from dsl import input_problems as dsl_input_problems
    from interpreter.contract import (
        INVALID_DEFINITION_ERROR,
        INVALID_INPUT_ERROR,
        QUERY_REPORT,
        SEMANTICS,
        UPDATE_RESUME,
        UPDATE_SIGNAL,
        WORKFLOW_NAME,
        HttpCall,
        RecordedRunInput,
        ResumeRequest,
        SagaReport,
        SagaStatus,
        SignalRequest,
        StepReport,
        definition_data,
    )
    from interpreter.workflow._compiled import CompiledSaga, compiled_saga
    from interpreter.workflow._outcomes import input_problems
    from interpreter.workflow._plan import Plan, StepsView
    from interpreter.workflow._settle import Settle
    from interpreter.workflow._state import (
        FINISHED,
        HEARTBEAT_TIMEOUT,
        INTERRUPTS,
        NAME_KEY,
        TIMEOUT_MARGIN,
        now,
        shielded,
    )
    from interpreter.workflow._wait import refusal

__all__ = ["HEARTBEAT_TIMEOUT", "SEMANTICS_PATCHES", "TIMEOUT_MARGIN", "SagaWorkflow"]

SEMANTICS_PATCHES = (
    "saga-semantics-2",
    "saga-semantics-3",
    "saga-semantics-4",
    "saga-semantics-5",
)
"""One `workflow.patched` id per release that changed what the workflow does, oldest
first. Since version 3 the client names the version in the run's input
(`SagaRunInput.semantics`, `contract.SEMANTICS`), which costs no history event; a run
whose input does not (started by an older client, or recorded before) takes the newest
its history allows, once, when it starts: runs recorded before a release replay with the
behaviour they had, new runs get the new one. Every behaviour change tests
`self._semantics`; a release that changes behaviour raises `contract.SEMANTICS`, appends
an id here (never removes or renames one) and records new histories under tests/.

3: the version travels in the input; the activity's argument and the failed saga's
report leave out the fields that hold their default. No decision differs from 2.

4: cheaper waiting, the same decisions: the forward pass is woken by the step that
ends instead of a condition re-checked after every activation, and an undo starts when
the last undo it waits for has ended instead of waiting on a condition from the start.
Activities may be scheduled in a different order within one workflow task.

5: the activity's argument in its short form (`contract.short_call_argument`): no
`saga_id`, and the idempotency key, the statuses to retry on, `has_json` and
`has_output` only where the activity cannot work them out. The same decisions; a worker
of an earlier release refuses such an argument rather than misreading it."""


@workflow.defn(name=WORKFLOW_NAME)
class SagaWorkflow(Settle):
    """The workflow: its state, its handlers and the outline of a run. The forward pass
    is in `_forward.Forward`, compensation, parking and the end in `_settle.Settle`."""

    @workflow.init
    def __init__(self, run: RecordedRunInput) -> None:
        self._search_attributes = run.search_attributes
        self._input = run.input
        self._saga: Saga | None = None
        self._compiled: CompiledSaga | None = None
        self._definition_problem = ""
        try:
            # Parsed once per definition, not per run (see `_compiled`); a compact
            # definition is its own key.
            key = run.definition_hash or (run.definition if isinstance(run.definition, str) else "")
            self._compiled = compiled_saga(run.definition, key, _parse)
            self._saga = self._compiled.saga
        except ValidationError as error:
            self._definition_problem = f"invalid saga definition: {error.errors()[0]['msg']}"
        except ValueError as error:  # a compact definition that cannot be read
            self._definition_problem = f"invalid saga definition: {error}"
        steps = self._saga.steps if self._saga else []
        self._report = SagaReport(
            saga_id=workflow.info().workflow_id,
            saga_name=self._saga.name if self._saga else _name(run.definition),
            steps=[StepReport(name=step.name) for step in steps],
            started_at=now(),
        )
        self._steps = {report.name: report for report in self._report.steps}
        self._outputs: dict[str, Any] = {}
        # Built once per run: what each decision needs, so none costs the saga's length.
        self._plan = Plan(self._saga) if self._saga else None
        self._steps_view = StepsView(self._steps, self._outputs)
        self._sent: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._ended: asyncio.Future[None] | None = None
        """Set by a step's task when it ends (semantics 4): wakes the forward pass."""
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
    async def run(self, run: RecordedRunInput) -> Any:
        self._semantics = _semantics(run.semantics)
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
            await shielded(self._compensate(saga, self._to_undo(saga)))
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
        self._steps[request.step].signal_at = now()
        return self._report

    @signal.validator
    def _validate_signal(self, request: SignalRequest) -> None:
        # `_semantics` is still 1 before the run's first task: the saga itself says
        # whether it has wait steps, and a run recorded before them has none.
        refused = refusal(self._saga, self._report, self._signals, request)
        if refused is not None:
            raise refused

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
        self._report.status, self._report.finished_at = SagaStatus.COMPENSATED, now()
        raise ApplicationError(message, self._details(), type=error_type, non_retryable=True)


def _parse(definition: dict[str, Any] | str) -> Saga:
    return Saga.model_validate(definition_data(definition))


def _name(definition: dict[str, Any] | str) -> str:
    """The saga's name in a definition that is not a valid saga, when it has one."""
    try:
        return str(definition_data(definition).get("name", ""))
    except ValueError:
        return ""


def _semantics(asked: int) -> int:
    """The run's semantics version: the one its input asks for (from version 3, see
    `SagaRunInput`), else the one the patch markers in its history give.

    Asking costs no event: a new run does not call `workflow.patched`. On replay the
    markers are still read, because a worker older than version 3 may have run a run
    that a newer client started, and recorded them: Temporal requires every marker in
    a history to be matched, and the markers say how that run behaved."""
    asked = checked_semantics(asked)
    if asked and not workflow.unsafe.is_replaying():
        return asked
    recorded = _recorded_semantics()
    return asked if asked and recorded == 1 else recorded


def checked_semantics(asked: int) -> int:
    """`asked`, when this worker knows it (0: the input does not say). A newer version
    fails the workflow task, not the saga: Temporal retries the task, and a newer worker
    (during an upgrade) runs it."""
    if asked and not 1 <= asked <= SEMANTICS:
        raise RuntimeError(
            f"this worker knows saga semantics 1 to {SEMANTICS}; the run asks for "
            f"{asked}: run it on a newer worker"
        )
    return asked


def _recorded_semantics() -> int:
    """1 for runs recorded before any patch; else 2 + the index of the newest patch taken.
    Outside replay this records the markers of the newest version."""
    semantics = 1
    for number, patch in enumerate(SEMANTICS_PATCHES, start=2):
        if not workflow.patched(patch):
            break
        semantics = number
    return semantics
