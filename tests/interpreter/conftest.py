"""A real Temporal dev server per session, a worker per test, real HTTP services on loopback.

`runtime` gives each test its own task queue and worker; `services` starts recording
demo services. Sagas are written as plain dicts, like the YAML users write.

`pytest tests/interpreter --record-histories` also writes each test's workflow history to
tests/interpreter/histories/semantics-<N>/<test>.json (N: the newest semantics version of
the workflow), for the replay tests. Histories are kept forever and never overwritten:
a file that exists is left as it is. The files directly under histories/ were recorded
before semantics versions existed (semantics 1).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dsl._model import Saga
from interpreter.contract import (
    QUERY_REPORT,
    SEARCH_ATTRIBUTE_NAME,
    SEARCH_ATTRIBUTE_STATUS,
    WORKFLOW_NAME,
    SagaReport,
    SagaRunInput,
)
from interpreter.dev.demo import DemoService
from interpreter.worker._worker import build_worker
from interpreter.workflow._saga import SEMANTICS_PATCHES

HISTORIES = Path(__file__).parent / "histories"
RECORD_INTO = HISTORIES / f"semantics-{len(SEMANTICS_PATCHES) + 1}"

# Test sagas retry fast, so failures surface in milliseconds, not seconds.
FAST_ATTEMPTS = 3
FAST = {"max_attempts": FAST_ATTEMPTS, "initial_interval": "50ms", "max_interval": "50ms"}
FAST_DEFAULTS = {"retry": FAST, "timeout": "5s", "compensation": {"retry": FAST}}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-histories",
        action="store_true",
        help="write each saga's new workflow histories to tests/interpreter/histories/",
    )


def binary(name: str) -> str:
    """A Temporal binary installed in the virtualenv (never downloaded)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    keys = [
        SearchAttributeKey.for_keyword(n) for n in (SEARCH_ATTRIBUTE_NAME, SEARCH_ATTRIBUTE_STATUS)
    ]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=keys,
        dev_server_log_level="error",
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server")
    )
    async with env:
        yield env


@pytest.fixture
def services() -> Iterator[Callable[[str], DemoService]]:
    """A factory of recording services, all stopped after the test."""
    started: list[DemoService] = []

    def start(name: str) -> DemoService:
        started.append(DemoService(name).start())
        return started[-1]

    yield start
    for service in started:
        service.stop()


def step(svc: DemoService, name: str, **keys: Any) -> dict[str, Any]:
    """A POST step on `svc` at /NAME, undone by PUT /undo/NAME."""
    return {
        "name": name,
        "action": {"url": f"{svc.url}/{name}", "method": "POST"},
        "compensation": {"url": f"{svc.url}/undo/{name}", "method": "PUT"},
        **keys,
    }


def saga(steps: list[dict[str, Any]], **keys: Any) -> dict[str, Any]:
    """A saga definition with fast test defaults; keys override or add top-level keys."""
    return {"version": 1, "name": "test-saga", "defaults": FAST_DEFAULTS, "steps": steps, **keys}


@dataclass
class Runtime:
    """Starts sagas on a test's own task queue, served by the test's own worker."""

    client: Client
    task_queue: str
    test_name: str
    record: bool
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def start(
        self, definition: dict[str, Any], input: Any = None, *, search_attributes: bool = False
    ) -> WorkflowHandle[Any, Any]:
        snapshot = Saga.model_validate(definition).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        run_input = SagaRunInput(snapshot, input, search_attributes=search_attributes)
        handle = await self.client.start_workflow(
            WORKFLOW_NAME,
            run_input.compact(),  # as clients send it
            id=f"{definition['name']}-{uuid.uuid4().hex[:8]}",
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def run(self, definition: dict[str, Any], input: Any = None) -> Any:
        """Run to completion and return the saga's output."""
        return await (await self.start(definition, input)).result()

    async def fail(self, definition: dict[str, Any], input: Any = None) -> tuple[str, SagaReport]:
        """Run a saga that must not complete: its error type and its report."""
        return await failure_of(await self.start(definition, input))

    async def save_histories(self) -> None:
        for number, handle in enumerate(self.handles):
            history = json.loads((await handle.fetch_history()).to_json())
            name = self.test_name + (f"-{number}" if number else "")
            text = json.dumps(_without_stack_traces(history), indent=1)
            target = RECORD_INTO / f"{name}.json"
            if not target.exists():  # a recorded history is a contract: never rewritten
                RECORD_INTO.mkdir(parents=True, exist_ok=True)
                target.write_text(text + "\n", encoding="utf-8")


def _without_stack_traces(value: Any) -> Any:
    """Failures carry the worker's stack traces (paths of the machine); replay needs none."""
    if isinstance(value, dict):
        return {k: "" if k == "stackTrace" else _without_stack_traces(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_stack_traces(item) for item in value]
    return value


async def failure_of(handle: WorkflowHandle[Any, Any]) -> tuple[str, SagaReport]:
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause.type or "", report_from(cause.details[0])


def report_from(value: Any) -> SagaReport:
    """The report a failure carries, read as every client reads it."""
    assert isinstance(value, dict), value
    return SagaReport.from_dict(value)


async def query_report(handle: WorkflowHandle[Any, Any]) -> SagaReport:
    report: SagaReport = await handle.query(QUERY_REPORT, result_type=SagaReport)
    return report


async def _run_worker(
    client: Client, request: pytest.FixtureRequest, **options: Any
) -> AsyncIterator[Runtime]:
    runtime = Runtime(
        client,
        f"test-{uuid.uuid4().hex[:12]}",
        re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-"),
        bool(request.config.getoption("--record-histories")),
    )
    async with httpx.AsyncClient(timeout=None) as http:
        worker: Worker = build_worker(client, runtime.task_queue, http_client=http, **options)
        async with worker:
            yield runtime
            if runtime.record:
                await runtime.save_histories()


@pytest.fixture
async def runtime(
    temporal: WorkflowEnvironment, request: pytest.FixtureRequest
) -> AsyncIterator[Runtime]:
    async for value in _run_worker(temporal.client, request):
        yield value


@pytest.fixture
async def skipping_runtime(
    time_skipping: WorkflowEnvironment, request: pytest.FixtureRequest
) -> AsyncIterator[Runtime]:
    async for value in _run_worker(time_skipping.client, request):
        yield value
