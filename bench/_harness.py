"""What the benchmarks share: the dev server, worker subprocesses, process meters,
the machine's description and the figures files.

Workers run in their own process (`bench/worker_runner.py`) so that the driver's load
generation does not share their GIL, and so that their CPU time and peak memory can be
read from /proc.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SAGAS_DIR = BENCH_DIR / "sagas"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def binary(name: str) -> str:
    """A binary installed next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"Error: {name!r} not found; install the project with pip first")
    return found


# --- the machine --------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(_meminfo_kib("MemTotal") / 2**20, 1),
        "python": platform.python_version(),
        "temporalio": importlib.metadata.version("temporalio"),
        "temporal_cli": _temporal_version(),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def _meminfo_kib(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _temporal_version() -> str:
    out = subprocess.run([binary("temporal"), "--version"], capture_output=True, text=True)
    return out.stdout.strip()


def write_results(path: Path, command: str, figures: dict[str, Any]) -> None:
    info = machine()
    info["loadavg_at_end"] = info.pop("loadavg_at_start")
    document = {"command": command, "machine": info, **figures}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"figures written to {path}")


def command_line() -> str:
    return " ".join(["python", f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])


# --- statistics -----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- processes --------------------------------------------------------------------------


@dataclass
class ProcessMeter:
    """CPU seconds and memory of one process, from /proc (Linux only)."""

    pid: int

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory_kib(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def peak_rss_mib(self) -> float:
        return round(self.memory_kib("VmHWM") / 1024, 1)

    def rss_mib(self) -> float:
        return round(self.memory_kib("VmRSS") / 1024, 1)


def child_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == parent:
                    pids.append(int(entry.name))
    return pids


def dev_server_meter() -> ProcessMeter | None:
    """The dev server the SDK started as a child of this process."""
    for pid in child_pids(os.getpid()):
        with contextlib.suppress(OSError):
            if b"start-dev" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return ProcessMeter(pid)
    return None


@contextlib.asynccontextmanager
async def dev_server() -> AsyncIterator[Any]:
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        dev_server_log_level="error",
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


class WorkerProcess:
    """`bench/worker_runner.py` in a subprocess: started, measured, stopped."""

    def __init__(
        self,
        kind: str,
        address: str,
        task_queue: str,
        *,
        bytecode_cache: bool = True,
        **settings: Any,
    ) -> None:
        args = [sys.executable, str(BENCH_DIR / "worker_runner.py"), kind]
        args += ["--address", address, "--task-queue", task_queue]
        for key, value in settings.items():
            if value is not None:
                args += [f"--{key.replace('_', '-')}", str(value)]
        self.kind = kind
        self.args = args
        self.bytecode_cache = bytecode_cache
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=child_env(self.bytecode_cache),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.proc.kill()
            raise SystemExit(f"Error: the {self.kind} worker did not start (said {line!r})")
        self.meter = ProcessMeter(self.proc.pid)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Bytecode caches of the worker processes: one that is written to, one left empty.
_PYCACHE = {cached: tempfile.mkdtemp(prefix="saga-bench-pycache-") for cached in (True, False)}
for _folder in _PYCACHE.values():
    atexit.register(shutil.rmtree, _folder, True)


def child_env(bytecode_cache: bool = True) -> dict[str, str]:
    """The worker's environment: bytecode cached as in any installed deployment.

    The sandbox re-imports the workflow's module for every new run; without cached
    bytecode (PYTHONDONTWRITEBYTECODE=1 and no .pyc) it compiles the source each time.
    The cache lives in a private folder, so earlier runs and the source tree play no part.
    """
    env = dict(os.environ)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE[bytecode_cache]
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# --- sagas ------------------------------------------------------------------------------


def load_definition(path: Path) -> dict[str, Any]:
    """The definition snapshot of a saga file, exactly as `saga run` sends it."""
    from dsl import definition_snapshot, load_and_check

    return definition_snapshot(load_and_check(path).unwrap())[0]


def definition_hash(definition: dict[str, Any]) -> str:
    from dsl import canonical_json

    return hashlib.sha256(canonical_json(definition).encode()).hexdigest()


def with_service_urls(definition: dict[str, Any], url: str) -> dict[str, Any]:
    """The definition with every service pointed at `url` (the loopback DemoService)."""
    copy: dict[str, Any] = json.loads(json.dumps(definition))
    for service in (copy.get("services") or {}).values():
        service["url"] = url
    return copy


async def history_figures(client: Any, workflow_id: str) -> dict[str, int]:
    """Events and serialized size of one workflow's history; its largest payload."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    largest = 0
    for event in history.events:
        for payload in _payloads(event):
            largest = max(largest, payload.ByteSize())
    return {
        "events": len(history.events),
        "history_bytes": sum(event.ByteSize() for event in history.events),
        "largest_payload_bytes": largest,
    }


async def history_breakdown(client: Any, workflow_id: str) -> dict[str, dict[str, int]]:
    """Where one history's bytes are: per event type, its events' bytes and, inside
    them, the bytes of their payloads (the rest is Temporal's own envelope), plus the
    largest payloads by the event that holds them."""
    from temporalio.api.enums.v1 import EventType

    history = await client.get_workflow_handle(workflow_id).fetch_history()
    events: dict[str, int] = {}
    payloads: dict[str, int] = {}
    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        events[kind] = events.get(kind, 0) + event.ByteSize()
        inside = sum(payload.ByteSize() for payload in _payloads(event))
        if inside:
            payloads[kind] = payloads.get(kind, 0) + inside
    return {
        "event_bytes_by_type": dict(sorted(events.items(), key=lambda kv: -kv[1])),
        "payload_bytes_by_type": dict(sorted(payloads.items(), key=lambda kv: -kv[1])),
    }


def _payloads(message: Any) -> Iterator[Any]:
    """Every Payload inside a protobuf message (the size limits apply to each one)."""
    from google.protobuf.message import Message
    from temporalio.api.common.v1 import Payload

    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            yield from _payloads(value)
        elif field.message_type.GetOptions().map_entry:
            for item in value.values():
                if isinstance(item, Message):
                    yield from _payloads(item)
        else:
            for index in range(len(value)):
                yield from _payloads(value[index])


async def bounded(limit: int, jobs: Sequence[Any]) -> list[Any]:
    """Run coroutine factories with at most `limit` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


def now() -> float:
    return time.perf_counter()
