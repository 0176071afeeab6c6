"""`SagaClient`: everything a program does with sagas, in one object.

    client = await SagaClient.connect(load_settings(), catalogue=Catalogue(["sagas"]))
    run = await client.start("trip-booking", {"trip_id": "t-1"}, id="trip-t-1")
    result = await client.result(run.id, wait=30)      # None while it still runs
    report = await client.report(run.id)

A saga starts from a catalogue name (`start`), a file (`start_file`) or a definition
(`start_definition`). An id names one transaction: starting again under the same id
with the same input returns the existing run (`created` False), with another input
it raises `RunConflict`. Every method raises a `CommandError` a user can act on:

    CommandError
    ├── CannotReachTemporal  no Temporal server answered
    ├── SagaNotFound         no saga of that name in the catalogue
    ├── RunNotFound          no saga run with that id
    ├── StepNotFound         the run's saga has no step of that name (signal)
    ├── RunConflict          the run's state (or an id already used) refuses the request
    └── RequestRefused       the saga refused the request (e.g. resume of an unknown step)
        └── DataRefused      a wait step's `schema` refused the data; .errors has each problem
    InvalidSaga (dsl)        the saga file or the input is invalid; has every diagnostic
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from dsl import InvalidSaga, Saga, check_document, definition_snapshot, validate_input
from dsl import load_and_check as _load_and_check
from interpreter.client._catalogue import Catalogue
from interpreter.client._connection import (
    CannotReachTemporal,
    CommandError,
    ConnectionSettings,
    connect,
    has_saga_search_attributes,
    short_reason,
)
from interpreter.client._runs import (
    MEMO_INPUT_HASH,
    MEMO_SAGA_NAME,
    RunSummary,
    input_hash,
    list_runs,
    query_report,
    saga_outcome,
    saga_report,
    start_saga,
)
from interpreter.contract import (
    DEFAULT_TASK_QUEUE,
    SIGNAL_INVALID_DATA,
    SIGNAL_UNKNOWN_STEP,
    UPDATE_RESUME,
    UPDATE_SIGNAL,
    WORKFLOW_NAME,
    ResumeRequest,
    SagaReport,
    SagaRunInput,
    SagaStatus,
    SignalRequest,
)
from interpreter.exit_codes import ExitCode

__all__ = [
    "DataRefused",
    "RequestRefused",
    "RunConflict",
    "RunNotFound",
    "RunResult",
    "SagaClient",
    "SagaNotFound",
    "StartedRun",
    "StepNotFound",
]

MAX_ID_LENGTH = 255
POLLER_FRESHNESS = timedelta(minutes=2)
"""A worker long-polls about once a minute: one not seen for longer has stopped."""
RPC_TIMEOUT = timedelta(seconds=10)


class SagaNotFound(CommandError):
    """Raised when the catalogue has no saga of the name asked for."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no saga named {name!r} in the catalogue")
        self.name = name


class RunNotFound(CommandError):
    """Raised when no saga run has the id asked for."""

    def __init__(self, saga_id: str) -> None:
        super().__init__(f"no saga run with id {saga_id!r}")
        self.saga_id = saga_id


class StepNotFound(CommandError):
    """Raised when data is sent to a step the run's saga does not have."""


class RunConflict(CommandError):
    """Raised when the run's state refuses the request: it has ended, it is not parked,
    or its id was already used for another input."""


class RequestRefused(CommandError):
    """Raised when the saga itself refuses the request (its reason is the message)."""


class DataRefused(RequestRefused):
    """Raised when a wait step's `schema` refuses the data sent to it."""

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors
        """Each problem: {"message": ..., "pointer": JSON pointer into the data}."""


@dataclass(frozen=True)
class StartedRun:
    id: str
    saga_name: str
    created: bool
    """False when a run with this id and the same input already existed."""


@dataclass(frozen=True)
class RunResult:
    """A run that has ended: its end state, its output (COMPLETED only) and its report."""

    status: str
    output: Any
    report: SagaReport | None
    """None only when the workflow ended without a saga report (e.g. terminated)."""


