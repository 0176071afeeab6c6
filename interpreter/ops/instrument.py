"""The worker's interceptor: saga metrics and spans, without touching the workflow's logic.

Workflow side (inside the sandbox): counts the saga's start and end and times each
step and compensation from its first attempt to its outcome, all in workflow time and
only while the workflow is not replaying, so a replay or a query never counts again;
puts a `saga-dsl` header on every activity it schedules with the saga's name and the
traceparent of the saga's span. Headers are not commands: histories recorded with or
without this interceptor replay alike.

Activity side: reads that header, opens one span per HTTP attempt (a child of the
saga's span), and takes the activity's report of each attempt (`http_attempt`) for the
response and retry metrics. The activity puts the attempt's `traceparent` on the
request it sends (`inject`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from temporalio import activity, workflow
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from interpreter.contract import HttpCall
from interpreter.ops.metrics import SagaMetrics
from interpreter.ops.tracing import SagaTrace, SagaTracer, saga_trace

__all__ = ["HEADER", "Instrumentation"]

HEADER = "saga-dsl"
"""Activity header: {"saga": NAME, "traceparent": the saga span's} as a JSON payload."""
UNKNOWN = "unknown"


@dataclass(frozen=True)
class _Attempt:
    saga: str
    span: Any = None


_CURRENT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "saga_attempt", default=None
)


class Instrumentation(Interceptor):
    """Metrics, tracing, or both, for one worker (each None when off)."""

    def __init__(self, metrics: SagaMetrics | None, tracer: SagaTracer | None) -> None:
        self.metrics = metrics
        self.tracer = tracer

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        class Bound(_WorkflowInbound):
            ops = self

        return Bound

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, self)

    # --- the activity's hooks ---------------------------------------------------------

    def http_attempt(
        self, call: HttpCall, attempt: int, status: int | None, seconds: float
    ) -> None:
        current = _CURRENT.get()
        if self.metrics is not None:
            saga = current.saga if current else UNKNOWN
            self.metrics.http_attempt(saga, call.kind, attempt, status, seconds)
        if current is not None and current.span is not None and status is not None:
            current.span.set_attribute("http.response.status_code", status)

    @property
    def inject(self) -> Callable[[dict[str, str]], None] | None:
        """Writes `traceparent` (and `tracestate`) of the current attempt into headers."""
        if self.tracer is None:
            return None
        from opentelemetry import propagate

        return propagate.inject


# --- workflow side (runs in the sandbox) ----------------------------------------------


class _WorkflowInbound(WorkflowInboundInterceptor):
    ops: ClassVar[Instrumentation]

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self.saga = UNKNOWN
        self.trace: SagaTrace | None = None
        self.header: Any = None
        super().init(_WorkflowOutbound(outbound, self))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        definition = getattr(input.args[0], "definition", None) if input.args else None
        if isinstance(definition, dict):
            self.saga = str(definition.get("name") or UNKNOWN)
        info = workflow.info()
        if self.ops.tracer is not None:
            self.trace = saga_trace(info.run_id, info.headers)
        carried = {"saga": self.saga, "traceparent": self.trace.traceparent if self.trace else ""}
        self.header = PayloadConverter.default.to_payloads([carried])[0]
        if self.ops.metrics is not None and not workflow.unsafe.is_replaying():
            self.ops.metrics.started.labels(self.saga).inc()
        try:
            result = await super().execute_workflow(input)
        except BaseException as err:
            # Only a failure ends the run; anything else (an eviction, a bug failing the
            # workflow task) leaves it to be continued, so it is not an end.
            if workflow.is_failure_exception(err):
                self._ended(_end_status(err))
            raise
        self._ended("COMPLETED")
        return result

    def _ended(self, status: str) -> None:
        if workflow.unsafe.is_replaying():
            return
        if self.ops.metrics is not None:
            self.ops.metrics.ended.labels(self.saga, status).inc()
        if self.ops.tracer is not None and self.trace is not None:
            info = workflow.info()
            self.ops.tracer.emit_saga_span(
                self.trace,
                f"saga {self.saga}",
                int(info.start_time.timestamp() * 1e9),
                workflow.time_ns(),
                {"saga.id": info.workflow_id, "saga.name": self.saga, "saga.status": status},
            )

    def step_done(self, step: str, kind: str, started_ns: int, handle: Any) -> None:
        if self.ops.metrics is None or workflow.unsafe.is_replaying():
            return
        seconds = (workflow.time_ns() - started_ns) / 1e9
        metrics = self.ops.metrics
        histogram = metrics.step_duration if kind == "action" else metrics.compensation_duration
        histogram.labels(self.saga, step, _outcome(handle)).observe(seconds)


