"""Operations against real things: one Temporal dev server per session, workers built here
(in process, or `saga worker` as a subprocess), recording demo services on loopback.

Sagas are plain dicts; `start` runs one on a task queue through any client, so a test
can choose the client's codec, runtime and interceptors.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from dsl._model import Saga
from interpreter.contract import WORKFLOW_NAME, SagaRunInput

from ..interpreter.conftest import services as runtime_services
from ..interpreter.conftest import step as runtime_step

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SAGA = str(BIN / "saga")
FAST = {"max_attempts": 3, "initial_interval": "50ms", "max_interval": "50ms"}
FAST_DEFAULTS = {"retry": FAST, "timeout": "5s", "compensation": {"retry": FAST}}


def binary(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), dev_server_log_level="error"
    )
    async with env:
        yield env


@pytest.fixture
def address(temporal: WorkflowEnvironment) -> str:
    return str(temporal.client.service_client.config.target_host)


@pytest.fixture
def task_queue() -> str:
    return f"ops-{uuid.uuid4().hex[:12]}"


# The recording services and the step shape are the runtime tests' own.
services = runtime_services
step = runtime_step


def saga(steps: list[dict[str, Any]], name: str = "ops-saga", **keys: Any) -> dict[str, Any]:
    return {"version": 1, "name": name, "defaults": FAST_DEFAULTS, "steps": steps, **keys}


async def start(
    client: Client, definition: dict[str, Any], task_queue: str, input: Any = None
) -> WorkflowHandle[Any, Any]:
    snapshot = Saga.model_validate(definition).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    return await client.start_workflow(
        WORKFLOW_NAME,
        SagaRunInput(definition=snapshot, input=input),
        id=f"{definition['name']}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def wait_until(condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """Poll until `condition()` is truthy (not a timing assertion: a bound on hanging)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def write_key_file(path: Path, *key_ids: str) -> Path:
    """A key file with a fresh random key per id (the last one encrypts)."""
    lines = [f"{key_id} {base64.b64encode(os.urandom(32)).decode()}" for key_id in key_ids]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def saga_env(**extra: str) -> dict[str, str]:
    """The environment for a `saga` subprocess: no Temporal or ops settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_", "OTEL_"))}
    return {**env, **extra}


def run_saga(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SAGA, *args], capture_output=True, text=True, env=env or saga_env(), timeout=120
    )
