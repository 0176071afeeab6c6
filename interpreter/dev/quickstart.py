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

import hashlib
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dsl import canonical_json
from interpreter.client._prepare import Prepared
from interpreter.dev import demo
from interpreter.dev.demo import DEMO_PORTS, DemoService, FailSpec, RecordedRequest

__all__ = [
    "DEMO_SECRETS",
    "EXAMPLES",
    "describe",
    "relocate",
    "sagas_folder",
    "set_demo_secrets",
    "start_services",
]

# Example saga -> the failure that shows its compensation.
EXAMPLES = {
    "trip-booking": "cars:503",
    "order-fulfilment": "shipping:409",
    "money-transfer": "bank/credits:409",
}
# The example sagas read these secrets; the demo services accept any value.
DEMO_SECRETS = {"PAYMENTS_TOKEN": "demo-payments-token", "WAREHOUSE_KEY": "demo-warehouse-key"}
DEFAULT_HOST = "127.0.0.1"


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
