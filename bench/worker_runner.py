"""One benchmark worker in its own process, until SIGTERM.

    python bench/worker_runner.py dsl|handwritten --address HOST:PORT --task-queue Q

`dsl` is the project's worker (`interpreter.worker._worker.build_worker`, with the data
converter of `saga worker`); `handwritten` is the
baseline of bench/handwritten.py with the same worker settings and the same kind of
pooled httpx client. `--runner unsandboxed` runs the saga workflow outside Temporal's
sandbox (a profiling experiment only); `--experiment NAME` changes a worker for an
experiment (`EXPERIMENTS` below). Prints READY once polling.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

sys.path.insert(0, str(Path(__file__).resolve().parent))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["dsl", "handwritten"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--max-concurrent-activities", type=int)
    parser.add_argument("--max-concurrent-workflow-tasks", type=int)
    parser.add_argument("--runner", choices=["default", "unsandboxed"], default="default")
    parser.add_argument("--experiment", choices=sorted(EXPERIMENTS), help="profiling only")
    return parser.parse_args(argv)


def _no_heartbeat() -> None:
    """The DSL activity without its heartbeats (fast calls finish before any is needed)."""
    from interpreter.worker import _activity as activities

    class Silent:
        def __init__(self, attempt: int) -> None:
            pass

        def stop(self) -> None:
            pass

    activities._Heartbeat = Silent  # type: ignore[assignment,misc]


_CODEC = {"on": True}


def _no_codec() -> None:
    """The DSL worker's converter without its payload codec (no key: it only refuses
    encrypted payloads), to see what passing every payload through a codec costs."""
    _CODEC["on"] = False


_PASSTHROUGH = {"on": False}


def _passthrough() -> None:
    """The hand-written worker with its workflow's module passed through the sandbox, as
    the DSL's worker passes its workflow package: the sandbox no longer imports it again
    for every run."""
    _PASSTHROUGH["on"] = True


EXPERIMENTS = {"no-heartbeat": _no_heartbeat, "no-codec": _no_codec, "passthrough": _passthrough}
"""Named changes to a worker, for experiments only: `no-heartbeat` and `no-codec` change
the DSL's worker, `passthrough` the hand-written one."""


def make_worker(args: argparse.Namespace, client: Client, http: httpx.AsyncClient) -> Worker:
    limits: dict[str, Any] = {
        "max_concurrent_activities": args.max_concurrent_activities,
        "max_concurrent_workflow_tasks": args.max_concurrent_workflow_tasks,
    }
    if args.kind == "handwritten":
        from handwritten import HandWrittenActivities, HandWrittenTrip

        runner: WorkflowRunner = SandboxedWorkflowRunner()  # the SDK's default
        if _PASSTHROUGH["on"]:
            restrictions = SandboxRestrictions.default.with_passthrough_modules("handwritten")
            runner = SandboxedWorkflowRunner(restrictions=restrictions)
        if args.runner == "unsandboxed":
            runner = UnsandboxedWorkflowRunner()
        return Worker(
            client,
            task_queue=args.task_queue,
            workflows=[HandWrittenTrip],
            activities=[HandWrittenActivities(http).call],
            workflow_runner=runner,
            **limits,
        )
    if args.runner == "unsandboxed":
        return _unsandboxed_dsl_worker(args, client, http, limits)
    from interpreter.worker._worker import build_worker

    return build_worker(client, args.task_queue, http_client=http, **limits)


def _unsandboxed_dsl_worker(
    args: argparse.Namespace, client: Client, http: httpx.AsyncClient, limits: dict[str, Any]
) -> Worker:
    from interpreter.worker._activity import HttpActivity
    from interpreter.worker._secrets import SecretSource
    from interpreter.workflow._saga import SagaWorkflow

    return Worker(
        client,
        task_queue=args.task_queue,
        workflows=[SagaWorkflow],
        activities=[HttpActivity(http, SecretSource(None)).call],
        workflow_runner=UnsandboxedWorkflowRunner(),
        **limits,
    )


def _data_converter(kind: str) -> DataConverter:
    """The DSL worker's converter is the one `saga worker` has (it writes a saga's
    outcomes without stack traces); the hand-written worker has the SDK's default."""
    if kind == "handwritten":
        return DataConverter.default
    from interpreter.ops.codec import data_converter
    from interpreter.ops.failures import OutcomeFailureConverter

    if not _CODEC["on"]:
        return DataConverter(failure_converter_class=OutcomeFailureConverter)
    return data_converter(environ={})


async def main(argv: list[str]) -> None:
    args = parse(argv)
    if args.experiment:
        EXPERIMENTS[args.experiment]()
    # Failed HTTP calls are the point of the compensation runs; their warnings with a
    # traceback each would only measure logging.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    client = await Client.connect(args.address, data_converter=_data_converter(args.kind))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(timeout=None, follow_redirects=False) as http:
        async with make_worker(args, client, http):
            print("READY", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
