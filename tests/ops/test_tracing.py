"""Tracing: one trace per saga, a span per HTTP attempt, `traceparent` on every request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from interpreter.client import ConnectionSettings, connect
from interpreter.dev.demo import DemoService
from interpreter.ops.tracing import (
    SagaTracer,
    continue_trace,
    parse_traceparent,
    saga_trace,
    tracing_enabled,
)
from interpreter.worker._worker import build_worker

from .conftest import saga, start, step

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def provider() -> TracerProvider:
    # The process's global provider can be set once: every test here shares it.
    made = TracerProvider()
    made.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(made)
    return made


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    EXPORTER.clear()
    yield EXPORTER


def trace_ids(svc: DemoService) -> list[int]:
    found = []
    for request in svc.requests:
        ids = parse_traceparent(request.headers.get("traceparent", ""))
        assert ids is not None, f"{request.method} {request.path} has no traceparent"
        found.append(ids[0])
    return found


def by_id(exported: tuple[ReadableSpan, ...]) -> dict[int, ReadableSpan]:
    return {span.context.span_id: span for span in exported}


async def test_every_request_carries_its_attempts_span_in_one_trace_per_saga(
    temporal: WorkflowEnvironment, task_queue: str, services, provider, spans
) -> None:
    first, second = services("first"), services("second")
    second.fail("POST", "/b", status=503, times=1)  # a retry: two attempts, two spans
    second.fail("POST", "/c", status=400, times=1)  # c fails: a and b are compensated
    async with build_worker(temporal.client, task_queue, tracer=SagaTracer(provider)):
        ok = await start(temporal.client, saga([step(first, "a")]), task_queue)
        await ok.result()
        bad = await start(
            temporal.client,
            saga([step(second, "a"), step(second, "b"), step(second, "c")]),
            task_queue,
        )
        with pytest.raises(WorkflowFailureError):
            await bad.result()

    ok_traces, bad_traces = set(trace_ids(first)), set(trace_ids(second))
    assert len(ok_traces) == 1 and len(bad_traces) == 1 and ok_traces != bad_traces
    exported = by_id(spans.get_finished_spans())
    for svc in (first, second):
        for request in svc.requests:
            _, parent = parse_traceparent(request.headers["traceparent"]) or (0, 0)
            attempt = exported[parent]  # the request names its attempt's span...
            assert attempt.parent is not None and attempt.attributes is not None
            saga_span = exported[attempt.parent.span_id]  # ...a child of the saga's span
            assert saga_span.name == "saga ops-saga" and saga_span.parent is None
            assert attempt.attributes["saga.step"] == request.path.rsplit("/", 1)[-1]
            assert attempt.attributes["http.response.status_code"] == request.status
    names = sorted(s.name for s in exported.values() if s.context.trace_id in bad_traces)
    assert names == sorted(
        ["a action", "b action", "b action", "c action", "a compensation", "b compensation"]
        + ["saga ops-saga"]
    )
    saga_spans = [s for s in exported.values() if s.name == "saga ops-saga"]
    statuses = {s.context.trace_id: (s.attributes or {})["saga.status"] for s in saga_spans}
    assert statuses == {ok_traces.pop(): "COMPLETED", bad_traces.pop(): "COMPENSATED"}


async def test_a_saga_started_inside_a_callers_trace_joins_it(
    temporal: WorkflowEnvironment,
    address: str,
    task_queue: str,
    services,
    provider,
    spans,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")  # on; the global provider is kept
    svc = services("shop")
    client = await connect(ConnectionSettings(address=address))
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with build_worker(client, task_queue, tracer=SagaTracer(provider)):
        with continue_trace({"Traceparent": caller}):
            handle = await start(client, saga([step(svc, "a"), step(svc, "b")]), task_queue)
        await handle.result()
    assert set(trace_ids(svc)) == {0x0AF7651916CD43DD8448EB211C80319C}
    saga_span = next(s for s in spans.get_finished_spans() if s.name == "saga ops-saga")
    assert saga_span.parent is not None
    start_span = by_id(spans.get_finished_spans())[saga_span.parent.span_id]
    assert start_span.name == "StartWorkflow:Saga"
    assert start_span.parent is not None and start_span.parent.span_id == 0xB7AD6B7169203331


async def test_without_tracing_requests_carry_no_traceparent(
    temporal: WorkflowEnvironment, task_queue: str, services
) -> None:
    svc = services("shop")
    async with build_worker(temporal.client, task_queue):
        await (await start(temporal.client, saga([step(svc, "a")]), task_queue)).result()
    assert [r.headers.get("traceparent") for r in svc.requests] == [None]


def test_the_saga_trace_is_the_same_in_every_process_and_replay() -> None:
    assert saga_trace("run-1", {}) == saga_trace("run-1", {})
    assert saga_trace("run-1", {}).trace_id != saga_trace("run-2", {}).trace_id


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_only_when_otel_variables_ask(environ: dict[str, str], enabled: bool) -> None:
    assert tracing_enabled(environ) is enabled
