"""The generic worker: one workflow that interprets every saga, one HTTP activity.

`build_worker()` gives a `temporalio.worker.Worker` ready to `run()`; `run_worker()` runs
one until SIGINT/SIGTERM (or an event) and shuts it down cleanly. `workflow_runner()` is
the sandbox configuration the worker uses; a `Replayer` must use the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.runtime import MetricBuffer
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from dsl import load_runtime
from interpreter.contract import DEFAULT_TASK_QUEUE
from interpreter.ops.instrument import Instrumentation
from interpreter.ops.metrics import (
    SagaMetrics,
    buffer_runtime,
    metrics_port_from_env,
    sdk_runtime_buffer,
)
from interpreter.ops.tracing import SagaTracer, tracing_enabled
from interpreter.worker._activity import HttpActivity
from interpreter.worker._secrets import SecretSource
from interpreter.workflow import PASSTHROUGH_MODULES, SagaWorkflow

__all__ = ["GRACEFUL_SHUTDOWN", "build_worker", "run_worker", "workflow_runner"]

GRACEFUL_SHUTDOWN = timedelta(seconds=10)
"""How long in-flight HTTP calls may finish when the worker stops, before they are cancelled."""

# Heartbeats carry cancellation to a running request; sending them at least this often
# bounds how long a cancelled saga waits for its in-flight calls to stop.
HEARTBEAT_THROTTLE = timedelta(seconds=1)


def workflow_runner() -> WorkflowRunner:
    """The sandbox the saga workflow runs in (use the same one to replay histories)."""
    # Passed-through modules are shared with every sandbox; the CEL extension is loaded
    # here, once, so no sandbox's first expression races another's to load it.
    load_runtime()
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    return SandboxedWorkflowRunner(restrictions=restrictions)


def build_worker(
    client: Client,
    task_queue: str = DEFAULT_TASK_QUEUE,
    *,
    secrets_dir: str | Path | None = None,
    max_concurrent_activities: int | None = None,
    max_concurrent_workflow_tasks: int | None = None,
    http_client: httpx.AsyncClient | None = None,
    graceful_shutdown_timeout: timedelta = GRACEFUL_SHUTDOWN,
    metrics: SagaMetrics | None = None,
    tracer: SagaTracer | None = None,
) -> Worker:
    """A worker for the saga workflow and its HTTP activity on `task_queue`.

    One pooled `httpx.AsyncClient` serves every call of the worker: pass your own to
    control it (and close it yourself), or let the worker make one (`run_worker` closes it).
    `metrics` counts into a registry (serve it with `metrics.serve(port)`); `tracer`
    traces each saga and HTTP attempt (see interpreter.ops); both are off when None.
    """
    worker, _ = _build(
        client,
        task_queue,
        secrets_dir=secrets_dir,
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        http_client=http_client,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        instrumentation=_instrumentation(metrics, tracer),
    )
    return worker


def _instrumentation(
    metrics: SagaMetrics | None, tracer: SagaTracer | None
) -> Instrumentation | None:
    if metrics is None and tracer is None:
        return None  # off costs nothing: no interceptor, no header, no hook
    return Instrumentation(metrics, tracer)


def _build(
    client: Client,
    task_queue: str,
    *,
    secrets_dir: str | Path | None,
    max_concurrent_activities: int | None,
    max_concurrent_workflow_tasks: int | None,
    http_client: httpx.AsyncClient | None,
    graceful_shutdown_timeout: timedelta,
    instrumentation: Instrumentation | None = None,
) -> tuple[Worker, HttpActivity]:
    ops = instrumentation
    http = HttpActivity(
        http_client,
        SecretSource(secrets_dir),
        observer=ops.http_attempt if ops else None,
        inject=ops.inject if ops else None,
    )
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[SagaWorkflow],
        activities=[http.call],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        interceptors=[ops] if ops else [],
    )
    return worker, http


async def run_worker(
    client: Client,
    task_queue: str = DEFAULT_TASK_QUEUE,
    *,
    secrets_dir: str | Path | None = None,
    max_concurrent_activities: int | None = None,
    max_concurrent_workflow_tasks: int | None = None,
    http_client: httpx.AsyncClient | None = None,
    graceful_shutdown_timeout: timedelta = GRACEFUL_SHUTDOWN,
    stop: asyncio.Event | None = None,
    metrics_port: int | None = None,
    tracing: bool | None = None,
) -> None:
    """Run a worker until SIGINT/SIGTERM or `stop` is set, then shut it down cleanly.

    `metrics_port` (else SAGA_METRICS_PORT) serves Prometheus metrics on that port;
    `tracing` (else the OTEL_* variables, see interpreter.ops.tracing) traces sagas.
    """
    stop = stop or asyncio.Event()
    port = metrics_port if metrics_port is not None else metrics_port_from_env()
    metrics = SagaMetrics(_sdk_buffer(client)) if port is not None else None
    tracer = SagaTracer() if (tracing_enabled() if tracing is None else tracing) else None
    if metrics is not None and port is not None:
        metrics.serve(port)
    worker, http = _build(
        client,
        task_queue,
        secrets_dir=secrets_dir,
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        http_client=http_client,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        instrumentation=_instrumentation(metrics, tracer),
    )
    with _signals_set(stop):
        try:
            async with worker:
                await stop.wait()
        finally:
            await http.aclose()
            if metrics is not None:
                metrics.close()


def _sdk_buffer(client: Client) -> MetricBuffer | None:
    """The buffer of the SDK's metrics, when the client's runtime records into ours."""
    buffer = sdk_runtime_buffer()
    runtime = client.service_client.config.runtime
    return buffer if runtime is not None and buffer_runtime(buffer) is runtime else None


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event) -> Iterator[None]:
    """Set `stop` on SIGINT/SIGTERM while inside (where the loop supports signal handlers)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread or on Windows; the caller's event still works.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
