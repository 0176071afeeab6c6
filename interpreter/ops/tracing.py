"""OpenTelemetry tracing: configured by the standard OTEL_* variables, off by default.

Tracing is on when OTEL_TRACES_EXPORTER names an exporter other than `none`, or when an
OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
unless OTEL_SDK_DISABLED=true. Off, nothing of OpenTelemetry is even imported.

A saga is one trace. Its trace id is the caller's when the saga was started by a
traced client (the `_tracer-data` header Temporal's TracingInterceptor writes), else it
is derived from the run id, so every worker that touches the run, replaying or not,
agrees on it without storing anything. The saga's own span (`saga NAME`, from its
start to its end) and each HTTP attempt's span (`STEP action` / `STEP compensation`)
belong to it, and every request carries a `traceparent` naming its attempt's span.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = [
    "SagaTrace",
    "client_interceptors",
    "continue_trace",
    "saga_trace",
    "tracer_provider_from_env",
    "tracing_enabled",
]

SERVICE_NAME = "saga-dsl"
TEMPORAL_TRACE_HEADER = "_tracer-data"
"""The workflow header in which temporalio's TracingInterceptor carries the caller's span."""


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the OTEL_* variables ask for traces (see the module docstring)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracer_provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider:
    """An SDK TracerProvider exporting as OTEL_TRACES_EXPORTER says (otlp, console),
    named by OTEL_SERVICE_NAME (default saga-dsl); installed as the global provider
    unless one is set already."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    env = os.environ if environ is None else environ
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    names = env.get("OTEL_TRACES_EXPORTER", "otlp") or "otlp"
    for name in (n.strip().lower() for n in names.split(",")):
        if name != "none":
            provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:  # an optional extra: saga-dsl[otlp]
            otlp = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
        except ImportError:
            raise ValueError(
                "OTEL_TRACES_EXPORTER=otlp needs the OTLP exporter: pip install 'saga-dsl[otlp]'"
            ) from None
        return otlp.OTLPSpanExporter()
    raise ValueError(f"unknown OTEL_TRACES_EXPORTER {name!r}: use otlp, console or none")


def client_interceptors(environ: Mapping[str, str] | None = None) -> list[Any]:
    """For Client.connect: a StartWorkflow span whose context travels with the run
    (so the saga joins the caller's trace), when tracing is on; else nothing."""
    if not tracing_enabled(environ):
        return []
    tracer_provider_from_env(environ)
    return [_ClientTracing()]


class _ClientTracing:
    """temporalio's TracingInterceptor on the client side only: the worker side is ours."""

    def __init__(self) -> None:
        from temporalio.contrib.opentelemetry import TracingInterceptor

        self._inner = TracingInterceptor()

    def intercept_client(self, next: Any) -> Any:
        return self._inner.intercept_client(next)


@contextlib.contextmanager
def continue_trace(headers: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, sagas started with a traced client join the trace of the
    incoming request whose headers are given (its `traceparent`, `tracestate`).

    For the HTTP gateway: `with continue_trace(request.headers): await start_saga(...)`.
    Does nothing when tracing is off or the headers carry no trace.
    """
    if not tracing_enabled():
        yield
        return
    from opentelemetry import context, propagate

    token = context.attach(propagate.extract({k.lower(): v for k, v in headers.items()}))
    try:
        yield
    finally:
        context.detach(token)


@dataclass(frozen=True)
class SagaTrace:
    """Where a saga's spans hang: its trace id, its own span id, the caller's span id."""

    trace_id: int
    span_id: int
    parent_span_id: int | None = None

    @property
    def traceparent(self) -> str:
        """The W3C traceparent of the saga's span (the parent of every attempt's span)."""
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-01"


def saga_trace(run_id: str, headers: Mapping[str, Any]) -> SagaTrace:
    """The saga's trace: the same in every process and on every replay of the run."""
    digest = hashlib.sha256(b"saga-trace\0" + run_id.encode()).digest()
    own_trace = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    caller = _caller_traceparent(headers)
    if caller is None:
        return SagaTrace(own_trace, span_id)
    return SagaTrace(caller[0], span_id, caller[1])


