"""`saga demo`: the quickstart in one command.

Starts the bundled demo services in this process on free ports (one of them failing, by
default), points the example saga's urls at them, runs it exactly as `saga run` would
(on the embedded server when no Temporal is configured), prints the HTTP calls the
services received, and stops them.

The example files name the services' default ports (9001-9007). Rather than taking
those ports, which another program may hold, the run's definition gets the real urls:
this works with any worker, in this process or not, and for absolute `url`s too, which
a worker's `SAGA_SERVICE_<NAME>_URL` would not reach.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from temporalio.client import Client

from dsl import canonical_json
from interpreter.client import SagaClient
from interpreter.client._prepare import Prepared
from interpreter.contract import SagaStatus, StepStatus
from interpreter.dev import demo
from interpreter.dev.demo import DEMO_PORTS, DemoService, FailSpec, RecordedRequest

__all__ = [
    "ANSWERS",
    "DEMO_SECRETS",
    "EXAMPLES",
    "answer_wait",
    "describe",
    "relocate",
    "sagas_folder",
    "set_demo_secrets",
    "start_services",
]

# Example saga -> the failure that shows its compensation ("": none, see ANSWERS).
EXAMPLES = {
    "trip-booking": "cars:503",
    "order-fulfilment": "shipping:409",
    "money-transfer": "bank/credits:409",
    "expense-approval": "",
}
ANSWERS = {"expense-approval": "manager_approval"}
"""Example saga -> its wait step, which `saga demo` answers itself, as the manager would
from a second terminal (`saga signal`): a rejection by default, so the saga compensates;
an approval with --no-fail (or any --fail), so it goes on."""
ANSWER_DELAY = 2.0
"""Seconds the demo lets the step wait before answering, so the WAITING step is seen."""
# The example sagas read these secrets; the demo services accept any value.
DEMO_SECRETS = {"PAYMENTS_TOKEN": "demo-payments-token", "WAREHOUSE_KEY": "demo-warehouse-key"}
DEFAULT_HOST = "127.0.0.1"


async def answer_wait(client: Client, saga_id: str, step: str, approve: bool) -> None:
    """Wait until `step` is WAITING, then deliver the manager's answer to it."""
    sagas = SagaClient(client)
    for _ in range(1200):
        report = await sagas.report(saga_id)
        if any(s.name == step and s.status == StepStatus.WAITING for s in report.steps):
            break
        if report.status != SagaStatus.RUNNING:
            return
        await asyncio.sleep(0.25)
    await asyncio.sleep(ANSWER_DELAY)
    data = {"approved": approve, "by": "ann"}
    print(f"  demo: the manager answers: saga signal {saga_id} {step} --data "
          f"'{json.dumps(data)}'", file=sys.stderr, flush=True)  # fmt: skip
    await sagas.signal(saga_id, step, data)


def sagas_folder(explicit: Path | None) -> Path:
    """The example sagas: given, ./sagas, or the repository's sagas/ beside the package."""
    candidates = [explicit] if explicit else [Path("sagas"), Path(__file__).parents[2] / "sagas"]
    for folder in candidates:
        if folder is not None and (folder / "trip-booking.yaml").is_file():
            return folder
    raise FileNotFoundError("cannot find the example sagas: run from the repository, or --sagas")


def set_demo_secrets() -> None:
    """Demo values for the secrets the examples read, unless SAGA_SECRET_* are set."""
    for name, value in DEMO_SECRETS.items():
        os.environ.setdefault(f"SAGA_SECRET_{name}", value)


def start_services(failures: Sequence[FailSpec]) -> list[DemoService]:
    """Every demo service on a free port, with the failures installed; calls on stderr."""
    free = dict.fromkeys(DEMO_PORTS, 0)
    return demo.start_with_failures(failures, free, on_request=_log_to_stderr)


def relocate(prepared: Prepared, services: Sequence[DemoService]) -> Prepared:
    """The run's definition with every url at a default demo port moved to the service."""
    moved = {f"http://{DEFAULT_HOST}:{DEMO_PORTS[s.name]}": s.url for s in services}
    definition = _moved_urls(prepared.definition, moved)
    digest = hashlib.sha256(canonical_json(definition).encode("utf-8")).hexdigest()
    return replace(prepared, definition=definition, definition_hash=digest)


def _moved_urls(value: Any, moved: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_moved_urls(item, moved) for item in value]
    if not isinstance(value, dict):
        return value
    copy = {key: _moved_urls(item, moved) for key, item in value.items()}
    url = copy.get("url")
    if isinstance(url, str):
        for origin, real in moved.items():
            if url == origin or url.startswith(origin + "/"):
                copy["url"] = real + url[len(origin) :]
    return copy


_lock = threading.Lock()


def _log_to_stderr(service: DemoService, record: RecordedRequest) -> None:
    with _lock:
        print(f"  http: {demo.request_line(service, record)}", file=sys.stderr, flush=True)


def describe(services: Sequence[DemoService], failures: Sequence[FailSpec]) -> str:
    """What `saga demo` started, for stderr."""
    ports = ", ".join(f"{s.name} :{s.port}" for s in services)
    line = f"Demo services started on {DEFAULT_HOST} ({ports})"
    if not failures:
        return f"{line}; none fails."
    targets = ", ".join(
        f"{spec.service}{'/' + spec.collection if spec.collection else ''} ({spec.status})"
        for spec in failures
    )
    return f"{line}; creates fail on {targets}."
