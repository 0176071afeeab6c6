"""The worker: runs until told to stop, reads secrets from its directory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from dsl._model import Saga
from interpreter.contract import WORKFLOW_NAME, SagaRunInput
from interpreter.dev.demo import DemoService
from interpreter.worker._worker import run_worker

from .conftest import saga


async def test_run_worker_serves_sagas_until_stopped_and_reads_the_secrets_directory(
    temporal: WorkflowEnvironment, services: Callable[[str], DemoService], tmp_path: Path
) -> None:
    svc = services("vault")
    (tmp_path / "VAULT_TOKEN").write_text("s3cret-from-file\n")
    queue, stop = f"test-{uuid.uuid4().hex[:12]}", asyncio.Event()
    running = asyncio.create_task(
        run_worker(temporal.client, queue, secrets_dir=tmp_path, stop=stop)
    )
    action = {
        "url": f"{svc.url}/items",
        "method": "POST",
        "auth": {"bearer": {"secret": "VAULT_TOKEN"}},
    }
    definition = Saga.model_validate(
        saga([{"name": "a", "action": action, "compensation": "none"}])
    )
    snapshot = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    await temporal.client.execute_workflow(
        WORKFLOW_NAME, SagaRunInput(definition=snapshot), id=queue, task_queue=queue
    )
    assert svc.requests[0].headers["authorization"] == "Bearer s3cret-from-file"
    stop.set()
    await asyncio.wait_for(running, timeout=15)