def _end_status(err: BaseException) -> str:
    if isinstance(err, ApplicationError):
        report = err.details[0] if err.details else None
        status = getattr(report, "status", None)
        if status is not None:
            return str(status)
        return err.type or "FAILED"
    return "FAILED"


def _outcome(handle: Any) -> str:
    if handle.cancelled():
        return "cancelled"
    error = handle.exception()
    if error is None:
        return "succeeded"
    if isinstance(error, ActivityError) and isinstance(error.cause, CancelledError):
        return "cancelled"
    return "failed"


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, root: _WorkflowInbound) -> None:
        super().__init__(next)
        self._root = root

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        root = self._root
        if root.header is not None:
            input.headers = {**input.headers, HEADER: root.header}
        handle = super().start_activity(input)
        step, kind = _step_and_kind(input.args[0] if input.args else None)
        if root.ops.metrics is not None and step:
            started = workflow.time_ns()
            handle.add_done_callback(lambda done: root.step_done(step, kind, started, done))
        return handle


def _step_and_kind(call: Any) -> tuple[str, str]:
    """The step and kind of an HTTP call: an HttpCall, or the plain dict the workflow
    hands the activity to spare a copy; ("", "") for any other activity."""
    if isinstance(call, HttpCall):
        return call.step, call.kind
    if isinstance(call, dict):
        return str(call.get("step") or ""), str(call.get("kind") or "")
    return "", ""


def _method(call: Any) -> str:
    """The HTTP method of an HttpCall or of its dict (as the activity receives it)."""
    if isinstance(call, HttpCall):
        return call.method
    return str(call.get("method") or "") if isinstance(call, dict) else ""


# --- activity side ----------------------------------------------------------------------


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, ops: Instrumentation) -> None:
        super().__init__(next)
        self._ops = ops

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        carried = _carried(input)
        saga = str(carried.get("saga") or UNKNOWN)
        tracer = self._ops.tracer
        if tracer is None:
            token = _CURRENT.set(_Attempt(saga))
            try:
                return await super().execute_activity(input)
            finally:
                _CURRENT.reset(token)
        return await self._traced(input, tracer, saga, str(carried.get("traceparent") or ""))

    async def _traced(
        self, input: ExecuteActivityInput, tracer: SagaTracer, saga: str, traceparent: str
    ) -> Any:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        call = input.args[0] if input.args else None
        info = activity.info()
        step, kind = _step_and_kind(call)
        if not step:
            step, kind = info.activity_id, "activity"
        attributes: dict[str, str | int] = {
            "saga.id": info.workflow_id or "",
            "saga.name": saga,
            "saga.step": step,
            "saga.kind": kind,
            "saga.attempt": info.attempt,
        }
        method = _method(call)
        if method:
            attributes["http.request.method"] = method
        with tracer.tracer.start_as_current_span(
            f"{step} {kind}",
            context=tracer.attempt_context(traceparent),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            token = _CURRENT.set(_Attempt(saga, span))
            try:
                return await super().execute_activity(input)
            except BaseException as err:
                span.set_status(Status(StatusCode.ERROR, str(err) or type(err).__name__))
                raise
            finally:
                _CURRENT.reset(token)


def _carried(input: ExecuteActivityInput) -> dict[str, Any]:
    payload = input.headers.get(HEADER)
    if payload is None:
        return {}
    try:
        value = PayloadConverter.default.from_payloads([payload])[0]
    except Exception:  # a header from another version: metrics fall back to "unknown"
        return {}
    return value if isinstance(value, dict) else {}
