"""Wait steps in test files: `signals` and `rejections` checked at their line and column;
a hand-written approval completes, a rejection undoes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from interpreter.testing import Simulator, file_suite, load_test_file, run_suite

ROOT = Path(__file__).parents[2]
SAGAS = ROOT / "sagas"
HEAD = "saga: expense.yaml\ninput_file: expense.input.json\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(SAGAS / "expense-approval.yaml", tmp_path / "expense.yaml")
    shutil.copy(SAGAS / "expense-approval.input.json", tmp_path / "expense.input.json")
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "expense.test.yaml"
    path.write_text(HEAD + text, encoding="utf-8")
    return path


def diagnostics(folder: Path, text: str) -> list[str]:
    loaded = load_test_file(write(folder, text))
    return [str(d).removeprefix(str(folder) + "/") for d in loaded.diagnostics]


def test_a_signal_for_an_unknown_step_is_placed_and_its_near_miss_named(folder: Path) -> None:
    text = "signals:\n  manager_aproval: {approved: true, by: ann}\ncases:\n  - name: a\n"
    assert diagnostics(folder, text) == [
        "expense.test.yaml:4:3: error: unknown step 'manager_aproval' (did you mean "
        "'manager_approval'?); wait steps: manager_approval"
    ]


def test_a_signal_for_a_step_that_does_not_wait_is_an_error(folder: Path) -> None:
    text = "cases:\n  - name: a\n    signals: {hold_budget: {}}\n"
    found = diagnostics(folder, text)
    assert found == [
        "expense.test.yaml:5:15: error: step 'hold_budget' is not a wait step; "
        "wait steps: manager_approval"
    ]


def test_data_the_schema_refuses_is_placed_where_it_is_wrong(folder: Path) -> None:
    text = "signals:\n  manager_approval: {approved: 'yes', by: ann}\ncases:\n  - name: a\n"
    found = diagnostics(folder, text)
    assert len(found) == 1
    assert found[0].startswith("expense.test.yaml:4:32: error: the data for 'manager_approval'")
    assert "approved" in found[0]


def test_rejection_data_that_would_approve_is_an_error(folder: Path) -> None:
    text = "rejections:\n  manager_approval: {approved: true, by: ann}\ncases:\n  - name: a\n"
    assert diagnostics(folder, text) == [
        "expense.test.yaml:4:21: error: this data does not reject 'manager_approval': "
        "its `success` is true for it"
    ]


def test_rejected_without_rejection_data_names_the_key_to_add(folder: Path) -> None:
    text = "cases:\n  - name: a\n    fail: {manager_approval: rejected}\n"
    assert diagnostics(folder, text) == [
        "expense.test.yaml:5:12: error: 'rejected' needs the data that rejects: add "
        "`rejections: {manager_approval: DATA}`"
    ]


def test_a_wait_step_takes_only_wait_faults(folder: Path) -> None:
    text = (
        "cases:\n  - name: a\n    fail: {manager_approval: 409}\n"
        "  - name: b\n    fail: {hold_budget: rejected}\n"
        "  - name: c\n    fail: {hold_budget.notify: 409}\n"
    )
    found = diagnostics(folder, text)
    assert [line.split(": error: ")[0] for line in found] == [
        "expense.test.yaml:5:12",
        "expense.test.yaml:7:12",
        "expense.test.yaml:9:12",
    ]
    assert "its faults are 'timeout', 'rejected' and 'cancel'" in found[0]
    assert "'rejected' applies to wait steps" in found[1]
    assert "has no notify request" in found[2]


def test_the_cli_exits_1_on_bad_data_in_a_test_file(folder: Path) -> None:
    path = write(folder, "signals: {manager_approval: {by: ann}}\ncases:\n  - name: a\n")
    done = subprocess.run(
        [sys.executable, "-m", "interpreter.cli", "test", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith(f"{path}:3:29: error: the data for 'manager_approval'")


async def test_hand_written_approval_and_rejection_cases(
    folder: Path, simulator: Simulator
) -> None:
    path = write(
        folder,
        "signals: {manager_approval: {approved: true, by: ann}}\n"
        "rejections: {manager_approval: {approved: false, by: ann}}\n"
        "cases:\n"
        "  - name: approved\n"
        "    expect: {status: COMPLETED, output: {approved_by: ann, payout: payments-1}}\n"
        "  - name: approved by another\n"
        "    signals: {manager_approval: {approved: true, by: bob}}\n"
        "    expect: {output: {approved_by: bob, payout: payments-1}}\n"
        "  - name: rejected\n"
        "    fail: {manager_approval: rejected}\n"
        "    expect: {status: COMPENSATED, compensated: [hold_budget]}\n",
    )
    loaded = load_test_file(path)
    assert loaded.ok, loaded.diagnostics
    suite = await run_suite(simulator, file_suite(loaded))
    outcome = {r.case.name: (r.status, r.failures) for r in suite.results}
    assert outcome == {
        "approved": ("COMPLETED", []),
        "approved by another": ("COMPLETED", []),
        "rejected": ("COMPENSATED", []),
    }
