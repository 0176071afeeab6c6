"""Worker CPU per saga with metrics, tracing or encryption on, each against all off.

    python bench/bench_ops.py [--rounds 3] [--sagas 100] [--concurrency 10]

Each contender is the real `saga worker` in its own process, configured as an operator
would: `--metrics-port`, OTEL_EXPORTER_OTLP_ENDPOINT (spans exported over OTLP/HTTP to a
sink in this process, which accepts and drops them), SAGA_ENCRYPTION_KEY_FILE. In each
round every contender runs, in an order rotated from round to round, the same sagas
(three steps on a loopback demo service); its CPU time is read from /proc after a
warm-up, so start-up is not counted. Ratios are against `off` in the same round; the
median over rounds is reported and written to bench/results/ops.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

from dsl import Saga  # noqa: E402
from interpreter.client import ConnectionSettings, connect  # noqa: E402
from interpreter.contract import WORKFLOW_NAME, SagaRunInput  # noqa: E402
from interpreter.dev.demo import DemoService  # noqa: E402

CONTENDERS = ("off", "metrics", "tracing", "encryption")
TARGET = 1.10


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that accepts every export and keeps nothing."""

    received = 0

    def do_POST(self) -> None:
        _Sink.received += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def otlp_sink() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def key_file() -> str:
    handle, path = tempfile.mkstemp(prefix="saga-bench-keys-")
    os.write(handle, f"bench {base64.b64encode(os.urandom(32)).decode()}\n".encode())
    os.close(handle)
    return path


def definition(url: str) -> dict[str, Any]:
    steps = [
        {
            "name": name,
            "action": {"url": f"{url}/{name}", "method": "POST", "json": {"n": "${ input.n }"}},
            "compensation": {"url": f"{url}/{name}/x", "method": "DELETE"},
        }
        for name in ("flights", "hotels", "cars")
    ]
    saga = Saga.model_validate({"version": 1, "name": "bench-ops", "steps": steps})
    return saga.model_dump(mode="json", by_alias=True, exclude_none=True)


class Contender:
    def __init__(self, name: str, address: str, keys: str, sink: str) -> None:
        self.name = name
        env = h.child_env()
        env = {k: v for k, v in env.items() if not k.startswith(("SAGA_", "OTEL_"))}
        args = [h.binary("saga"), "worker", "--address", address]
        if name == "metrics":
            args += ["--metrics-port", str(_free_port())]
        if name == "tracing":
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink
        if name == "encryption":
            env["SAGA_ENCRYPTION_KEY_FILE"] = keys
        self.args, self.env = args, env
        self.keys = keys if name == "encryption" else None

    def start(self, task_queue: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self.args, "--task-queue", task_queue],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_sagas(client: Any, saga: dict[str, Any], queue: str, count: int, limit: int) -> None:
    async def one(n: int) -> None:
        handle = await client.start_workflow(
            WORKFLOW_NAME,
            SagaRunInput(definition=saga, input={"n": n}),
            id=f"bench-ops-{uuid.uuid4().hex[:10]}",
            task_queue=queue,
        )
        await handle.result()

    await h.bounded(limit, [lambda n=n: one(n) for n in range(count)])


async def measure(
    contender: Contender, address: str, saga: dict[str, Any], args: argparse.Namespace
) -> float:
    """Worker CPU seconds per saga, warm-up excluded."""
    client = await connect(ConnectionSettings(address=address, encryption_key_file=contender.keys))
    queue = f"bench-ops-{uuid.uuid4().hex[:8]}"
    process = contender.start(queue)
    try:
        assert process.stdout is not None
        process.stdout.readline()  # "Worker polling ..." once it runs
        meter = h.ProcessMeter(process.pid)
        await run_sagas(client, saga, queue, args.warmup, args.concurrency)
        before = meter.cpu_seconds()
        await run_sagas(client, saga, queue, args.sagas, args.concurrency)
        spent: float = meter.cpu_seconds() - before
        return spent / int(args.sagas)
    finally:
        process.terminate()
        process.wait(30)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    keys, sink = key_file(), otlp_sink()
    service = DemoService("bench").start()
    try:
        async with h.dev_server() as env:
            address = env.client.service_client.config.target_host
            contenders = [Contender(name, address, keys, sink) for name in CONTENDERS]
            saga = definition(service.url)
            rounds = []
            for number in range(args.rounds):
                order = contenders[number % 4 :] + contenders[: number % 4]
                cpu = {c.name: await measure(c, address, saga, args) for c in order}
                rounds.append(cpu)
                print(
                    f"round {number + 1}: "
                    + ", ".join(f"{k} {v * 1000:.2f} ms" for k, v in cpu.items())
                )
    finally:
        service.stop()
        os.unlink(keys)
    figures = summarize(rounds)
    # Proof that the tracing contender really traced: the batches its worker exported.
    figures["otlp_exports_received"] = _Sink.received
    return figures


def summarize(rounds: list[dict[str, float]]) -> dict[str, Any]:
    ratios = {
        name: round(h.median([r[name] / r["off"] for r in rounds]), 3)
        for name in CONTENDERS
        if name != "off"
    }
    return {
        "what": "worker CPU per saga (3 steps), each operations feature against all off",
        "cpu_ms_per_saga_median": {
            name: round(h.median([r[name] for r in rounds]) * 1000, 3) for name in CONTENDERS
        },
        "ratio_to_off_median": ratios,
        "target_ratio": TARGET,
        "within_target": {name: ratio <= TARGET for name, ratio in ratios.items()},
        "rounds": [{k: round(v * 1000, 3) for k, v in r.items()} for r in rounds],
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sagas", type=int, default=100, help="measured sagas per contender")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--out", type=Path, default=h.RESULTS_DIR / "ops.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    started = time.monotonic()
    figures = asyncio.run(run(args))
    figures["settings"] = {k: v for k, v in vars(args).items() if k != "out"}
    figures["seconds"] = round(time.monotonic() - started, 1)
    for name, ratio in figures["ratio_to_off_median"].items():
        print(f"{name:<11} {ratio:.3f} x off (target under {TARGET})")
    h.write_results(args.out, h.command_line(), figures)


if __name__ == "__main__":
    main()