class SagaClient:
    """Start, follow, cancel, resume and list sagas on one Temporal namespace."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str = DEFAULT_TASK_QUEUE,
        catalogue: Catalogue | None = None,
        address: str = "",
    ) -> None:
        self.temporal = client
        self.task_queue = task_queue
        self.catalogue = catalogue
        self._address = address or client.service_client.config.target_host
        self._search_attributes: bool | None = None

    @classmethod
    async def connect(
        cls,
        settings: ConnectionSettings,
        *,
        task_queue: str = DEFAULT_TASK_QUEUE,
        catalogue: Catalogue | None = None,
    ) -> SagaClient:
        """Connect to Temporal; raises CannotReachTemporal."""
        client = await connect(settings)
        return cls(client, task_queue=task_queue, catalogue=catalogue, address=settings.address)

    # --- starting ---------------------------------------------------------------------

    async def start(self, name: str, input: Any = None, *, id: str | None = None) -> StartedRun:
        """Start the catalogue's saga `name`; raises SagaNotFound, InvalidSaga."""
        entry = self.catalogue.get(name) if self.catalogue is not None else None
        if entry is None:
            raise SagaNotFound(name)
        if entry.saga is None:
            raise InvalidSaga(entry.diagnostics)
        return await self.start_saga(entry.saga, input, id=id)

    async def start_file(
        self, path: str | Path, input: Any = None, *, id: str | None = None
    ) -> StartedRun:
        """Validate the saga file and start it; raises InvalidSaga."""
        return await self.start_saga(_load_and_check(path).unwrap(), input, id=id)

    async def start_definition(
        self, definition: Mapping[str, Any], input: Any = None, *, id: str | None = None
    ) -> StartedRun:
        """Validate a definition (the file's content as a dict) and start it."""
        from dsl import Document

        result = check_document(Document("<definition>", "", dict(definition)))
        return await self.start_saga(result.unwrap(), input, id=id)

    async def start_saga(
        self, saga: Saga, input: Any = None, *, id: str | None = None
    ) -> StartedRun:
        """Start a checked saga; the input is validated against its `input` schema first."""
        problems = validate_input(saga, input)
        if problems:
            raise InvalidSaga(problems)
        saga_id = id or f"{saga.name}-{secrets.token_hex(6)}"
        check_id(saga_id)
        definition, digest = definition_snapshot(saga)
        with self._rpc(None):
            run_input = SagaRunInput(definition, input, digest, await self._has_attributes())
            try:
                await start_saga(
                    self.temporal, run_input, saga_id=saga_id, task_queue=self.task_queue
                )
            except CommandError as err:
                if not isinstance(err.__cause__, WorkflowAlreadyStartedError):
                    raise
                return await self._existing(saga_id, saga.name, input)
        return StartedRun(saga_id, saga.name, created=True)

    async def _existing(self, saga_id: str, name: str, input: Any) -> StartedRun:
        description = await self._describe(saga_id)
        same_saga = await description.memo_value(MEMO_SAGA_NAME, "") == name
        same_input = await description.memo_value(MEMO_INPUT_HASH, "") == input_hash(input)
        if not (same_saga and same_input):
            raise RunConflict(
                f"the id {saga_id!r} was already used for another saga or another input"
            )
        return StartedRun(saga_id, name, created=False)

    async def _has_attributes(self) -> bool:
        if self._search_attributes is None:
            self._search_attributes = await has_saga_search_attributes(self.temporal)
        return self._search_attributes

    # --- one run ----------------------------------------------------------------------

    async def report(self, saga_id: str) -> SagaReport:
        """The run's report (section "Status" of the runtime docs); raises RunNotFound."""
        await self._describe(saga_id)
        with self._rpc(saga_id):
            report, _ = await saga_report(self.temporal, saga_id)
        return report

    async def result(self, saga_id: str, wait: float = 0) -> RunResult | None:
        """The run's end, waiting up to `wait` seconds; None if it is still running."""
        description = await self._describe(saga_id)
        handle = self.temporal.get_workflow_handle(saga_id)
        with self._rpc(saga_id):
            if description.status == WorkflowExecutionStatus.RUNNING:
                if wait <= 0:
                    return None
                try:
                    outcome = await asyncio.wait_for(saga_outcome(handle), wait)
                except TimeoutError:
                    return None
            else:
                outcome = await saga_outcome(handle)
        if outcome.report is not None:
            return RunResult(outcome.report.status, None, outcome.report)
        if outcome.exit_code == ExitCode.OK:
            report = await self.report(saga_id)
            report.status, report.output = SagaStatus.COMPLETED, outcome.output
            return RunResult(SagaStatus.COMPLETED, outcome.output, report)
        ended = await self._describe(saga_id)
        return RunResult(ended.status.name if ended.status else "UNKNOWN", None, None)

    async def watch(self, saga_id: str, interval: float = 0.5) -> AsyncIterator[SagaReport]:
        """The run's report each time it changes, until the run has ended."""
        last: dict[str, Any] | None = None
        while True:
            ended = (await self._describe(saga_id)).status != WorkflowExecutionStatus.RUNNING
            report = await self._current(saga_id, ended)
            if report.to_dict() != last:
                last = report.to_dict()
                yield report
            if ended:
                return
            await asyncio.sleep(interval)

    async def _current(self, saga_id: str, ended: bool) -> SagaReport:
        if ended:
            result = await self.result(saga_id)
            if result is not None and result.report is not None:
                return result.report
        return await self.report(saga_id)

    async def status(self, saga_id: str) -> str:
        """The run's saga status now (RUNNING while no worker answers)."""
        return (await self.report(saga_id)).status

    async def cancel(self, saga_id: str) -> None:
        """Ask the run to cancel (it compensates); raises RunConflict if it has ended."""
        description = await self._describe(saga_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise RunConflict(f"saga {saga_id!r} has already ended; there is nothing to cancel")
        with self._rpc(saga_id):
            await self.temporal.get_workflow_handle(saga_id).cancel()

    async def resume(
        self, saga_id: str, *, retry: bool = False, skip: list[str] | None = None
    ) -> SagaReport:
        """Unpark a PARKED run: retry its failed compensations, or skip those of `skip`."""
        description = await self._describe(saga_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise RunConflict(f"saga {saga_id!r} has already ended; only a parked saga resumes")
        handle = self.temporal.get_workflow_handle(saga_id)
        with self._rpc(saga_id):
            report = await query_report(handle)
            if report is None or report.status != SagaStatus.PARKED:
                status = report.status if report is not None else "unknown"
                raise RunConflict(f"saga {saga_id!r} is not parked (status {status})")
            try:
                await handle.execute_update(UPDATE_RESUME, ResumeRequest(retry, skip or []))
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause)
                raise RequestRefused(f"cannot resume {saga_id}: {message}") from err
        return await self.report(saga_id)

    async def signal(self, saga_id: str, step: str, data: Any) -> SagaReport:
        """Deliver `data` to the wait step `step`; returns the report once it is taken.

        Raises StepNotFound (no such step), RunConflict (the step does not wait: not a
        wait step, ended, already given its data, or the run has ended), DataRefused
        (the step's `schema` refused the data). A refusal changes nothing in the run."""
        description = await self._describe(saga_id)
        if description.status != WorkflowExecutionStatus.RUNNING:
            raise RunConflict(f"saga {saga_id!r} has already ended; no step waits for data")
        handle = self.temporal.get_workflow_handle(saga_id)
        try:
            with self._rpc(saga_id):
                report: SagaReport = await handle.execute_update(
                    UPDATE_SIGNAL, SignalRequest(step, data), result_type=SagaReport
                )
        except WorkflowUpdateFailedError as err:
            raise _signal_refused(saga_id, err.cause) from err
        except RunNotFound as err:  # it existed a moment ago: it ended meanwhile
            raise RunConflict(f"saga {saga_id!r} has ended; no step waits for data") from err
        return report

    # --- many runs --------------------------------------------------------------------

    async def list(
        self, *, saga: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[RunSummary]:
        """Recent runs, newest first, optionally of one saga and in one status."""
        scan = limit if saga is None and status is None else max(limit, 1000)
        with self._rpc(None):
            runs = await list_runs(self.temporal, scan)
        wanted = [
            run
            for run in runs
            if (saga is None or run.saga_name == saga) and (status is None or run.status == status)
        ]
        return wanted[:limit]

    # --- health -----------------------------------------------------------------------

    async def ready(self) -> str | None:
        """None when Temporal answers and a worker polls the task queue, else why not."""
        try:
            await self.temporal.service_client.check_health(timeout=timedelta(seconds=5))
        except (RPCError, RuntimeError) as err:
            return f"cannot reach Temporal at {self._address}: {short_reason(err)}"
        if not await self._worker_polling():
            return f"no worker is polling the task queue {self.task_queue!r}"
        return None

    async def _worker_polling(self) -> bool:
        request = DescribeTaskQueueRequest(
            namespace=self.temporal.namespace,
            task_queue=TaskQueue(name=self.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        try:
            response = await self.temporal.workflow_service.describe_task_queue(
                request, timeout=timedelta(seconds=5)
            )
        except RPCError:
            return False
        recent = datetime.now(UTC) - POLLER_FRESHNESS
        return any(poller.last_access_time.ToDatetime(UTC) >= recent for poller in response.pollers)

    # --- Temporal's errors ------------------------------------------------------------

    async def _describe(self, saga_id: str) -> WorkflowExecutionDescription:
        with self._rpc(saga_id):
            description = await self.temporal.get_workflow_handle(saga_id).describe(
                rpc_timeout=RPC_TIMEOUT
            )
        if description.workflow_type != WORKFLOW_NAME:
            raise RunNotFound(saga_id)
        return description

    @contextlib.contextmanager
    def _rpc(self, saga_id: str | None) -> Iterator[None]:
        """Temporal's RPC errors as the errors of this module."""
        try:
            yield
        except RPCError as err:
            lookup = saga_id is not None and "namespace" not in err.message.lower()
            if lookup and err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise RunNotFound(saga_id or "") from err
            if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise CannotReachTemporal(self._address, short_reason(err)) from err
            raise CommandError(f"Temporal refused the request: {err.message}") from err


def _signal_refused(saga_id: str, cause: BaseException) -> CommandError:
    if not isinstance(cause, ApplicationError):
        return RequestRefused(f"saga {saga_id!r} refused the data: {cause}")
    if cause.type == SIGNAL_UNKNOWN_STEP:
        return StepNotFound(f"saga {saga_id!r}: {cause.message}")
    if cause.type == SIGNAL_INVALID_DATA:
        details = cause.details[0] if cause.details else {}
        return DataRefused(f"saga {saga_id!r}: {cause.message}", list(details.get("errors", [])))
    return RunConflict(f"saga {saga_id!r}: {cause.message}")


def check_id(saga_id: str) -> None:
    """A run id is 1 to 255 printable characters (it goes into URLs and histories)."""
    if not saga_id or len(saga_id) > MAX_ID_LENGTH or not saga_id.isprintable():
        raise RequestRefused(
            f"invalid id {saga_id[:40]!r}: use 1 to {MAX_ID_LENGTH} printable characters"
        )
