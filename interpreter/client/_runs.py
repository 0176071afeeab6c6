"""What the runtime commands do against Temporal: start a saga, follow it, read its report,
list runs, cancel and resume. Each function speaks in saga terms (SagaReport, exit codes)
and turns Temporal's errors into CommandError messages a user can act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from dsl import canonical_json
from interpreter.client._connection import CannotReachTemporal, CommandError, short_reason
from interpreter.contract import (
    ERROR_TYPES,
    INVALID_DEFINITION_ERROR,
    INVALID_INPUT_ERROR,
    QUERY_REPORT,
    SEARCH_ATTRIBUTE_NAME,
    SEARCH_ATTRIBUTE_STATUS,
    UPDATE_RESUME,
    WORKFLOW_NAME,
    ResumeRequest,
    SagaReport,
    SagaRunInput,
    SagaStatus,
    definition_data,
)
from interpreter.exit_codes import ExitCode

__all__ = [
    "MEMO_DEFINITION_HASH",
    "MEMO_INPUT_HASH",
    "MEMO_SAGA_NAME",
    "Outcome",
    "RunSummary",
    "cancel_saga",
    "describe",
    "follow",
    "input_hash",
    "list_runs",
    "query_report",
    "resume_saga",
    "saga_outcome",
    "saga_report",
    "start_saga",
    "temporal_errors",
    "worker_is_polling",
]

MEMO_SAGA_NAME = "saga_name"
MEMO_DEFINITION_HASH = "definition_hash"
MEMO_INPUT_HASH = "input_hash"
"""sha256 of the input's canonical JSON: a repeated start (same id) is recognised by it."""
POLL_INTERVAL = 0.5
QUERY_TIMEOUT = timedelta(seconds=5)

_EXIT_BY_ERROR_TYPE = {
    ERROR_TYPES[SagaStatus.COMPENSATED]: ExitCode.COMPENSATED,
    ERROR_TYPES[SagaStatus.COMPENSATION_FAILED]: ExitCode.NEEDS_ATTENTION,
    ERROR_TYPES[SagaStatus.INCOMPLETE]: ExitCode.NEEDS_ATTENTION,
    INVALID_INPUT_ERROR: ExitCode.INVALID,
    INVALID_DEFINITION_ERROR: ExitCode.INVALID,
}


@contextlib.contextmanager
def temporal_errors(saga_id: str | None, address: str) -> Iterator[None]:
    """Temporal's RPC errors as one-line CommandErrors (about this saga, when there is one)."""
    try:
        yield
    except RPCError as err:
        missing_namespace = "namespace" in err.message.lower()
        if err.status == RPCStatusCode.NOT_FOUND and saga_id and not missing_namespace:
            raise CommandError(f"no saga with id {saga_id!r}") from err
        if err.status == RPCStatusCode.UNAVAILABLE:
            raise CannotReachTemporal(address, short_reason(err)) from err
        raise CommandError(f"Temporal refused the request: {err.message}") from err


# --- starting -------------------------------------------------------------------------


