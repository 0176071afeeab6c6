"""`saga test`: every failure of a saga, checked offline before it ships.

_model.py       the `*.test.yaml` format (pydantic models, the source of its JSON Schema)
_load.py        reading a test file: every mistake as a `path:line:col` diagnostic
_services.py    simulated services: an in-process httpx transport for the real activity
_runner.py      one case on Temporal's time-skipping test server
_invariants.py  the four invariants, judged from what the services saw
_matrix.py      every single-fault case of a saga, made from the saga alone
_cases.py       running the cases of a suite side by side, and their verdicts
_report.py      the table and JUnit XML

    suites = await run_suites([matrix_suite(saga, input)])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dsl import Saga
from interpreter.testing._cases import Case, CaseResult, Suite, run_suite
from interpreter.testing._invariants import INVARIANTS, Judgement, Violation, judge
from interpreter.testing._load import (
    LoadedTest,
    faults_of,
    load_test_file,
    signals_of,
    wait_data_problems,
)
from interpreter.testing._matrix import failing_status, matrix_cases, worst_case
from interpreter.testing._model import (
    FaultSpec,
    TestFile,
    default_test_schema_path,
    saga_test_schema,
    saga_test_schema_text,
    stale_test_schema_message,
)
from interpreter.testing._report import summary, write_junit, write_table
from interpreter.testing._runner import CASE_TIME_LIMIT, CaseRun, Simulator, SimulatorError
from interpreter.testing._services import Answer, Fault, RecordedRequest, SimulatedServices

__all__ = [
    "CASE_TIME_LIMIT",
    "INVARIANTS",
    "Answer",
    "Case",
    "CaseResult",
    "CaseRun",
    "Fault",
    "Judgement",
    "LoadedTest",
    "RecordedRequest",
    "SimulatedServices",
    "Simulator",
    "SimulatorError",
    "Suite",
    "TestFile",
    "Violation",
    "default_test_schema_path",
    "failing_status",
    "file_suite",
    "judge",
    "load_test_file",
    "matrix_cases",
    "matrix_suite",
    "run_suite",
    "run_suites",
    "saga_test_schema",
    "saga_test_schema_text",
    "stale_test_schema_message",
    "summary",
    "wait_data_problems",
    "worst_case",
    "write_junit",
    "write_table",
]


def matrix_suite(
    saga: Saga,
    input: Any,
    label: str | None = None,
    signals: Mapping[str, Any] | None = None,
    rejections: Mapping[str, Any] | None = None,
) -> Suite:
    """Every single-fault case of `saga`, checked against the four invariants; wait steps
    get `signals` (data that answers them) and `rejections` (data their `success` refuses)."""
    cases = matrix_cases(saga, signals, rejections)
    return Suite(label or f"{saga.name} (matrix)", saga, input, cases)


def file_suite(loaded: LoadedTest) -> Suite:
    """The hand-written cases of a test file that loaded without errors."""
    model, saga = loaded.model, loaded.saga
    assert model is not None and saga is not None
    cases = []
    for case in model.cases:
        signals, cancel = signals_of(model, case, saga)
        made = Case(
            case.name,
            faults_of(case.fail or {}, saga),
            case.expect,
            case.invariants,
            step=", ".join(case.fail or {}) or "-",
            fault=", ".join(_fault_text(v) for v in (case.fail or {}).values()) or "none",
            signals=signals,
            cancel_waiting=cancel,
        )
        cases.append(made)
    return Suite(loaded.path, saga, loaded.input, cases, loaded.answers)


def _fault_text(value: Any) -> str:
    if isinstance(value, FaultSpec):
        return f"{value.fault} x{value.times}"
    return str(value)


async def run_suites(suites: Sequence[Suite], time_limit: float = CASE_TIME_LIMIT) -> list[Suite]:
    """Run every suite on one time-skipping test server; raises SimulatorError."""
    async with Simulator.start(time_limit) as simulator:
        for suite in suites:
            await run_suite(simulator, suite)
    return list(suites)
