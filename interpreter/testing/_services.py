"""Simulated services: every HTTP call of a test run, answered in the same process.

`SimulatedServices` is an httpx transport. The worker's real HTTP activity sends its
requests through it (no sockets, no ports), so everything the activity does (headers,
bodies, `expect`, `success`, `output`, retries, error messages) runs as in production.

Each request is matched to the step and the kind (action or compensation) the activity
is running, read from the activity's id (`<step>/<kind>`), so faults are injected per
step and every request is recorded with the step it belongs to. The record is what the
invariants judge: which effects were applied, which were undone, and in what order.

How a request is answered, first match wins:

1. a fault of the case for that step and kind (`Fault`);
2. an answer of the test file for `METHOD /path` of that service (`Answer`);
3. the default: the first success status the request expects (for a POST without a
   plain `expect`, 201), with the request's JSON object echoed back, plus a generated
   `id` for a POST; DELETE answers 204 with no body; GET answers `{}`.

A service is idempotent as a careful one is: a request whose Idempotency-Key it has
applied before is not applied again, and gets the first answer again.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from temporalio import activity

from dsl import MUTATING_METHODS, Saga, effective_request, status_matches

__all__ = [
    "FAULT_KINDS",
    "Answer",
    "Fault",
    "RecordedRequest",
    "SimulatedServices",
    "compile_pattern",
]

FAULT_KINDS = ("timeout", "uncertain", "cancel", "slow")
"""Faults besides a status: see `Fault`."""
_PLACEHOLDER = re.compile(r"\{[^{}/]*\}")
ACTION_KINDS = ("action", "resolution")
"""The kinds of request that send a step's action: the action, and its resending to
learn the outcome of an uncertain attempt (answered and applied as the action is)."""


@dataclass(frozen=True)
class Answer:
    """How a service answers one `METHOD /path` pattern."""

    status: int | None = None
    """None: the default status (see the module's docstring)."""
    json_body: Any = None
    has_json: bool = False
    """True when `json_body` is given even though it is null."""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds. At or past the request's timeout, the request times out (at once)."""


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one step's action or compensation.

    kind: a status ("409" answers 409 and applies nothing), "timeout" (the service applies
    the request and answers too late), "uncertain" (it applies the request and the
    connection drops before the answer), "cancel" (the saga is cancelled while the request
    is with the service; then it is applied and answered), "slow" (the service answers
    503 with a Retry-After longer than the saga's timeout, so the step is still running
    when the saga's timeout expires).
    times: how many attempts fail (0 = every attempt).
    """

    kind: str
    times: int = 0

    @property
    def status(self) -> int | None:
        return int(self.kind) if self.kind.isdigit() else None


@dataclass
class RecordedRequest:
    """One request as the simulated service saw it."""

    seq: int
    """Order of arrival, over the whole run."""
    step: str
    kind: str
    """'action', 'compensation', 'notify' (a wait step's) or 'resolution' (the action
    resent to learn the outcome of an uncertain attempt); '' when no step sent it."""
    service: str
    method: str
    path: str
    body: Any
    idempotency_key: str | None
    attempt: int
    applied: bool = False
    """The service took the request's effect (a 2xx answer, or a lost or late one)."""
    status: int | None = None
    """The status answered; None when the answer was lost or late."""
    answered_seq: int = 0
    """Order of the answer, on the same clock as `seq`."""


def compile_pattern(pattern: str) -> tuple[str, re.Pattern[str]]:
    """`"POST /charges/{id}/refund"` as (method, regex over the path)."""
    method, _, path = pattern.strip().partition(" ")
    parts = _PLACEHOLDER.split(path.strip())
    regex = "[^/]+".join(re.escape(part) for part in parts)
    return method.upper(), re.compile(f"^{regex}/?$")


class SimulatedServices(httpx.AsyncBaseTransport):
    """The services of one saga run: answers, faults, idempotency and the record."""

    def __init__(
        self,
        saga: Saga,
        answers: Mapping[str, Mapping[str, Answer]] | None = None,
        faults: Mapping[tuple[str, str], Fault] | None = None,
    ) -> None:
        self.saga = saga
        self._answers = {
            service: [(*compile_pattern(pattern), answer) for pattern, answer in table.items()]
            for service, table in (answers or {}).items()
        }
        self._faults = dict(faults or {})
        self._seq = 0
        self._ids: dict[str, int] = {}
        self._applied: dict[tuple[str, str], tuple[int, Any, dict[str, str]]] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self.record: list[RecordedRequest] = []
        self.holding = asyncio.Event()
        """Set while a `cancel` fault holds a request; `release` lets it go on."""
        self.release = asyncio.Event()

    @property
    def holds(self) -> bool:
        """True when a fault of this run holds a request (a cancel while it runs)."""
        return any(fault.kind == "cancel" for fault in self._faults.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        step, kind, attempt = _current_call()
        service, path = self._locate(step, kind, str(request.url))
        body = _json_of(request.content)
        key = request.headers.get("idempotency-key")
        self._seq += 1
        entry = RecordedRequest(
            self._seq, step, kind, service, request.method, path, body, key, attempt
        )
        self.record.append(entry)
        try:
            return await self._answer(entry, request)
        finally:
            self._seq += 1
            entry.answered_seq = self._seq

    async def _answer(self, entry: RecordedRequest, request: httpx.Request) -> httpx.Response:
        fault = self._fault(entry)
        if fault is not None and fault.status is not None:
            entry.status = fault.status
            return _response(fault.status, {"error": f"simulated {fault.status}"}, {}, request)
        if fault is not None and fault.kind == "slow":
            entry.status = 503
            headers = {"Retry-After": str(_slow_seconds(self.saga))}
            return _response(503, {"error": "simulated: busy"}, headers, request)
        if fault is not None and fault.kind == "cancel":
            self.holding.set()
            await self.release.wait()
        answer = self._configured(entry)
        timeout = self._timeout_of(entry)
        late = answer is not None and timeout is not None and answer.delay >= timeout
        if answer is not None and answer.delay and not late:
            await asyncio.sleep(answer.delay)
        response = self._apply(entry, request, answer)
        if fault is not None and fault.kind == "uncertain":
            entry.status = None
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if late or (fault is not None and fault.kind == "timeout"):
            entry.status = None
            # The activity's own per-attempt timeout raises this: the same message results.
            raise TimeoutError
        return response

    def _fault(self, entry: RecordedRequest) -> Fault | None:
        fault = self._faults.get((entry.step, entry.kind))
        if fault is None:
            return None
        done = self._failures.get((entry.step, entry.kind), 0)
        if fault.times and done >= fault.times:
            return None
        self._failures[(entry.step, entry.kind)] = done + 1
        return fault

    def _apply(
        self, entry: RecordedRequest, request: httpx.Request, answer: Answer | None
    ) -> httpx.Response:
        key = (entry.service, entry.idempotency_key or "")
        if entry.idempotency_key and key in self._applied:
            status, body, headers = self._applied[key]  # applied before: the same answer
        else:
            status, body, headers = self._reply(entry, answer)
            entry.applied = 200 <= status < 300
            if entry.applied and entry.idempotency_key:
                self._applied[key] = (status, body, headers)
        entry.status = status
        return _response(status, body, headers, request)

    def _reply(
        self, entry: RecordedRequest, answer: Answer | None
    ) -> tuple[int, Any, dict[str, str]]:
        status = self._default_status(entry)
        if answer is not None:
            status = answer.status or status
            given = answer.has_json or answer.json_body is not None
            body = answer.json_body if given else self._default_body(entry)
            return status, body, dict(answer.headers)
        return status, None if status == 204 else self._default_body(entry), {}

    def _default_status(self, entry: RecordedRequest) -> int:
        natural = {"POST": 201, "DELETE": 204}.get(entry.method, 200)
        expect = self._expect_of(entry)
        if expect is None or status_matches(natural, expect):
            return natural
        numbers = [s for s in expect if isinstance(s, int)]
        successes = [s for s in numbers if 200 <= s < 300]
        return (successes or numbers or [natural])[0]

    def _default_body(self, entry: RecordedRequest) -> Any:
        if entry.method == "GET" or entry.method == "DELETE":
            return {}
        body = dict(entry.body) if isinstance(entry.body, dict) else {}
        if entry.method == "POST":
            self._ids[entry.service] = self._ids.get(entry.service, 0) + 1
            body["id"] = f"{_slug(entry.service)}-{self._ids[entry.service]}"
        return body

    def _configured(self, entry: RecordedRequest) -> Answer | None:
        for method, regex, answer in self._answers.get(entry.service, []):
            if method in (entry.method, "*") and regex.match(entry.path):
                return answer
        return None

    def _expect_of(self, entry: RecordedRequest) -> list[int | str] | None:
        effective = self._effective(entry)
        return list(effective.expect) if effective is not None else None

    def _timeout_of(self, entry: RecordedRequest) -> float | None:
        effective = self._effective(entry)
        return effective.timeout.total_seconds() if effective is not None else None

    def _effective(self, entry: RecordedRequest) -> Any:
        step = next((s for s in self.saga.steps if s.name == entry.step), None)
        if step is None:
            return None
        if entry.kind == "notify":  # a wait step's notify is sent as an action is
            notify = step.wait.notify if step.wait is not None else None
            return None if notify is None else effective_request(self.saga, notify, "action")
        # A resolution resends the action, with its key, to learn whether it was applied.
        request = step.action if entry.kind in ACTION_KINDS else step.compensation
        if request is None or isinstance(request, str):
            return None
        kind = "action" if entry.kind in ACTION_KINDS else entry.kind
        return effective_request(self.saga, request, kind)  # type: ignore[arg-type]

    def _locate(self, step: str, kind: str, url: str) -> tuple[str, str]:
        """The service a url belongs to (a saga service, else the url's origin) and the path."""
        best = ""
        found = ""
        for name, service in (self.saga.services or {}).items():
            base = service.url.rstrip("/")
            if (url == base or url.startswith(base + "/")) and len(base) > len(best):
                best, found = base, name
        if found:
            return found, urlsplit(url[len(best) :] or "/").path or "/"
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}", parts.path or "/"

    def effects(self) -> dict[str, list[RecordedRequest]]:
        """Per step, the applied requests of its mutating action."""
        found: dict[str, list[RecordedRequest]] = {}
        for entry in self.record:
            if entry.kind in ACTION_KINDS and entry.applied and entry.method in MUTATING_METHODS:
                found.setdefault(entry.step, []).append(entry)
        return found

    def undone(self) -> set[str]:
        """Steps whose compensation the service answered with a status it expects."""
        return {
            entry.step
            for entry in self.record
            if entry.kind == "compensation"
            and entry.status is not None
            and status_matches(entry.status, self._expect_of(entry) or ["2xx"])
        }


def _current_call() -> tuple[str, str, int]:
    """The step, kind and attempt of the activity sending this request."""
    try:
        info = activity.info()
    except RuntimeError:
        return "", "", 0
    step, _, kind = info.activity_id.partition("/")
    return step, kind.split("#")[0], info.attempt


def _slow_seconds(saga: Saga) -> int:
    timeout = saga.timeout.total_seconds() if saga.timeout else 3600
    return int(timeout) * 2 + 60


def _slug(service: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-") or "service"


def _json_of(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


def _response(
    status: int, body: Any, headers: Mapping[str, str], request: httpx.Request
) -> httpx.Response:
    if body is None or status == 204:
        return httpx.Response(status, headers=dict(headers), request=request)
    return httpx.Response(status, json=body, headers=dict(headers), request=request)
