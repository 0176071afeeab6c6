"""The reliability scenarios, sized by the caller: CI-sized in tests, full-size in bench.

Each scenario builds a `Rig` (a Temporal dev server with a persistent file, a stateful
service behind a chaos proxy, worker subprocesses), starts sagas in waves, injects its
faults at random moments while sagas are in flight, waits for every saga's end and
judges the result with `invariant.check`. A fixed seed makes a run repeatable as far as
a real scheduler allows: the same faults are drawn, the timing varies.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from interpreter.client._runs import start_saga
from interpreter.dev.demo import DemoService

from .chaos import ChaosConfig, ChaosProxy
from .invariant import Verdict, check
from .processes import TemporalServer, WorkerProcess, connect
from .scan import as_text, found_in, history_bytes
from .workload import (
    DECLINE_OVER,
    SECRET_NAME,
    Outcomes,
    SagaOutcome,
    order_inputs,
    order_saga,
    run_input,
    wait_for_outcome,
)

SECRET_ENV = f"SAGA_SECRET_{SECRET_NAME}"


@dataclass
class Size:
    sagas: int = 20
    faults: int = 3
    """Process faults: worker kills or server restarts."""
    deadline: float = 90.0
    """Seconds every saga has to end after the last fault."""
    http_fault_rate: float = 0.2
    seed: int = 1


@dataclass
class ScenarioResult:
    name: str
    seed: int
    verdict: Verdict
    faults: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    replays: int = 0
    """Repeated Idempotency-Keys the service answered without applying anything again."""
    busy_at_faults: list[tuple[int, int]] = field(default_factory=list)
    """(sagas unfinished, HTTP calls in flight) at each process fault."""
    secret_leaks: list[str] = field(default_factory=list)
    slowest: tuple[str, float] = ("", 0.0)
    requests: int = 0
    """HTTP requests that reached the chaos proxy, faulted or not."""

    def row(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "scenario": self.name,
            "seed": self.seed,
            "sagas": v.sagas,
            "end_states": v.end_states,
            "http_requests": self.requests,
            "faults": dict(self.faults),
            "busy_at_faults": self.busy_at_faults,
            "lost": len(v.lost),
            "violations": v.violating_sagas,
            "duplicates": len(v.duplicates),
            "replays_absorbed": self.replays,
            "secret_leaks": len(self.secret_leaks),
            "seconds": round(self.seconds, 1),
            "slowest_saga": self.slowest,
        }

    def explain(self) -> str:
        return "\n".join([json.dumps(self.row()), self.verdict.explain(), *self.secret_leaks])


class Watch:
    """Follows every started saga from the moment it starts, so faults can see progress."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.tasks: dict[str, asyncio.Task[SagaOutcome]] = {}

    def follow(self, ids: list[str]) -> None:
        for saga_id in ids:
            self.tasks[saga_id] = asyncio.create_task(self._timed(saga_id))

    async def _timed(self, saga_id: str) -> SagaOutcome:
        started = time.monotonic()
        outcome = await wait_for_outcome(self.client.get_workflow_handle(saga_id))
        outcome.seconds = time.monotonic() - started
        return outcome

    def unfinished(self) -> int:
        return sum(not task.done() for task in self.tasks.values())

    async def outcomes(self, timeout: float) -> Outcomes:
        if self.tasks:
            await asyncio.wait(self.tasks.values(), timeout=timeout)
        outcomes = Outcomes()
        for saga_id, task in self.tasks.items():
            if task.done():
                outcomes.by_id[saga_id] = task.result()
            else:
                task.cancel()
                outcomes.by_id[saga_id] = SagaOutcome(saga_id, "LOST", detail="not finished")
        return outcomes


