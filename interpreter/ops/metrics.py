"""Prometheus metrics of a worker: the sagas' own, and the Temporal SDK's beside them.

`SagaMetrics` holds a registry of its own (several workers may share a process) and
serves it over HTTP (`serve`). The saga metrics are counted by the worker's interceptor
(`interpreter.ops.instrument`): sagas and steps in the workflow, only when the workflow
is not replaying, so a replayed history never counts twice; HTTP responses and retries
in the activity. The SDK's metrics (task latencies, pollers, slots...) reach the same
registry from a `MetricBuffer` on the client's runtime (`sdk_runtime_buffer`), drained
on every scrape.

Names (docs/OPERATIONS.md lists them with their labels)::

    saga_started_total{saga}
    saga_ended_total{saga, status}             COMPLETED, COMPENSATED, COMPENSATION_FAILED...
    saga_step_duration_seconds{saga, step, outcome}          action, first attempt to end
    saga_compensation_duration_seconds{saga, step, outcome}  compensation, idem
    saga_http_responses_total{saga, kind, status_class}      1xx..5xx, or "error"
    saga_http_request_duration_seconds{saga, kind}           one attempt
    saga_http_retries_total{saga, kind}                      attempts after the first
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    MetricBuffer,
    MetricBufferDurationFormat,
)

__all__ = [
    "METRICS_PORT_ENV",
    "SagaMetrics",
    "buffer_runtime",
    "metrics_port_from_env",
    "sdk_runtime_buffer",
]

METRICS_PORT_ENV = "SAGA_METRICS_PORT"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
SDK_BUFFER_SIZE = 100_000
DRAIN_EVERY = 5.0
"""Seconds between drains of the SDK's metric buffer besides the scrapes."""


