"""`saga demo`: the quickstart in one command.

Starts the bundled demo services in this process (one of them failing, by default),
runs an example saga exactly as `saga run` would (on the embedded server when no
Temporal is configured), prints the HTTP calls the services received, and stops them.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from interpreter.dev import demo
from interpreter.dev.demo import DemoService, FailSpec, RecordedRequest
from interpreter.exit_codes import ExitCode

__all__ = ["EXAMPLES", "add_demo_arguments", "run_demo"]

# Example saga -> the failure that shows its compensation.
EXAMPLES = {
    "trip-booking": "cars:503",
    "order-fulfilment": "shipping:409",
    "money-transfer": "bank/credits:409",
}
# The example sagas read these secrets; the demo services accept any value.
DEMO_SECRETS = {"PAYMENTS_TOKEN": "demo-payments-token", "WAREHOUSE_KEY": "demo-warehouse-key"}


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "saga",
        nargs="?",
        default="trip-booking",
        choices=sorted(EXAMPLES),
        help="the example saga to run (default: %(default)s)",
    )
    parser.add_argument(
        "--fail",
        metavar="SERVICE[/COLLECTION][:STATUS]",
        type=demo.fail_spec,
        action="append",
        help="the service that fails (default: one per example, so it compensates)",
    )
    parser.add_argument(
        "--no-fail", action="store_true", help="no service fails: the saga completes"
    )
    parser.add_argument(
        "--sagas", metavar="DIR", type=Path, help="the folder of example sagas (default: sagas/)"
    )


def sagas_folder(explicit: Path | None) -> Path:
    """The example sagas: given, ./sagas, or the repository's sagas/ beside the package."""
    candidates = [explicit] if explicit else [Path("sagas"), Path(__file__).parents[1] / "sagas"]
    for folder in candidates:
        if folder is not None and (folder / "trip-booking.yaml").is_file():
            return folder
    raise FileNotFoundError("cannot find the example sagas: run from the repository, or --sagas")


def run_demo(args: argparse.Namespace, run_saga: Callable[[argparse.Namespace], int]) -> int:
    """Start the services, hand the example to `run_saga` (saga run's handler), stop them."""
    try:
        folder = sagas_folder(args.sagas)
    except FileNotFoundError as err:
        print(f"Error: {err}", file=sys.stderr)
        return ExitCode.USAGE
    failures = [] if args.no_fail else args.fail or [demo.fail_spec(EXAMPLES[args.saga])]
    for name, value in DEMO_SECRETS.items():
        os.environ.setdefault(f"SAGA_SECRET_{name}", value)
    try:
        services = demo.start_with_failures(failures, on_request=_log_to_stderr)
    except OSError as err:
        print(f"Error: {err.strerror or err}", file=sys.stderr)
        return ExitCode.INVALID
    try:
        print(_describe(failures), file=sys.stderr)
        args.file = str(folder / f"{args.saga}.yaml")
        args.input = f"@{folder / f'{args.saga}.input.json'}"
        args.id, args.no_wait = None, False
        return run_saga(args)
    finally:
        for service in services:
            service.stop()


_lock = threading.Lock()


def _log_to_stderr(service: DemoService, record: RecordedRequest) -> None:
    with _lock:
        print(f"  http: {demo.request_line(service, record)}", file=sys.stderr, flush=True)


def _describe(failures: Sequence[FailSpec]) -> str:
    if not failures:
        return "Demo services started on 127.0.0.1:9001-9007; none fails."
    targets = ", ".join(
        f"{spec.service}{'/' + spec.collection if spec.collection else ''} ({spec.status})"
        for spec in failures
    )
    return f"Demo services started on 127.0.0.1:9001-9007; creates fail on {targets}."