class Rig:
    """Everything a scenario runs against; `async with Rig(...) as rig`."""

    def __init__(self, workdir: Path, name: str, chaos: ChaosConfig | None = None) -> None:
        self.workdir, self.name = workdir, name
        self.secret = f"sk-live-{uuid.uuid4().hex}"
        self.task_queue = f"reliability-{name}-{uuid.uuid4().hex[:8]}"
        self.backend = DemoService("shop")
        self.proxy = ChaosProxy("http://placeholder", chaos)
        self.server = TemporalServer(workdir / f"{name}.db", workdir / f"{name}-temporal.log")
        self.workers: list[WorkerProcess] = []
        self.watch: Watch | None = None
        self.started = time.monotonic()
        self.rng = random.Random(self.proxy.config.seed)
        self.faults: Counter[str] = Counter()
        self.busy_at_faults: list[tuple[int, int]] = []

    async def __aenter__(self) -> Rig:
        self.backend.start()
        self.proxy = ChaosProxy(self.backend.url, self.proxy.config).start()
        await self.server.start()
        self.client = await connect(self.server.address)
        self.watch = Watch(self.client)
        self.definition = order_saga(self.proxy.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.kill()
        self.server.stop()
        self.proxy.stop()
        self.backend.stop()

    def worker(self, label: str) -> WorkerProcess:
        log = self.workdir / f"{self.name}-worker-{label}.log"
        worker = WorkerProcess(
            self.server.address, self.task_queue, log, env={SECRET_ENV: self.secret}
        )
        self.workers.append(worker)
        return worker

    async def start_wave(self, count: int, offset: int) -> list[str]:
        """Start `count` sagas at once (ids numbered from `offset`) and follow them."""
        inputs = order_inputs(offset + count)[offset:]
        prefix = f"{self.name}-{uuid.uuid4().hex[:6]}"
        ids = [f"{prefix}-{offset + i:04d}" for i in range(count)]
        await asyncio.gather(
            *(
                start_saga(
                    self.client,
                    run_input(self.definition, value),
                    saga_id=saga_id,
                    task_queue=self.task_queue,
                )
                for saga_id, value in zip(ids, inputs, strict=True)
            )
        )
        assert self.watch is not None
        self.watch.follow(ids)
        return ids

    async def busy(self, since: int, timeout: float = 30.0) -> None:
        """Wait until the service has seen a request after the `since`-th one."""
        deadline = time.monotonic() + timeout
        while len(self.proxy.ledger.outcomes) + self.proxy.in_flight <= since:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    def requests_seen(self) -> int:
        return len(self.proxy.ledger.outcomes)

    async def cancel(self, saga_id: str) -> None:
        """Cancel the saga (`saga cancel`); one that already ended stays as it is."""
        try:
            await self.client.get_workflow_handle(saga_id).cancel()
            self.faults["cancel"] += 1
        except RPCError:
            self.faults["cancel_after_end"] += 1

    def snapshot(self) -> tuple[int, int]:
        assert self.watch is not None
        return self.watch.unfinished(), self.proxy.in_flight

    async def result(self, deadline: float, cancelled: set[str] | None = None) -> ScenarioResult:
        """Wait for every saga's end (up to `deadline` s), then judge the run."""
        assert self.watch is not None
        outcomes = await self.watch.outcomes(deadline)
        refused = self.proxy.ledger.rejected_sagas
        verdict = check(outcomes, self.backend.resources, refused, cancelled or set())
        http_faults = Counter({f"http_{k}": n for k, n in self.proxy.ledger.faults.items()})
        result = ScenarioResult(
            self.name,
            seed=self.proxy.config.seed,
            verdict=verdict,
            faults=self.faults + http_faults,
            seconds=time.monotonic() - self.started,
            replays=self.backend.duplicates,
            busy_at_faults=self.busy_at_faults,
            requests=self.requests_seen(),
        )
        result.secret_leaks = await self.secret_leaks(outcomes)
        slowest = max(outcomes.by_id.values(), key=lambda o: o.seconds, default=None)
        if slowest is not None:
            result.slowest = (slowest.saga_id, round(slowest.seconds, 1))
        return result

    async def secret_leaks(self, outcomes: Outcomes) -> list[str]:
        """Every place the worker's secret value shows up outside the service it is for."""
        secret = [self.secret]
        leaks = [
            f"worker log {w.log_path.name}" for w in self.workers if found_in(w.logs(), secret)
        ]
        for saga_id, outcome in outcomes.by_id.items():
            if found_in(as_text(outcome.report, outcome.output, outcome.detail), secret):
                leaks.append(f"outcome of {saga_id}")
            if found_in(await history_bytes(self.client, saga_id), secret):
                leaks.append(f"history of {saga_id}")
        return leaks


def waves(total: int, count: int) -> list[int]:
    """`total` sagas split into `count` waves, as evenly as possible."""
    base, extra = divmod(total, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


async def fault_in_waves(rig: Rig, size: Size, inject: Callable[[int], Awaitable[None]]) -> None:
    """Start the sagas in `size.faults + 1` waves; after each wave but the last, once the
    service is busy with it, wait a random moment and `inject(i)` the i-th fault."""
    offset = 0
    for i, wave in enumerate(waves(size.sagas, size.faults + 1)[:-1]):
        seen = rig.requests_seen()
        offset += len(await rig.start_wave(wave, offset))
        await rig.busy(seen)
        await asyncio.sleep(rig.rng.uniform(0.0, 1.5))
        rig.busy_at_faults.append(rig.snapshot())
        await inject(i)
    await rig.start_wave(size.sagas - offset, offset)


def steady(size: Size) -> ChaosConfig:
    """No random HTTP faults: a service with some latency and its business rule."""
    return ChaosConfig(latency=0.1, decline_over=DECLINE_OVER, seed=size.seed)


# --- the scenarios ----------------------------------------------------------------------


async def worker_crash(workdir: Path, size: Size) -> ScenarioResult:
    """One worker, SIGKILLed at random moments while sagas run, restarted each time."""
    async with Rig(workdir, "worker-crash", steady(size)) as rig:
        worker = rig.worker("a").start()

        async def kill_and_restart(_: int) -> None:
            worker.kill()
            rig.faults["worker_sigkill"] += 1
            await asyncio.sleep(rig.rng.uniform(0.0, 1.0))
            worker.start()

        await fault_in_waves(rig, size, kill_and_restart)
        return await rig.result(size.deadline)


async def server_restart(workdir: Path, size: Size) -> ScenarioResult:
    """The dev server stopped (SIGTERM and SIGKILL in turn) and restarted mid-run."""
    async with Rig(workdir, "server-restart", steady(size)) as rig:
        rig.worker("a").start()

        async def stop_and_restart(i: int) -> None:
            how = signal.SIGTERM if i % 2 == 0 else signal.SIGKILL
            rig.server.signal(how)
            rig.faults[f"server_{how.name.lower()}"] += 1
            await asyncio.sleep(rig.rng.uniform(0.5, 2.0))
            await rig.server.start()

        await fault_in_waves(rig, size, stop_and_restart)
        return await rig.result(size.deadline)


async def two_workers(workdir: Path, size: Size) -> ScenarioResult:
    """Two workers share the queue; one is SIGKILLed for good; the other finishes all."""
    async with Rig(workdir, "two-workers", steady(size)) as rig:
        doomed, survivor = rig.worker("a").start(), rig.worker("b").start()

        async def kill_for_good(_: int) -> None:
            doomed.kill()
            rig.faults["worker_sigkill"] += 1

        await fault_in_waves(rig, Size(**{**size.__dict__, "faults": 1}), kill_for_good)
        result = await rig.result(size.deadline)
        if not survivor.running:
            result.verdict.violations.append("the surviving worker died")
        return result


async def http_chaos(workdir: Path, size: Size) -> ScenarioResult:
    """A share of all requests fail at random, with a mix of faults."""
    chaos = ChaosConfig(
        size.http_fault_rate, latency=0.02, decline_over=DECLINE_OVER, seed=size.seed
    )
    async with Rig(workdir, "http-chaos", chaos) as rig:
        rig.worker("a").start()
        await rig.start_wave(size.sagas, 0)
        return await rig.result(size.deadline)


async def cancel_chaos(workdir: Path, size: Size) -> ScenarioResult:
    """Half the sagas cancelled at random moments, while requests fail at random: a
    cancelled saga ends COMPENSATED (or COMPLETED, if it finished first), never between."""
    chaos = ChaosConfig(
        size.http_fault_rate, latency=0.05, decline_over=DECLINE_OVER, seed=size.seed
    )
    async with Rig(workdir, "cancel-chaos", chaos) as rig:
        rig.worker("a").start()
        ids = await rig.start_wave(size.sagas, 0)
        doomed = rig.rng.sample(ids, len(ids) // 2)
        for saga_id in doomed:
            await asyncio.sleep(rig.rng.uniform(0.0, 0.4))
            await rig.cancel(saga_id)
        return await rig.result(size.deadline, cancelled=set(doomed))


SCENARIOS: dict[str, Callable[[Path, Size], Awaitable[ScenarioResult]]] = {
    "worker-crash": worker_crash,
    "server-restart": server_restart,
    "two-workers": two_workers,
    "http-chaos": http_chaos,
    "cancel-chaos": cancel_chaos,
}