def metrics_port_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """SAGA_METRICS_PORT as a port number, or None when unset or empty."""
    text = (os.environ if environ is None else environ).get(METRICS_PORT_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 65535:
        raise ValueError(f"{METRICS_PORT_ENV} must be a port number, not {text!r}")
    return int(text)


@functools.cache
def sdk_runtime_buffer() -> MetricBuffer:
    """The buffer the process's Temporal runtime records the SDK's metrics into (when
    metrics are on, see interpreter.client._connection.runtime)."""
    return MetricBuffer(SDK_BUFFER_SIZE, MetricBufferDurationFormat.SECONDS)


class SagaMetrics:
    """The metrics of one worker, in a registry of their own."""

    def __init__(self, sdk_buffer: MetricBuffer | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._servers: list[Any] = []
        self._closed = threading.Event()
        registry = self.registry
        self.started = Counter(
            "saga_started", "Sagas started, by saga name.", ["saga"], registry=registry
        )
        self.ended = Counter(
            "saga_ended",
            "Sagas ended, by saga name and end state.",
            ["saga", "status"],
            registry=registry,
        )
        self.step_duration = _histogram(
            "saga_step_duration_seconds",
            "A step's action from its first attempt to its outcome, retries included.",
            ["saga", "step", "outcome"],
            registry,
        )
        self.compensation_duration = _histogram(
            "saga_compensation_duration_seconds",
            "A step's compensation from its first attempt to its outcome, retries included.",
            ["saga", "step", "outcome"],
            registry,
        )
        self.responses = Counter(
            "saga_http_responses",
            "HTTP attempts by answer: the status class (2xx...) or error (no response).",
            ["saga", "kind", "status_class"],
            registry=registry,
        )
        self.request_duration = _histogram(
            "saga_http_request_duration_seconds",
            "One HTTP attempt, from sending to the verdict on its response.",
            ["saga", "kind"],
            registry,
        )
        self.retries = Counter(
            "saga_http_retries",
            "HTTP attempts after the first of a request.",
            ["saga", "kind"],
            registry=registry,
        )
        self.sdk = SdkMetrics(sdk_buffer) if sdk_buffer is not None else None
        if self.sdk is not None:
            registry.register(self.sdk)

    def serve(self, port: int, host: str = "0.0.0.0") -> tuple[Any, threading.Thread]:
        """Serve /metrics on host:port in a daemon thread; port 0 takes a free port
        (the server's `server_port`). `close()` stops it."""
        server, thread = start_http_server(port, host, registry=self.registry)
        self._servers.append(server)
        if self.sdk is not None:
            # Between scrapes too: a full buffer would drop the SDK's updates.
            drain = threading.Thread(target=self.sdk.drain_until, args=(self._closed,))
            drain.daemon = True
            drain.start()
        return server, thread

    def close(self) -> None:
        """Stop serving and draining."""
        self._closed.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def http_attempt(
        self, saga: str, kind: str, attempt: int, status: int | None, seconds: float
    ) -> None:
        """One HTTP attempt of the activity: its answer, its duration, whether a retry."""
        status_class = f"{status // 100}xx" if status else "error"
        self.responses.labels(saga, kind, status_class).inc()
        self.request_duration.labels(saga, kind).observe(seconds)
        if attempt > 1:
            self.retries.labels(saga, kind).inc()


def _histogram(name: str, doc: str, labels: list[str], registry: CollectorRegistry) -> Histogram:
    return Histogram(name, doc, labels, registry=registry, buckets=DURATION_BUCKETS)


class SdkMetrics(Collector):
    """The Temporal SDK's metrics, drained from the runtime's buffer on every scrape and
    kept cumulative here, so Prometheus sees ordinary counters, gauges and histograms."""

    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer
        self._lock = threading.Lock()
        self._kinds: dict[str, int] = {}
        self._help: dict[str, str] = {}
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._histograms: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}

    def drain_until(self, stopped: threading.Event, seconds: float = DRAIN_EVERY) -> None:
        """Drain the buffer every `seconds` until `stopped` is set."""
        while not stopped.wait(seconds):
            with self._lock:
                self._drain()

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            self._drain()
            return list(self._families())

    def _drain(self) -> None:
        for update in self._buffer.retrieve_updates():
            metric = update.metric
            name = _prometheus_name(metric.name)
            self._kinds[name] = metric.kind
            self._help[name] = metric.description or metric.name
            key = (name, tuple(sorted((k, str(v)) for k, v in update.attributes.items())))
            if metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                self._values[key] = self._values.get(key, 0.0) + update.value
            elif metric.kind == BUFFERED_METRIC_KIND_GAUGE:
                self._values[key] = float(update.value)
            else:
                self._observe(key, float(update.value))

    def _observe(self, key: tuple[str, tuple[tuple[str, str], ...]], value: float) -> None:
        # Per bound: the count of values at or under it; then the count and the sum.
        counts = self._histograms.setdefault(key, [0.0] * (len(DURATION_BUCKETS) + 2))
        for index, bound in enumerate(DURATION_BUCKETS):
            if value <= bound:
                counts[index] += 1
        counts[-2] += 1
        counts[-1] += value

    def _families(self) -> Iterator[Metric]:
        for name in sorted(self._kinds):
            kind, doc = self._kinds[name], self._help[name]
            if kind == BUFFERED_METRIC_KIND_COUNTER:
                counter = CounterMetricFamily(name, doc, labels=None)
                for labels, value in self._series(self._values, name):
                    counter.add_sample(name + "_total", labels, value)
                yield counter
            elif kind == BUFFERED_METRIC_KIND_GAUGE:
                gauge = GaugeMetricFamily(name, doc)
                for labels, value in self._series(self._values, name):
                    gauge.add_sample(name, labels, value)
                yield gauge
            else:
                yield self._histogram_family(name, doc)

    def _histogram_family(self, name: str, doc: str) -> Metric:
        family = HistogramMetricFamily(name, doc)
        for labels, counts in self._series(self._histograms, name):
            for bound, count in zip(DURATION_BUCKETS, counts, strict=False):
                family.add_sample(name + "_bucket", {**labels, "le": str(float(bound))}, count)
            family.add_sample(name + "_bucket", {**labels, "le": "+Inf"}, counts[-2])
            family.add_sample(name + "_count", labels, counts[-2])
            family.add_sample(name + "_sum", labels, counts[-1])
        return family

    @staticmethod
    def _series(
        table: Mapping[tuple[str, tuple[tuple[str, str], ...]], Any], name: str
    ) -> Iterator[tuple[dict[str, str], Any]]:
        for (metric, labels), value in sorted(table.items()):
            if metric == name:
                yield dict(labels), value


def _prometheus_name(name: str) -> str:
    base = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    base = base.removesuffix("_total")
    return base if base.startswith("temporal_") else "temporal_" + base


def buffer_runtime(buffer: MetricBuffer) -> object | None:
    """The runtime a buffer records for (None before one is made with it)."""
    return getattr(buffer, "_runtime", None)
