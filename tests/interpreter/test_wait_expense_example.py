"""The bundled example sagas/expense-approval.yaml on the dev server: approved, it pays;
rejected, the budget hold is released."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from interpreter.contract import SagaStatus, StepStatus
from interpreter.dev.demo import DemoService

from .conftest import Runtime, failure_of
from .test_wait_steps import signal, step_report, until_waiting

SAGAS = Path(__file__).resolve().parents[2] / "sagas"
STEP = "manager_approval"


def example(bank: DemoService, payments: DemoService) -> tuple[dict[str, Any], Any]:
    definition = YAML(typ="safe").load((SAGAS / "expense-approval.yaml").read_text())
    definition["services"] = {"bank": {"url": bank.url}, "payments": {"url": payments.url}}
    return definition, json.loads((SAGAS / "expense-approval.input.json").read_text())


async def test_an_approved_expense_is_paid(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    bank, payments = services("bank"), services("payments")
    handle = await runtime.start(*example(bank, payments))
    await until_waiting(handle, STEP)
    await signal(handle, STEP, {"approved": True, "by": "ann"})
    output = await handle.result()
    assert output["approved_by"] == "ann"
    assert [(r.method, r.path) for r in bank.requests] == [
        ("POST", "/budget-holds"),
        ("POST", "/approval-requests"),
    ]
    assert (bank.requests[1].json or {})["to"] == "ann"
    assert payments.requests[0].json == {"to": "dana", "amount_cents": 12900, "approved_by": "ann"}


async def test_a_rejected_expense_releases_the_budget_hold(
    runtime: Runtime, services: Callable[[str], DemoService]
) -> None:
    bank, payments = services("bank"), services("payments")
    handle = await runtime.start(*example(bank, payments))
    await until_waiting(handle, STEP)
    await signal(handle, STEP, {"approved": False, "by": "ann", "comment": "over budget"})
    _, report = await failure_of(handle)
    assert report.status == SagaStatus.COMPENSATED
    assert step_report(report, STEP).reason == "rejected"
    assert step_report(report, "hold_budget").status == StepStatus.COMPENSATED
    assert bank.requests[-1].method == "DELETE" and payments.requests == []
