"""The compact forms on the wire: a run's definition (zlib + base64), the failure's
report (times after the saga's start) and outcomes without stack traces; the older forms
still read, and a worker of the release before them waits instead of ending a saga."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.converter import DataConverter, value_to_type
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dsl import Saga, definition_snapshot
from interpreter.contract import (
    COMPACT_DEFINITION,
    WORKFLOW_NAME,
    HttpResult,
    RecordedRunInput,
    SagaReport,
    SagaRunInput,
    SagaStatus,
    StepReport,
    StepStatus,
    StepTransition,
    compact_definition,
    definition_data,
)
from interpreter.dev.demo import DemoService
from interpreter.ops.codec import data_converter
from interpreter.worker._worker import build_worker

from .conftest import Runtime, failure_of, saga, step

T0 = "2026-03-01T09:00:00.250000+00:00"


def _definition(url: str = "http://127.0.0.1:1") -> dict[str, Any]:
    steps = [
        {
            "name": name,
            "action": {"url": f"{url}/{name}", "method": "POST", "json": {"n": "${ input.n }"}},
            "compensation": {
                "url": f"{url}/{name}/${{ steps.{name}.output.id }}",
                "method": "DELETE",
            },
        }
        for name in ("flight", "hotel", "car")
    ]
    definition, _ = definition_snapshot(Saga.model_validate(saga(steps)))
    return definition


# --- the definition ---------------------------------------------------------------------


def test_a_client_sends_the_definition_compressed_and_leaves_out_defaults() -> None:
    definition = _definition()
    sent = SagaRunInput(definition, {"n": 1}, "abc", search_attributes=False).compact()
    assert sorted(sent) == ["definition", "input", "semantics"]
    assert sent["definition"].startswith(COMPACT_DEFINITION)
    assert len(json.dumps(sent)) < len(json.dumps(definition)) / 2
    # The workflow reads its argument back, and the definition whole.
    run = value_to_type(RecordedRunInput, json.loads(json.dumps(sent)))
    assert run.semantics == sent["semantics"] and run.input == {"n": 1}
    assert definition_data(run.definition) == definition
    # The full form of older clients still reads.
    older = value_to_type(RecordedRunInput, {"definition": definition, "definition_hash": "abc"})
    assert definition_data(older.definition) == definition and older.semantics == 0


def test_the_compact_form_is_canonical_whatever_the_key_order() -> None:
    definition = _definition()
    reordered = dict(reversed(list(definition.items())))
    assert compact_definition(reordered) == compact_definition(definition)
    assert SagaRunInput(compact_definition(definition)).compact()["definition"] == (
        compact_definition(definition)
    )


def _packed(data: bytes) -> str:
    return COMPACT_DEFINITION + base64.b64encode(zlib.compress(data)).decode()


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("gzip:AAAA", "unknown definition encoding"),
        (COMPACT_DEFINITION + "not base64!", "cannot be read"),
        (COMPACT_DEFINITION + base64.b64encode(b"not zlib").decode(), "cannot be read"),
        (_packed(b"[1, 2]"), "not a JSON object"),
        (_packed(b"{" + b" " * (17 * 1024 * 1024) + b"}"), "unpacks to more than"),
    ],
    ids=["encoding", "base64", "zlib", "not-an-object", "too-large"],
)
def test_a_compact_definition_that_cannot_be_read_is_refused(definition: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        definition_data(definition)


async def test_a_run_with_an_unreadable_definition_fails_as_an_invalid_definition(
    runtime: Runtime,
) -> None:
    handle = await runtime.client.start_workflow(
        WORKFLOW_NAME,
        {"definition": COMPACT_DEFINITION + "AAAA", "semantics": 3},
        id=f"unreadable-{uuid.uuid4().hex[:8]}",
        task_queue=runtime.task_queue,
    )
    runtime.handles.append(handle)  # recorded with the others (--record-histories)
    error_type, report = await failure_of(handle)
    assert error_type == "SagaInvalidDefinition"
    assert report.reason == "invalid_definition" and "cannot be read" in (report.error or "")


async def test_a_saga_runs_from_its_compact_definition(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    output = await runtime.run(saga([step(svc, "flight"), step(svc, "hotel")]))
    assert output == {"flight": {"id": "flight-1"}, "hotel": {"id": "hotel-1"}}
    [handle] = runtime.handles
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    sent = json.loads(started.input.payloads[0].data)
    assert sent["definition"].startswith(COMPACT_DEFINITION)


# --- a worker of the release before the compact definition --------------------------------


@dataclass
class _PreviousRunInput:
    """The workflow's argument as the release before the compact form declares it."""

    definition: dict[str, Any]
    input: Any = None
    definition_hash: str = ""
    search_attributes: bool = False
    semantics: int = 0


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class _PreviousSaga:
    """Stands for the previous release's workflow: its argument is decoded the same way,
    by Temporal's converter, before any of its code runs; had the decoding worked, it
    would have ended the saga (an invalid definition, nothing sent)."""

    @workflow.run
    async def run(self, run: _PreviousRunInput) -> None:
        raise ApplicationError("invalid saga definition", type="SagaInvalidDefinition")


