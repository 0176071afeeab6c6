"""The sagas a reliability scenario runs, and how their end states are collected.

The order saga touches four collections of one stateful service, so every effect (and
every undo) is visible in the service's state afterwards:

    reserve  PUT  /reservations/<saga id>   undo DELETE, compensate_on: attempt
    charge   POST /charges                  undo POST /charges/<id>/refund
    (reserve and charge run at once)
    ship     POST /shipments                undo DELETE /shipments/<id>
    confirm  POST /confirmations            no undo: the last step

Charges above the decline limit are refused by the service (402), so a fixed share of
the sagas must end COMPENSATED even without injected faults.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from dsl._model import Saga
from dsl._validate import definition_snapshot
from interpreter.contract import ERROR_TYPES, SagaRunInput, SagaStatus

SECRET_NAME = "SHOP_KEY"
DECLINE_OVER = 1000
DECLINED_AMOUNT = 5000

_STATUS_OF_ERROR = {error_type: status for status, error_type in ERROR_TYPES.items()}


def order_saga(service_url: str, *, step_timeout: str = "1s") -> dict[str, Any]:
    """The order saga against `service_url`, with short timeouts and retry intervals."""
    saga_ref = "${ saga.id }"

    def request(method: str, path: str, **extra: Any) -> dict[str, Any]:
        return {"service": "shop", "method": method, "path": path, **extra}

    return {
        "version": 1,
        "name": "reliability-order",
        "input": {
            "type": "object",
            "required": ["order", "amount"],
            "properties": {"order": {"type": "string"}, "amount": {"type": "integer"}},
        },
        "services": {
            "shop": {"url": service_url, "headers": {"X-Api-Key": {"secret": SECRET_NAME}}}
        },
        "defaults": {
            "timeout": step_timeout,
            "retry": {
                "max_attempts": 40,
                "initial_interval": "50ms",
                "backoff": 1.5,
                "max_interval": "500ms",
            },
            "compensation": {"retry": {"initial_interval": "50ms", "max_interval": "500ms"}},
        },
        "steps": [
            {
                "name": "reserve",
                "after": [],
                "compensate_on": "attempt",
                "action": request(
                    "PUT",
                    f"/reservations/{saga_ref}",
                    json={"saga": saga_ref, "order": "${ input.order }"},
                    expect=[200, 201],
                ),
                "compensation": request("DELETE", f"/reservations/{saga_ref}", expect=[204, 404]),
            },
            {
                "name": "charge",
                "after": [],
                "action": request(
                    "POST", "/charges", json={"saga": saga_ref, "amount": "${ input.amount }"}
                ),
                "output": {"id": "${ response.body.id }"},
                "compensation": request("POST", "/charges/${ steps.charge.output.id }/refund"),
            },
            {
                "name": "ship",
                "after": ["reserve", "charge"],
                "action": request(
                    "POST",
                    "/shipments",
                    json={"saga": saga_ref, "charge": "${ steps.charge.output.id }"},
                ),
                "output": {"id": "${ response.body.id }"},
                "compensation": request(
                    "DELETE", "/shipments/${ steps.ship.output.id }", expect=[204, 404]
                ),
            },
            {
                "name": "confirm",
                "action": request("POST", "/confirmations", json={"saga": saga_ref}),
                "compensation": "none",
            },
        ],
        "output": {
            "charge": "${ steps.charge.output.id }",
            "shipment": "${ steps.ship.output.id }",
        },
    }


def run_input(definition: dict[str, Any], value: Any) -> SagaRunInput:
    """What `saga run` hands the workflow: the validated snapshot and its hash."""
    snapshot, digest = definition_snapshot(Saga.model_validate(definition))
    # The dev servers started here register SagaName and SagaStatus, so runs set them.
    return SagaRunInput(snapshot, value, definition_hash=digest, search_attributes=True)


def order_inputs(count: int, decline_every: int = 4) -> list[dict[str, Any]]:
    """`count` orders; every `decline_every`-th is over the decline limit (0 = none)."""
    return [
        {
            "order": f"order-{i}",
            "amount": DECLINED_AMOUNT if decline_every and i % decline_every == 0 else 50,
        }
        for i in range(count)
    ]


@dataclass
class SagaOutcome:
    saga_id: str
    status: str
    """COMPLETED, COMPENSATED, COMPENSATION_FAILED, or LOST (not finished, or ended otherwise)."""
    report: dict[str, Any] | None = None
    output: Any = None
    detail: str = ""
    seconds: float = 0.0
    """From the start of the saga to the moment its end was seen."""


@dataclass
class Outcomes:
    by_id: dict[str, SagaOutcome] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for outcome in self.by_id.values():
            result[outcome.status] = result.get(outcome.status, 0) + 1
        return result


async def wait_for_outcome(handle: WorkflowHandle[Any, Any]) -> SagaOutcome:
    while True:
        try:
            output = await handle.result()
            return SagaOutcome(handle.id, SagaStatus.COMPLETED.value, output=output)
        except WorkflowFailureError as failure:
            return _failed(handle.id, failure)
        except RPCError:
            await asyncio.sleep(0.5)  # the server is away (a restart): ask again


def _failed(saga_id: str, failure: WorkflowFailureError) -> SagaOutcome:
    cause = failure.cause
    if isinstance(cause, ApplicationError) and cause.type in _STATUS_OF_ERROR:
        report = cause.details[0] if cause.details else None
        status = _STATUS_OF_ERROR[cause.type].value
        return SagaOutcome(saga_id, status, report=report, detail=cause.message)
    return SagaOutcome(saga_id, "LOST", detail=f"{type(cause).__name__}: {cause}")