async def start_saga(
    client: Client,
    run_input: SagaRunInput,
    *,
    saga_id: str,
    task_queue: str,
) -> WorkflowHandle[Any, Any]:
    """Start the workflow; a saga with the same id still running is refused. The run's
    argument is `run_input` in its compact form (`SagaRunInput.compact`)."""
    name = str(definition_data(run_input.definition).get("name", ""))
    attributes = None
    if run_input.search_attributes:
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_NAME), name),
                SearchAttributePair(
                    SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATUS), SagaStatus.RUNNING
                ),
            ]
        )
    try:
        return await client.start_workflow(
            WORKFLOW_NAME,
            run_input.compact(),
            id=saga_id,
            task_queue=task_queue,
            memo={
                MEMO_SAGA_NAME: name,
                MEMO_DEFINITION_HASH: run_input.definition_hash,
                MEMO_INPUT_HASH: input_hash(run_input.input),
            },
            search_attributes=attributes,
            static_summary=f"saga {name}",
            # An id names one transaction: its default idempotency keys derive from it, so a
            # second run under a used id would be deduplicated against the first one's calls.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError as err:
        raise CommandError(
            f"a saga with id {saga_id!r} already exists (running or finished); "
            "an id names one transaction, so choose another"
        ) from err


def input_hash(value: Any) -> str:
    """sha256 (hex) of a run's input as canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


async def worker_is_polling(client: Client, task_queue: str) -> bool:
    """True when some worker polled the task queue recently (else the saga would wait)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        response = await client.workflow_service.describe_task_queue(
            request, timeout=timedelta(seconds=5)
        )
    except RPCError:
        return True  # cannot tell: do not warn
    return len(response.pollers) > 0


# --- following ------------------------------------------------------------------------


@dataclass
class Outcome:
    """How a saga's workflow ended, seen from the client."""

    exit_code: int
    report: SagaReport | None = None
    """The final report, when the workflow's failure carried one (not on COMPLETED)."""
    output: Any = None
    error: str | None = None
    """Set when the workflow ended without a saga report (terminated, timed out...)."""


async def saga_outcome(handle: WorkflowHandle[Any, Any]) -> Outcome:
    """Wait for the workflow's end and read it as a saga outcome."""
    try:
        output = await handle.result()
    except WorkflowFailureError as failure:
        return _failure_outcome(handle.id, failure.cause)
    return Outcome(exit_code=ExitCode.OK, output=output)


def _failure_outcome(saga_id: str, cause: BaseException) -> Outcome:
    if isinstance(cause, ApplicationError) and cause.type in _EXIT_BY_ERROR_TYPE:
        report = None
        if cause.details and isinstance(cause.details[0], dict):
            report = SagaReport.from_dict(cause.details[0])
        return Outcome(_EXIT_BY_ERROR_TYPE[cause.type], report=report, error=cause.message)
    return Outcome(1, error=f"saga {saga_id} ended without a report: {cause}")


async def query_report(
    handle: WorkflowHandle[Any, Any], timeout: timedelta = QUERY_TIMEOUT
) -> SagaReport | None:
    """The workflow's own report, or None when no worker answers in time."""
    try:
        data = await handle.query(QUERY_REPORT, result_type=dict, rpc_timeout=timeout)
    except (TimeoutError, RPCError) as err:
        if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
            raise
        return None
    except Exception:  # a query rejected or failed inside the workflow: no report now
        return None
    return SagaReport.from_dict(data) if isinstance(data, dict) else None


async def follow(
    handle: WorkflowHandle[Any, Any],
    on_report: Callable[[SagaReport, float], None],
    poll_interval: float = POLL_INTERVAL,
) -> tuple[SagaReport | None, Outcome]:
    """Poll the report until the saga ends; return the final report and the outcome."""
    started = time.monotonic()
    waiter = asyncio.ensure_future(saga_outcome(handle))
    last: SagaReport | None = None
    try:
        while not waiter.done():
            report = await query_report(handle, timeout=timedelta(seconds=2))
            if report is not None:
                last = report
                on_report(report, time.monotonic() - started)
            await asyncio.wait({waiter}, timeout=poll_interval)
    finally:
        waiter.cancel()
    outcome = waiter.result()
    final = outcome.report or await query_report(handle) or last
    if final is not None and outcome.exit_code == ExitCode.OK:
        final.status, final.output = SagaStatus.COMPLETED, outcome.output
    if final is not None:
        on_report(final, time.monotonic() - started)
    return final, outcome


# --- one run --------------------------------------------------------------------------


async def describe(client: Client, saga_id: str) -> WorkflowExecutionDescription:
    description = await client.get_workflow_handle(saga_id).describe()
    if description.workflow_type != WORKFLOW_NAME:
        raise CommandError(f"{saga_id!r} is not a saga (workflow type {description.workflow_type})")
    return description


async def saga_report(client: Client, saga_id: str) -> tuple[SagaReport, str | None]:
    """The saga's report and, when no worker answered, a note saying what is missing."""
    description = await describe(client, saga_id)
    handle = client.get_workflow_handle(saga_id)
    # Without a worker on its task queue a query only waits for its timeout.
    if await worker_is_polling(client, description.task_queue):
        report = await query_report(handle)
        if report is not None:
            return report, None
    name = str(await description.memo_value(MEMO_SAGA_NAME, ""))
    note = "no worker answered the status query: step details are unavailable"
    if description.status == WorkflowExecutionStatus.RUNNING:
        return SagaReport(saga_id=saga_id, saga_name=name), note
    outcome = await saga_outcome(handle)
    if outcome.report is not None:
        return outcome.report, None
    if outcome.exit_code == ExitCode.OK:
        return SagaReport(saga_id, name, SagaStatus.COMPLETED, output=outcome.output), note
    raise CommandError(outcome.error or f"saga {saga_id} ended without a report")


async def cancel_saga(client: Client, saga_id: str) -> None:
    description = await describe(client, saga_id)
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise CommandError(f"saga {saga_id!r} has already ended; there is nothing to cancel")
    await client.get_workflow_handle(saga_id).cancel()


async def resume_saga(client: Client, saga_id: str, request: ResumeRequest) -> None:
    """Send the resume update; the workflow refuses it unless the saga is PARKED."""
    description = await describe(client, saga_id)
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise CommandError(f"saga {saga_id!r} has already ended; only a parked saga resumes")
    handle = client.get_workflow_handle(saga_id)
    try:
        await handle.execute_update(UPDATE_RESUME, request)
    except WorkflowUpdateFailedError as err:
        raise CommandError(f"cannot resume {saga_id}: {_message(err.cause)}") from err


def _message(error: BaseException) -> str:
    return error.message if isinstance(error, ApplicationError) else str(error)


# --- listing --------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    saga_id: str
    saga_name: str
    status: str
    started_at: datetime
    closed_at: datetime | None


async def list_runs(client: Client, limit: int) -> list[RunSummary]:
    """The most recent saga runs, newest first."""
    runs = []
    query = f'WorkflowType = "{WORKFLOW_NAME}"'
    async for execution in client.list_workflows(query, limit=limit):
        attributes = execution.typed_search_attributes
        name = attributes.get(SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_NAME))
        if name is None:
            name = str(await execution.memo_value(MEMO_SAGA_NAME, ""))
        saga_status = attributes.get(SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATUS))
        status = _list_status(execution.status, saga_status)
        runs.append(
            RunSummary(execution.id, name, status, execution.start_time, execution.close_time)
        )
    return runs


_ENDED = {
    SagaStatus.COMPENSATED.value,
    SagaStatus.COMPENSATION_FAILED.value,
    SagaStatus.INCOMPLETE.value,
}


def _list_status(temporal: WorkflowExecutionStatus | None, saga: str | None) -> str:
    # The search attribute knows the saga's own states, but only the workflow's
    # status is sure to be final: combine them.
    if temporal == WorkflowExecutionStatus.RUNNING:
        return saga or SagaStatus.RUNNING.value
    if temporal == WorkflowExecutionStatus.COMPLETED:
        return SagaStatus.COMPLETED.value
    if temporal == WorkflowExecutionStatus.FAILED and saga in _ENDED:
        return saga
    return temporal.name if temporal is not None else "UNKNOWN"
