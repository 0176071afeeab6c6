"""What a run writes to its history (semantics 3): no event for the semantics version,
activity arguments and the failure's report without their defaults, and the older,
fuller forms still read and replayed."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import value_to_type
from temporalio.worker import Replayer

from interpreter.contract import (
    SEMANTICS,
    HttpCall,
    HttpResult,
    SagaReport,
    SagaStatus,
    StepReport,
    StepStatus,
    StepTransition,
    short_call_argument,
)
from interpreter.dev.demo import DemoService
from interpreter.worker._worker import workflow_runner
from interpreter.workflow._calls import call_argument
from interpreter.workflow._saga import SEMANTICS_PATCHES, SagaWorkflow, checked_semantics

from .conftest import HISTORIES, Runtime, failure_of, saga

SEMANTICS_2 = sorted((HISTORIES / "semantics-2").glob("*.json"))


def _call(**more: Any) -> HttpCall:
    values: dict[str, Any] = {
        "saga_id": "s-1",
        "step": "flight",
        "kind": "action",
        "method": "POST",
        "service": None,
        "base_url": "http://127.0.0.1:1/flights",
    }
    return HttpCall(**{**values, **more})


def test_the_activity_argument_leaves_out_what_holds_its_default() -> None:
    call = _call(idempotency_key="s-1/flight/action", timeout_seconds=5.0)
    argument = call_argument(call)
    assert sorted(argument) == [
        "base_url",
        "idempotency_key",
        "kind",
        "method",
        "saga_id",
        "service",
        "step",
        "timeout_seconds",
    ]
    # The activity reads it back whole, and still reads the full form of older workflows.
    assert value_to_type(HttpCall, argument) == call
    full = {name: getattr(call, name) for name in HttpCall.__dataclass_fields__}
    assert value_to_type(HttpCall, full) == call


def test_the_activity_reads_its_argument_as_the_sdk_would() -> None:
    """`HttpCall.from_dict` (the activity's fast reading) gives what the SDK's converter
    gives, for both forms; it ignores keys it does not know, as the converter does."""
    call = _call(json_body={"a": [1]}, has_json=True, expect=[201, "4xx"], timeout_seconds=5)
    full = {name: getattr(call, name) for name in HttpCall.__dataclass_fields__}
    for argument in (call_argument(call), full, {**full, "from_a_newer_release": 1}):
        assert HttpCall.from_dict(argument) == value_to_type(HttpCall, argument) == call
    with pytest.raises(TypeError):
        HttpCall.from_dict({"step": "flight"})


def test_the_workflow_reads_a_result_as_the_sdk_would() -> None:
    for result in ({"status": 201}, {"status": 200, "output": {"id": 1}, "attempt": 3}):
        assert HttpResult.from_dict(result) == value_to_type(HttpResult, result)
    full = {"status": 204, "output": None, "attempt": 1}  # the form before semantics 3
    assert HttpResult.from_dict(full) == HttpResult(204)


def test_a_value_equal_to_a_default_of_another_type_is_kept() -> None:
    # 0 == False, yet a JSON body of 0 is a body, and `has_json` says so.
    call = _call(json_body=0, has_json=True, expect=[201], body="")
    argument = call_argument(call)
    assert argument["json_body"] == 0 and argument["has_json"] is True
    assert argument["expect"] == [201]
    assert value_to_type(HttpCall, argument) == call


def test_the_failure_report_is_compact_and_reads_back_whole() -> None:
    step = StepReport(
        name="flight",
        status=StepStatus.COMPENSATED,
        attempts=1,
        transitions=[StepTransition("RUNNING", "t0"), StepTransition("SUCCEEDED", "t1")],
    )
    report = SagaReport(
        saga_id="s-1",
        saga_name="trip",
        status=SagaStatus.COMPENSATED,
        reason="failure",
        steps=[step, StepReport(name="hotel")],
    )
    compact = report.compact()
    assert compact.status == "COMPENSATED"
    assert compact["steps"][1] == {"name": "hotel"}
    assert "compensation_failures" not in compact and "output" not in compact
    text = json.dumps(compact)
    assert len(text) < len(json.dumps(report.to_dict())) / 2
    assert SagaReport.from_dict(json.loads(text)) == report
    # The form semantics 3 wrote before times were shortened: defaults left out only.
    assert value_to_type(SagaReport, _defaults_left_out(report)) == report
    assert SagaReport.from_dict(_defaults_left_out(report)) == report


def _defaults_left_out(report: SagaReport) -> dict[str, Any]:
    data = {k: v for k, v in report.to_dict().items() if v not in (None, [], 0, False)}
    data["steps"] = [
        {k: v for k, v in step.items() if v not in (None, [], 0, False, "PENDING")}
        for step in data["steps"]
    ]
    return data


def test_the_semantics_version_comes_from_the_input_when_it_says() -> None:
    assert SEMANTICS == len(SEMANTICS_PATCHES) + 1
    assert checked_semantics(SEMANTICS) == SEMANTICS
    assert checked_semantics(2) == 2
    assert checked_semantics(0) == 0  # not said: the history's markers decide
    with pytest.raises(RuntimeError, match="newer worker"):
        checked_semantics(SEMANTICS + 1)


async def test_a_run_records_no_event_for_its_semantics_version(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    svc = services("shop")
    steps = [
        {
            "name": name,
            "action": {"url": f"{svc.url}/{name}", "method": "POST"},
            "compensation": {
                "url": f"{svc.url}/{name}/${{ steps.{name}.output.id }}",
                "method": "DELETE",
            },
        }
        for name in ("flight", "hotel")
    ]
    steps.append({"name": "pay", "action": {"url": f"{svc.url}/pay", "method": "POST"}})
    svc.fail("POST", "/pay", status=402, times=None)
    handle = await runtime.start(saga(steps))
    error_type, report = await failure_of(handle)
    assert error_type == "SagaCompensated"
    assert [s.status for s in report.steps] == ["COMPENSATED", "COMPENSATED", "FAILED"]
    history = await handle.fetch_history()
    kinds = Counter(EventType.Name(e.event_type) for e in history.events)
    assert "EVENT_TYPE_MARKER_RECORDED" not in kinds
    assert "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" not in kinds
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            [payload] = event.activity_task_scheduled_event_attributes.input.payloads
            argument = json.loads(payload.data)
            assert "secret_headers" not in argument and "query" not in argument
            assert argument["step"] in ("flight", "hotel", "pay")


def _with_input_semantics(path: Path, semantics: int) -> WorkflowHistory:
    """A recorded history whose input names its semantics version, as a run started by
    a newer client and executed by an older worker (which recorded the marker) has it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = started["input"]["payloads"][0]
    value = json.loads(base64.b64decode(payload["data"]))
    value["semantics"] = semantics
    payload["data"] = base64.b64encode(json.dumps(value).encode()).decode()
    return WorkflowHistory.from_json(path.stem, data)


@pytest.mark.parametrize("path", SEMANTICS_2, ids=[p.stem for p in SEMANTICS_2])
async def test_a_run_whose_input_and_markers_both_say_replays(path: Path) -> None:
    replayer = Replayer(workflows=[SagaWorkflow], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(
        _with_input_semantics(path, 2), raise_on_replay_failure=False
    )
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


# --- semantics 5: the short form of the activity's argument ---------------------------

SHORT_SAGA = {
    "version": 1,
    "name": "short",
    "services": {"api": {"url": "http://127.0.0.1:1"}},
    "steps": [
        {
            "name": "plain",
            "action": {"service": "api", "method": "POST", "path": "/p", "json": {"a": 1}},
            "output": {"id": "${ response.body.id }"},
            "compensation": {"service": "api", "method": "DELETE", "path": "/p/1"},
        },
        {"name": "zero", "action": {"service": "api", "method": "PUT", "path": "/z", "json": 0}},
        {
            "name": "text",
            "action": {
                "service": "api",
                "method": "POST",
                "path": "/t",
                "body": "hello",
                "idempotency_key": False,
                "retry": {"on_status": []},
            },
        },
        {
            "name": "keyed",
            "action": {
                "service": "api",
                "method": "POST",
                "path": "/k",
                "idempotency_key": "order-${ input.n }",
                "retry": {"on_status": [503]},
                "success": "${ response.body.ok }",
            },
        },
    ],
}


def _short_calls() -> list[HttpCall]:
    from dsl import Saga
    from interpreter.workflow._calls import build_call

    saga = Saga.model_validate(SHORT_SAGA)
    context = {"input": {"n": 7}, "saga": {"id": "short-1", "name": "short"}, "steps": {}}
    calls = [build_call(saga, step, "action", context)[0] for step in saga.steps]
    calls.append(build_call(saga, saga.steps[0], "compensation", context)[0])
    return calls


@pytest.mark.parametrize("call", _short_calls(), ids=lambda call: f"{call.step}-{call.kind}")
def test_the_short_argument_reads_back_whole(call: HttpCall) -> None:
    short = short_call_argument(call)
    assert "saga_id" not in short and "has_json" not in short and "has_output" not in short
    assert HttpCall.from_dict(short, call.saga_id) == call


def test_the_short_argument_writes_only_what_differs_from_what_the_activity_works_out() -> None:
    plain, zero, text, keyed, undo = _short_calls()
    assert "idempotency_key" not in short_call_argument(plain)
    assert "retry_on_status" not in short_call_argument(plain)
    assert short_call_argument(plain)["output"] == {"id": "${ response.body.id }"}
    assert short_call_argument(zero)["json_body"] == 0  # a JSON body of 0 is sent
    assert "output" not in short_call_argument(zero)  # the body is the step's output
    for call in (plain, undo):  # the usual calls: over 100 bytes shorter here
        saved = len(json.dumps(call_argument(call))) - len(json.dumps(short_call_argument(call)))
        assert saved > 100
    assert short_call_argument(text)["idempotency_key"] is None  # none is sent
    assert short_call_argument(text)["retry_on_status"] == []
    assert short_call_argument(keyed)["idempotency_key"] == "order-7"
    assert short_call_argument(keyed)["retry_on_status"] == [503]
    assert not {"json_body", "output"} & set(short_call_argument(undo))


@pytest.mark.parametrize("call", _short_calls(), ids=lambda call: f"{call.step}-{call.kind}")
def test_a_worker_before_the_short_form_refuses_it_rather_than_misreading_it(
    call: HttpCall,
) -> None:
    # Such a worker reads the argument with the SDK's converter into its HttpCall, whose
    # saga_id is required: the attempt fails ("Failed decoding arguments"), nothing is sent.
    with pytest.raises(TypeError):
        value_to_type(HttpCall, short_call_argument(call))
    with pytest.raises(TypeError):
        HttpCall.from_dict(short_call_argument(call))  # nor without the run's id
