"""`saga test` from the command line: exit codes, the table and JUnit XML."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).parents[2]
SAGA = [sys.executable, "-m", "interpreter.cli"]


def saga(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SAGA, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_passing_cases_exit_0_and_write_junit(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    done = saga("test", "sagas/trip-booking.test.yaml", "--format", "junit", str(junit))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 cases: 7 passed, 0 failed" in done.stdout
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "7" and suite.get("failures") == "0"


def test_a_failing_case_exits_6_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "trip.yaml").write_text((ROOT / "sagas/trip-booking.yaml").read_text())
    (tmp_path / "trip.test.yaml").write_text(
        "saga: trip.yaml\n"
        "input_file: " + str(ROOT / "sagas/trip-booking.input.json") + "\n"
        "cases:\n"
        "  - name: wrong on purpose\n"
        "    fail: {reserve_car: 409}\n"
        "    expect: {status: COMPLETED}\n"
    )
    done = saga("test", str(tmp_path))
    assert done.returncode == 6
    assert "FAIL wrong on purpose: expected status COMPLETED, got COMPENSATED" in done.stdout


def test_an_invalid_test_file_exits_1_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "bad.test.yaml").write_text("saga: x.yaml\ncases: []\n")
    done = saga("test", str(tmp_path / "bad.test.yaml"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"{tmp_path}/bad.test.yaml:2:8: error:")


def test_nothing_to_test_is_a_usage_error() -> None:
    done = saga("test")
    assert done.returncode == 2
    assert done.stderr.startswith("Error: give test files or folders, or --matrix SAGA")


def test_the_matrix_of_a_saga_runs_with_its_sibling_input() -> None:
    done = saga("test", "--matrix", "sagas/money-transfer.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "debit is uncertain" in done.stdout
    assert "12 cases: 11 passed, 0 failed, 1 skipped" in done.stdout


def test_validate_skips_test_files_in_folders() -> None:
    done = saga("validate", "sagas/")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_matrix_answers_wait_steps_with_the_sibling_test_files_data() -> None:
    done = saga("test", "--matrix", "sagas/expense-approval.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    for case in (
        "manager_approval is not answered (timeout)",
        "manager_approval is rejected",
        "cancel while manager_approval waits",
        "pay_employee fails (409)",
    ):
        assert re.search(rf"^  ok +{re.escape(case)}  ", done.stdout, re.M), done.stdout
    # The only case left out is the saga's timeout: the saga has none.
    assert "15 cases: 14 passed, 0 failed, 1 skipped" in done.stdout


def test_matrix_data_on_the_command_line_is_checked_against_the_saga() -> None:
    done = saga(
        "test", "--matrix", "sagas/expense-approval.yaml",
        "--signal", "manager_approval={\"approved\": \"yes\", \"by\": \"ann\"}",
        "--reject", "hold_budget={}",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "Error: --signal: the data for 'manager_approval' does not fit its schema: "
        "`approved` must be true or false, not 'yes'",
        "Error: --reject: step 'hold_budget' is not a wait step; wait steps: manager_approval",
    ]
