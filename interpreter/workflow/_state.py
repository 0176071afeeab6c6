"""What a saga run keeps, and the helpers every part of the run shares.

`RunState` holds the run's state (set by `SagaWorkflow.__init__`) and the operations the
forward pass, the compensation and the handlers all use: running one HTTP activity,
the variables templates read, the report's bookkeeping. The parts of a run are
subclasses, one module per job (`_forward`, `_settle`, `_saga`), so each stays small.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import fields
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from dsl import EffectiveRequest, Saga, Step
from interpreter.contract import (
    ACTIVITY_NAME,
    SEARCH_ATTRIBUTE_NAME,
    SEARCH_ATTRIBUTE_STATUS,
    HttpCall,
    HttpResult,
    ResumeRequest,
    SagaReport,
    SagaStatus,
    StepReport,
    StepStatus,
    StepTransition,
    short_call_argument,
)
from interpreter.workflow._calls import Kind, call_argument, render_call, retry_policy
from interpreter.workflow._compiled import CompiledSaga
from interpreter.workflow._plan import Plan, StepsView

__all__ = [
    "ACTION_ENDS",
    "FINISHED",
    "HEARTBEAT_TIMEOUT",
    "INTERRUPTS",
    "MAX_SAGA_OUTPUT_BYTES",
    "NAME_KEY",
    "STATUS_KEY",
    "TIMEOUT_MARGIN",
    "UNDOABLE_FAILURES",
    "RunState",
    "action_status",
    "handlers_finished",
    "move",
    "now",
    "shielded",
]

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
MAX_SAGA_OUTPUT_BYTES = 3 * 512 * 1024
"""The run's result as JSON; under Temporal's 2 MB payload limit with room to spare."""


class RunState:
    """A run's state and the operations shared by its parts (see the module docstring)."""

    _search_attributes: bool
    _input: Any
    _saga: Saga | None
    _compiled: CompiledSaga | None
    _definition_problem: str
    _report: SagaReport
    _steps: dict[str, StepReport]
    _outputs: dict[str, Any]
    _plan: Plan | None
    _steps_view: StepsView
    _sent: set[str]
    _running: dict[str, asyncio.Task[None]]
    _ended: asyncio.Future[None] | None
    _committed: bool
    _rounds: int
    _resume: ResumeRequest | None
    _held: tuple[str, str, bool] | None
    _unsure: dict[str, HttpCall]
    _semantics: int
    _signals: dict[str, Any]

    def _uncertain(self, name: str, call: HttpCall) -> None:
        """The action may have taken effect though no answer said so (semantics 2): it
        is never taken as "not applied" (see _resolve)."""
        if self._semantics >= 2:
            self._unsure[name] = call
            self._steps[name].outcome_uncertain = True

    def _step_failed(self, name: str, message: str) -> None:
        move(self._steps[name], StepStatus.FAILED)
        self._steps[name].last_error = message
        if self._report.reason is None:
            self._stopped("failure", message, name)

    def _stopped(self, reason: str, message: str, step: str | None = None) -> None:
        self._report.reason, self._report.error, self._report.failed_step = reason, message, step

    def _failed_compensations(self) -> list[str]:
        return [
            report.name
            for report in self._report.steps
            if report.status == StepStatus.COMPENSATION_FAILED and not report.compensation_skipped
        ]

    def _failed_forward(self) -> list[str]:
        return [
            report.name
            for report in self._report.steps
            if report.status == StepStatus.FAILED and not report.compensation_skipped
        ]

    def _parks_forward(self) -> bool:
        """Whether a park waits on forward steps (past the pivot), not on compensations."""
        return self._committed and self._semantics >= 2

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
        result: dict[str, Any] = await workflow.execute_activity(
            ACTIVITY_NAME,
            self._argument(call),
            result_type=dict,  # read by `HttpResult.from_dict`: no type hints per result
            activity_id=f"{call.step}/{kind}{suffix}",
            summary=call.step if kind == "action" else f"{call.step} ({kind})",
            start_to_close_timeout=effective.timeout + TIMEOUT_MARGIN,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=retry,
            # Wait until the request has really stopped: a compensation must never race
            # the action it undoes.
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        return HttpResult.from_dict(result)

    def _argument(self, call: HttpCall) -> dict[str, Any]:
        """The activity's argument: the call as JSON, without the converter's deep copy of
        it (`dataclasses.asdict`, a third of the cost of starting a step); from semantics 3
        without the fields that hold their default, from semantics 5 in its short form
        (`contract.short_call_argument`)."""
        if self._semantics >= 5:
            return short_call_argument(call)
        if self._semantics >= 3:
            return call_argument(call)
        return {field.name: getattr(call, field.name) for field in fields(call)}

    def _details(self) -> Any:
        """The report as a failed saga's error carries it: from semantics 3 without the
        fields that hold their default (`SagaReport.from_dict` reads both forms)."""
        return self._report.compact() if self._semantics >= 3 else self._report

    def _call(
        self, step: Step, kind: Kind, context: dict[str, Any]
    ) -> tuple[HttpCall, EffectiveRequest]:
        """A step's request rendered with `context`; raises ExpressionError."""
        assert self._compiled is not None
        compiled = self._compiled.request(step, kind, self._semantics)
        call = render_call(compiled, context, ordered=self._semantics >= 2)
        return call, compiled.effective

    def _context(self, saga: Saga, own: str | None = None) -> dict[str, Any]:
        """What templates read; `own` (a compensation's step, semantics 2) reads its
        action's final status instead of the status of its undo."""
        steps = self._steps_view
        if own is not None and self._semantics >= 2:
            steps = steps.with_status(own, action_status(self._steps[own]))
        return {
            "input": self._input,
            "saga": {"id": self._report.saga_id, "name": saga.name},
            "steps": steps,
        }

    def _set_status(self, status: SagaStatus, *more: SearchAttributeUpdate[Any]) -> None:
        self._report.status = status
        if self._search_attributes:
            workflow.upsert_search_attributes([STATUS_KEY.value_set(str(status)), *more])


async def shielded(work: Coroutine[Any, Any, None]) -> None:
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


async def handlers_finished() -> None:
    # Checked first: an already-true condition needs no wait, so a cancel cannot land here.
    if not workflow.all_handlers_finished():
        await workflow.wait_condition(workflow.all_handlers_finished)


def action_status(report: StepReport) -> str:
    """How the step's action ended: the last of SUCCEEDED, FAILED, CANCELLED it entered."""
    ends = [t.status for t in report.transitions if t.status in ACTION_ENDS]
    return ends[-1] if ends else str(report.status)


def now() -> str:
    return workflow.now().isoformat()


def move(report: StepReport, status: StepStatus) -> None:
    """Every change of a step's status is kept with its time: a reader that polls the
    report can show each state the step went through, not only the last."""
    report.status = status
    report.transitions.append(StepTransition(str(status), now()))