async def test_a_worker_of_the_previous_release_leaves_a_compact_run_waiting(
    temporal: WorkflowEnvironment, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    definition, digest = definition_snapshot(
        Saga.model_validate(saga([step(svc, "flight"), step(svc, "hotel")]))
    )
    client, queue = temporal.client, f"test-{uuid.uuid4().hex[:12]}"
    async with Worker(client, task_queue=queue, workflows=[_PreviousSaga]):
        handle = await client.start_workflow(
            WORKFLOW_NAME,
            SagaRunInput(definition, None, digest).compact(),
            id=f"upgrade-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )
        failure = await _first_task_failure(handle)
    # Its workflow task failed, so Temporal retries it: the saga is not ended, and
    # nothing was sent.
    assert failure.message == "Failed decoding arguments"
    assert "definition" in failure.cause.message
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert svc.requests == []
    # An upgraded worker then runs it from the start.
    async with httpx.AsyncClient(timeout=None) as http:
        async with build_worker(client, queue, http_client=http):
            assert await handle.result() == {
                "flight": {"id": "flight-1"},
                "hotel": {"id": "hotel-1"},
            }


async def _first_task_failure(handle: WorkflowHandle[Any, Any]) -> Failure:
    for _ in range(1200):  # the worker polls at once; this bound only ends a broken test
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                return event.workflow_task_failed_event_attributes.failure
        await asyncio.sleep(0.1)
    raise AssertionError("the workflow task never failed")


# --- the activity's result -------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "sent"),
    [
        (HttpResult(201, {"id": "f-1"}), {"status": 201, "output": {"id": "f-1"}}),
        (HttpResult(204, None, 3), {"status": 204, "attempt": 3}),
        (HttpResult(200, 0), {"status": 200, "output": 0}),
    ],
)
def test_the_activity_result_leaves_out_its_defaults(
    result: HttpResult, sent: dict[str, Any]
) -> None:
    assert result.compact() == sent
    assert value_to_type(HttpResult, json.loads(json.dumps(sent))) == result


# --- the failure's report ---------------------------------------------------------------


def _report() -> SagaReport:
    def at(seconds: str) -> str:
        return f"2026-03-01T09:00:{seconds}+00:00"

    flight = StepReport(
        name="flight",
        status=StepStatus.COMPENSATED,
        attempts=1,
        compensation_attempts=2,
        started_at=T0,
        finished_at=at("00.261234"),
        compensated_at=at("01"),
        transitions=[
            StepTransition("RUNNING", T0),
            StepTransition("SUCCEEDED", at("00.261234")),
            StepTransition("COMPENSATING", at("00.500001")),
            StepTransition("COMPENSATED", at("01")),
        ],
    )
    wait = StepReport(
        name="approve",
        status=StepStatus.FAILED,
        waiting_since=at("00.3"),
        deadline="2026-03-02T09:00:00.300000+00:00",
        reason="timeout",
        transitions=[StepTransition("WAITING", at("00.3")), StepTransition("FAILED", "later")],
    )
    return SagaReport(
        saga_id="s-1",
        saga_name="trip",
        status=SagaStatus.COMPENSATED,
        reason="failure",
        failed_step="approve",
        steps=[flight, wait, StepReport(name="hotel")],
        started_at=T0,
        finished_at=at("01"),
    )


def test_the_failure_report_gives_times_as_seconds_after_the_start() -> None:
    report = _report()
    compact = report.compact()
    assert compact["started_at"] == T0 and compact["finished_at"] == "2026-03-01T09:00:01+00:00"
    flight, wait, hotel = compact["steps"]
    assert flight["times"] == {
        "started_at": 0.0,
        "finished_at": 0.011234,
        "compensated_at": 0.75,
        "transitions": [
            ["RUNNING", 0.0],
            ["SUCCEEDED", 0.011234],
            ["COMPENSATING", 0.250001],
            ["COMPENSATED", 0.75],
        ],
    }
    assert not {"started_at", "transitions"} & set(flight)
    assert wait["times"]["deadline"] == 86400.05
    # A time that is not one (or that would not read back the same) is kept as text.
    assert wait["times"]["transitions"][1] == ["FAILED", "later"]
    assert hotel == {"name": "hotel"}
    text = json.dumps(compact)
    assert len(text) < len(json.dumps(report.to_dict())) / 2
    assert SagaReport.from_dict(json.loads(text)) == report


def test_a_reader_of_an_earlier_version_reads_the_compact_report_without_times() -> None:
    # Earlier versions read a report with `from_dict` or Temporal's converter, both of
    # which ignore keys they do not know: every status, attempt and error is there.
    report = _report()
    read = value_to_type(SagaReport, json.loads(json.dumps(report.compact())))
    assert [(s.name, s.status, s.attempts) for s in read.steps] == [
        (s.name, s.status, s.attempts) for s in report.steps
    ]
    assert (read.status, read.failed_step, read.reason) == ("COMPENSATED", "approve", "failure")
    assert read.finished_at == report.finished_at
    assert all(s.started_at is None and s.transitions == [] for s in read.steps)


def test_a_report_without_a_start_keeps_its_times_as_text() -> None:
    report = _report()
    report.started_at = None
    compact = json.loads(json.dumps(report.compact()))
    assert compact["steps"][0]["times"]["compensated_at"] == "2026-03-01T09:00:01+00:00"
    assert SagaReport.from_dict(compact) == report


def test_older_reports_still_read() -> None:
    report = _report()
    assert SagaReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert value_to_type(SagaReport, report.to_dict()) == report


# --- outcomes without stack traces ----------------------------------------------------


def _failure(error: BaseException) -> Failure:
    failure = Failure()
    try:
        raise error
    except BaseException as raised:  # noqa: BLE001 - the conversion needs a traceback
        data_converter(environ={}).failure_converter.to_failure(
            raised, DataConverter.default.payload_converter, failure
        )
    return failure


def test_an_outcome_is_written_without_its_stack_trace_and_a_fault_with_it() -> None:
    saga_end = ApplicationError("compensated", {"status": "COMPENSATED"}, type="SagaCompensated")
    http = ApplicationError(
        "POST http://x/: 402", type="HttpStatus", category=ApplicationErrorCategory.BENIGN
    )
    for outcome in (saga_end, http):
        failure = _failure(outcome)
        assert failure.stack_trace == "" and failure.message
        assert outcome.__traceback__ is not None  # the error itself is left as it was
    assert "raise error" in _failure(RuntimeError("a bug")).stack_trace
    assert "raise error" in _failure(ApplicationError("other", type="Boom")).stack_trace


async def test_a_compensated_saga_writes_no_stack_trace(
    temporal: WorkflowEnvironment, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.fail("POST", "/pay", status=402, times=None)
    steps = [
        step(svc, "flight"),
        {"name": "pay", "action": {"url": f"{svc.url}/pay", "method": "POST"}},
    ]
    definition, _ = definition_snapshot(Saga.model_validate(saga(steps)))
    target = temporal.client.service_client.config.target_host
    client = await Client.connect(target, data_converter=data_converter(environ={}))
    queue = f"test-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(timeout=None) as http:
        async with build_worker(client, queue, http_client=http):
            handle = await client.start_workflow(
                WORKFLOW_NAME,
                SagaRunInput(definition).compact(),
                id=f"traces-{uuid.uuid4().hex[:8]}",
                task_queue=queue,
            )
            error_type, report = await failure_of(handle)
    assert error_type == "SagaCompensated"
    assert [s.status for s in report.steps] == ["COMPENSATED", "FAILED"]
    events = (await handle.fetch_history()).events
    failures = [
        event.activity_task_failed_event_attributes.failure
        for event in events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    failures.append(events[-1].workflow_execution_failed_event_attributes.failure)
    assert len(failures) == 2 and all(f.message and not f.stack_trace for f in failures)


async def test_a_compensated_run_carries_its_report_compactly(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    svc.fail("POST", "/pay", status=402, times=None)
    pay = {"name": "pay", "action": {"url": f"{svc.url}/pay", "method": "POST"}}
    handle = await runtime.start(saga([step(svc, "flight"), step(svc, "hotel"), pay]))
    error_type, report = await failure_of(handle)
    assert error_type == "SagaCompensated"
    assert [s.status for s in report.steps] == ["COMPENSATED", "COMPENSATED", "FAILED"]
    flight = report.steps[0]
    assert [t.status for t in flight.transitions] == [
        "RUNNING",
        "SUCCEEDED",
        "COMPENSATING",
        "COMPENSATED",
    ]
    assert flight.started_at == report.started_at == flight.transitions[0].at
    assert flight.compensated_at == flight.transitions[-1].at
    # In the history: the steps' times under `times`, as seconds after the start.
    last = (await handle.fetch_history()).events[-1]
    [payload] = (
        last.workflow_execution_failed_event_attributes.failure.application_failure_info.details.payloads
    )
    details = json.loads(payload.data)
    assert isinstance(details["started_at"], str) and "transitions" not in details["steps"][0]
    assert all(isinstance(at, float) for _, at in details["steps"][0]["times"]["transitions"])
