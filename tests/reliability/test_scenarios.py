"""No saga is lost or half done: process crashes, server restarts and HTTP chaos.

Each test runs one scenario of `scenarios.py` at the CI size (`SAGA_RELIABILITY=full`
for the full size; `bench/reliability.py` prints the figures). Besides the verdict,
each test checks that its faults really happened while sagas were in flight, so a
scenario that silently stopped injecting anything fails instead of passing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .scenarios import (
    ScenarioResult,
    cancel_chaos,
    http_chaos,
    server_restart,
    two_workers,
    worker_crash,
)
from .sizes import current_sizes

pytestmark = pytest.mark.timeout(600)


def assert_clean(result: ScenarioResult) -> None:
    assert result.verdict.clean, result.explain()
    assert not result.secret_leaks, result.explain()
    ends = result.verdict.end_states
    assert ends.get("COMPLETED", 0) > 0 and ends.get("COMPENSATED", 0) > 0, result.explain()


def assert_hit_mid_run(result: ScenarioResult) -> None:
    assert any(unfinished > 0 for unfinished, _ in result.busy_at_faults), result.explain()


async def test_worker_killed_and_restarted_loses_no_saga(tmp_path: Path) -> None:
    size = current_sizes()["worker-crash"]
    result = await worker_crash(tmp_path, size)
    assert result.faults["worker_sigkill"] == size.faults
    assert_hit_mid_run(result)
    assert_clean(result)


async def test_server_stopped_and_restarted_loses_no_saga(tmp_path: Path) -> None:
    size = current_sizes()["server-restart"]
    result = await server_restart(tmp_path, size)
    restarts = result.faults["server_sigterm"] + result.faults["server_sigkill"]
    assert restarts == size.faults
    assert_hit_mid_run(result)
    assert_clean(result)


async def test_surviving_worker_finishes_the_killed_workers_sagas(tmp_path: Path) -> None:
    result = await two_workers(tmp_path, current_sizes()["two-workers"])
    assert result.faults["worker_sigkill"] == 1
    assert_hit_mid_run(result)
    assert_clean(result)


async def test_http_chaos_ends_every_saga_completed_or_compensated(tmp_path: Path) -> None:
    result = await http_chaos(tmp_path, current_sizes()["http-chaos"])
    injected = {kind for kind in result.faults if kind != "http_decline"}
    assert len(injected) >= 3, result.explain()
    assert set(result.verdict.end_states) <= {"COMPLETED", "COMPENSATED"}, result.explain()
    assert_clean(result)


async def test_cancelled_sagas_end_fully_compensated_or_fully_completed(tmp_path: Path) -> None:
    size = current_sizes()["cancel-chaos"]
    result = await cancel_chaos(tmp_path, size)
    assert result.faults["cancel"] + result.faults["cancel_after_end"] == size.sagas // 2
    assert result.faults["cancel"] > 0, result.explain()
    assert_clean(result)
