"""`saga worker --metrics-port P --log-format json`: Prometheus metrics that match the runs,
the SDK's metrics beside them, nothing counted twice on replay, and JSON log lines that
name the saga, the step and the attempt."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from interpreter.contract import QUERY_REPORT
from interpreter.dev.demo import DemoService
from interpreter.ops.instrument import Instrumentation
from interpreter.ops.metrics import SagaMetrics, metrics_port_from_env
from interpreter.worker._worker import build_worker, workflow_runner
from interpreter.workflow import SagaWorkflow

from .conftest import (
    SAGA,
    free_port,
    run_saga,
    saga,
    saga_env,
    scrape,
    start,
    step,
    wait_until,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def status_classes(svc: DemoService) -> Counter[tuple[str, str]]:
    """What the service answered, as (kind, status class): the truth metrics must match."""
    return Counter(
        ("compensation" if r.path.startswith("/undo/") else "action", f"{r.status // 100}xx")
        for r in svc.requests
        if r.status is not None
    )


@pytest.fixture
def worker_process(address: str, task_queue: str, tmp_path: Path) -> Any:
    port = free_port()
    stderr = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [SAGA, "worker", "--address", address, "--task-queue", task_queue]
        + ["--metrics-port", str(port), "--log-format", "json"],
        stdout=stderr,
        stderr=stderr,
        env=saga_env(),
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_until(lambda: scrape(url), "the worker's metrics endpoint")
        yield url, tmp_path / "worker.log", process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        stderr.close()


async def test_metrics_match_the_runs_and_logs_name_saga_step_attempt(
    temporal: WorkflowEnvironment, task_queue: str, services, worker_process: Any
) -> None:
    url, log_file, process = worker_process
    svc = services("shop")
    definition = saga([step(svc, "a"), step(svc, "b")])
    svc.fail("POST", "/b", status=503, times=1)  # retried, then the saga completes
    completed = await start(temporal.client, definition, task_queue)
    await completed.result()
    svc.fail("POST", "/b", status=400, times=1)  # not retried: a is compensated
    compensated = await start(temporal.client, definition, task_queue)
    with pytest.raises(WorkflowFailureError):
        await compensated.result()

    found = samples(wait_until(lambda: "saga_ended_total" in (t := scrape(url)) and t, "ends"))
    assert value(found, "saga_started_total", saga="ops-saga") == 2
    assert value(found, "saga_ended_total", saga="ops-saga", status="COMPLETED") == 1
    assert value(found, "saga_ended_total", saga="ops-saga", status="COMPENSATED") == 1
    for (kind, status_class), count in status_classes(svc).items():
        labels = {"saga": "ops-saga", "kind": kind, "status_class": status_class}
        assert value(found, "saga_http_responses_total", **labels) == count, labels
    assert value(found, "saga_http_retries_total", saga="ops-saga", kind="action") == 1
    step_count = "saga_step_duration_seconds_count"
    assert value(found, step_count, saga="ops-saga", step="a", outcome="succeeded") == 2
    assert value(found, step_count, saga="ops-saga", step="b", outcome="succeeded") == 1
    assert value(found, step_count, saga="ops-saga", step="b", outcome="failed") == 1
    compensation_count = "saga_compensation_duration_seconds_count"
    assert value(found, compensation_count, saga="ops-saga", step="a", outcome="succeeded") == 1
    # The SDK's own metrics, bridged into the same endpoint.
    assert {"temporal_workflow_completed", "temporal_activity_execution_latency"} <= families(
        scrape(url)
    )

    # A query on an ended saga replays its whole history on the worker: nothing recounts.
    await completed.query(QUERY_REPORT)
    again = samples(scrape(url))
    assert value(again, "saga_started_total", saga="ops-saga") == 2
    assert value(again, "saga_ended_total", saga="ops-saga", status="COMPLETED") == 1

    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    # Every line is JSON, the command's own messages included, so a log shipper reads all.
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    messages = [line["message"] for line in lines if line["logger"] == "saga.worker"]
    assert messages[0].startswith(f"Worker polling task queue {task_queue!r}")
    assert messages[-1] == "Worker stopped."
    attempts = [line for line in lines if line["logger"] == "temporalio.activity"]
    assert len(attempts) == len(svc.requests)
    for line in lines:
        assert {"time", "level", "message", "saga_id", "step", "attempt"} <= set(line)
    seen = {(line["saga_id"], line["step"], line["kind"], line["attempt"]) for line in attempts}
    assert (completed.id, "b", "action", 2) in seen
    assert (compensated.id, "a", "compensation", 1) in seen


async def test_replaying_a_history_counts_nothing(
    temporal: WorkflowEnvironment, task_queue: str, services
) -> None:
    svc = services("shop")
    live = SagaMetrics()
    async with build_worker(temporal.client, task_queue, metrics=live):
        handle = await start(temporal.client, saga([step(svc, "a")]), task_queue)
        await handle.result()
    assert live.started.labels("ops-saga")._value.get() == 1
    replayed = SagaMetrics()
    replayer = Replayer(
        workflows=[SagaWorkflow],
        workflow_runner=workflow_runner(),
        interceptors=[Instrumentation(replayed, None)],
    )
    await replayer.replay_workflow(await handle.fetch_history())
    replayed_samples = samples(scrape_registry(replayed))
    assert not [key for key in replayed_samples if key[0].startswith("saga_")]


def scrape_registry(metrics: SagaMetrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


def test_a_bad_metrics_port_is_a_usage_error() -> None:
    answer = run_saga("worker", "--metrics-port", "http")
    assert answer.returncode == 2
    assert "Invalid value for '--metrics-port': 'http' is not a valid integer" in answer.stderr
    with pytest.raises(ValueError, match="SAGA_METRICS_PORT must be a port number"):
        metrics_port_from_env({"SAGA_METRICS_PORT": "9x"})
