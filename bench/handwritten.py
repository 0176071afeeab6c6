"""The baseline: bench/sagas/trip-5.yaml written by hand as a temporalio workflow.

What a careful developer would write without the DSL: one activity per HTTP call (the
same requests, bodies, Idempotency-Key headers, expected statuses, timeouts and retry
policies as the saga file), compensations in reverse on any failure, and a typed
application error when the saga was rolled back. The interpreter-overhead benchmark runs
this and the saga file side by side.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import httpx

WORKFLOW_NAME = "HandWrittenTrip"
ACTIVITY_NAME = "bench.http"
RETRYABLE_STATUSES = {408, 425, 429}


@dataclass
class TripInput:
    base_url: str
    trip_id: str
    traveller: str
    amount: int


@dataclass
class Call:
    method: str
    url: str
    idempotency_key: str
    expect: list[int] = field(default_factory=list)
    json_body: Any = None


class HandWrittenActivities:
    """The HTTP activity, holding the worker's shared httpx client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @activity.defn(name=ACTIVITY_NAME)
    async def call(self, call: Call) -> str | None:
        response = await self.client.request(
            call.method,
            call.url,
            json=call.json_body,
            headers={"Idempotency-Key": call.idempotency_key},
        )
        status = response.status_code
        ok = status in call.expect if call.expect else 200 <= status < 300
        if not ok:
            retryable = status in RETRYABLE_STATUSES or status >= 500
            raise ApplicationError(f"HTTP {status}", non_retryable=not retryable)
        body = response.json() if response.content else None
        return body.get("id") if isinstance(body, dict) else None


ACTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,
)
TIMEOUT = timedelta(seconds=10)


@workflow.defn(name=WORKFLOW_NAME)
class HandWrittenTrip:
    @workflow.run
    async def run(self, trip: TripInput) -> dict[str, Any]:
        self.trip = trip
        self.undo: list[Call] = []
        try:
            return await self._book()
        except BaseException as error:
            # A cancel is not an Exception, and it must be compensated too.
            await asyncio.shield(asyncio.ensure_future(self._compensate()))
            raise ApplicationError("saga compensated", type="SagaCompensated") from error

    async def _book(self) -> dict[str, Any]:
        who = {"trip": self.trip.trip_id, "who": self.trip.traveller}
        flight = await self._reserve("reserve_flight", "/flights", who, [201])
        hotel = await self._reserve("reserve_hotel", "/hotels", who, [201])
        car = await self._reserve("reserve_car", "/cars", who, [201])
        charge = {"trip": self.trip.trip_id, "amount": self.trip.amount}
        payment = await self._action("charge_payment", "POST", "/payments", charge, [201])
        self.undo.append(self._call("charge_payment", "POST", f"/payments/{payment}/refund"))
        ids = {"flight": flight, "hotel": hotel, "car": car, "payment": payment}
        await self._action("send_confirmation", "POST", "/notifications", {**ids}, [201])
        return ids

    async def _reserve(self, step: str, path: str, body: Any, expect: list[int]) -> str:
        key = await self._action(step, "POST", path, body, expect)
        self.undo.append(self._call(step, "DELETE", f"{path}/{key}", expect=[204, 404]))
        return key

    async def _action(self, step: str, method: str, path: str, body: Any, expect: list[int]) -> str:
        call = Call(method, self.trip.base_url + path, self._key(step, "action"), expect, body)
        result: str = await workflow.execute_activity(
            ACTIVITY_NAME,
            call,
            start_to_close_timeout=TIMEOUT,
            retry_policy=ACTION_RETRY,
            summary=step,
            result_type=str,
        )
        return result

    def _call(self, step: str, method: str, path: str, expect: list[int] | None = None) -> Call:
        key = self._key(step, "compensation")
        return Call(method, self.trip.base_url + path, key, expect or [200, 404])

    def _key(self, step: str, kind: str) -> str:
        return f"{workflow.info().workflow_id}/{step}/{kind}"

    async def _compensate(self) -> None:
        for call in reversed(self.undo):
            await workflow.execute_activity(
                ACTIVITY_NAME,
                call,
                start_to_close_timeout=TIMEOUT,
                retry_policy=COMPENSATION_RETRY,
                summary=call.idempotency_key.split("/")[-2],
            )