def _caller_traceparent(headers: Mapping[str, Any]) -> tuple[int, int] | None:
    payload = headers.get(TEMPORAL_TRACE_HEADER)
    if payload is None:
        return None
    from temporalio.converter import PayloadConverter

    try:
        carrier = PayloadConverter.default.from_payloads([payload])[0]
        parts = str(carrier.get("traceparent", "")).split("-")
        trace_id, span_id = int(parts[1], 16), int(parts[2], 16)
    except (AttributeError, IndexError, ValueError, TypeError):
        return None
    return (trace_id, span_id) if trace_id and span_id else None


def parse_traceparent(value: str) -> tuple[int, int] | None:
    """(trace id, span id) of a W3C traceparent, or None when it is not one."""
    parts = value.split("-")
    try:
        ids = int(parts[1], 16), int(parts[2], 16)
    except (IndexError, ValueError):
        return None
    return ids if all(ids) else None


_FORCED: contextvars.ContextVar[tuple[int | None, int] | None] = contextvars.ContextVar(
    "saga_forced_span_ids", default=None
)


class SagaTracer:
    """The tracer of a worker, with the one twist the saga span needs: its ids are fixed
    in advance (see `saga_trace`), since the attempts' spans name it as their parent
    long before it ends."""

    def __init__(self, provider: Any | None = None) -> None:
        from opentelemetry import trace

        provider = provider or tracer_provider_from_env()
        tracer: Any = provider.get_tracer("saga-dsl")
        inner = getattr(tracer, "id_generator", None)
        self._can_force = inner is not None
        if inner is not None:
            tracer.id_generator = _ForcedIds(inner)
        self.tracer = tracer
        self._trace = trace

    def emit_saga_span(
        self,
        trace: SagaTrace,
        name: str,
        start_ns: int,
        end_ns: int,
        attributes: Mapping[str, str],
    ) -> None:
        """Record the finished saga span with its precomputed ids."""
        if not self._can_force:
            return
        parent = self._parent_context(trace)
        token = _FORCED.set((None if trace.parent_span_id else trace.trace_id, trace.span_id))
        try:
            span = self.tracer.start_span(
                name, parent, attributes=dict(attributes), start_time=start_ns
            )
        finally:
            _FORCED.reset(token)
        span.end(end_time=end_ns)

    def _parent_context(self, trace: SagaTrace) -> Any:
        if trace.parent_span_id is None:
            return None
        parent = self._trace.SpanContext(
            trace.trace_id,
            trace.parent_span_id,
            is_remote=True,
            trace_flags=self._trace.TraceFlags(self._trace.TraceFlags.SAMPLED),
        )
        return self._trace.set_span_in_context(self._trace.NonRecordingSpan(parent))

    def attempt_context(self, traceparent: str) -> Any:
        """The context whose current span is the saga's (from the activity's header)."""
        ids = parse_traceparent(traceparent)
        if ids is None:
            return None
        parent = self._trace.SpanContext(
            ids[0],
            ids[1],
            is_remote=True,
            trace_flags=self._trace.TraceFlags(self._trace.TraceFlags.SAMPLED),
        )
        return self._trace.set_span_in_context(self._trace.NonRecordingSpan(parent))


class _ForcedIds:
    """An IdGenerator that returns the ids set in `_FORCED`, else asks the usual one."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def generate_span_id(self) -> int:
        forced = _FORCED.get()
        return forced[1] if forced else int(self._inner.generate_span_id())

    def is_trace_id_random(self) -> bool:
        return bool(self._inner.is_trace_id_random())

    def generate_trace_id(self) -> int:
        forced = _FORCED.get()
        if forced and forced[0] is not None:
            return forced[0]
        return int(self._inner.generate_trace_id())
