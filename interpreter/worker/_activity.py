"""The HTTP activity: one call of one step, exactly as the workflow rendered it.

Every failure is an `ApplicationError` whose `type` says what happened, and whose
message is short and free of secrets ("POST http://h/reservations: 409 Conflict: ...")::

    HttpStatus        a status outside `expect`; retried when it is in `retry_on_status`
                      (then `Retry-After` on 429/503 sets the next delay)
    HttpConnection    the request could not be sent or answered (refused, reset, timeout):
                      retried
    SuccessFalse      the `success` condition was false: not retried
    ResponseTooLarge  a response body over 1 MiB: not retried
    RequestTooLarge   a request body over 1 MiB: not retried
    ExpressionError   `success` or `output` failed on this response: not retried
    MissingSecret     a secret the worker does not have: retried, so an operator can add
                      it while the saga waits

Each error's details[0] is `{"attempt": N, "sent": bool}` (Temporal's attempt number, and
whether the request left the worker), and heartbeats carry the same, so the workflow
knows the attempts made and whether the effect may have landed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from dsl import ExpressionError, compile_condition, compile_template, status_matches
from interpreter.contract import ACTIVITY_NAME, HttpCall, HttpResult
from interpreter.worker._secrets import MissingSecret, SecretSource, scrub, scrub_value

__all__ = ["MAX_BODY_BYTES", "HttpActivity", "service_url_variable"]

MAX_BODY_BYTES = 1024 * 1024
MAX_OUTPUT_BYTES = 1024 * 1024
"""A step's output as JSON; well under Temporal's 2 MB payload limit."""
HEARTBEAT_EVERY = 0.5
"""Seconds between heartbeats while a request is in flight (the SDK throttles sending)."""
EXCERPT_CHARS = 200
RETRY_AFTER_STATUSES = (429, 503)

Observer = Callable[[HttpCall, int, "int | None", float], None]
"""Told of every attempt: the call, the attempt number, the status (None: no response)
and the seconds it took (metrics and spans, see interpreter.ops)."""
Inject = Callable[[dict[str, str]], None]
"""Adds trace headers (`traceparent`) of the current attempt to a request's headers."""


def service_url_variable(service: str) -> str:
    """The environment variable that overrides a service's url on the worker."""
    return "SAGA_SERVICE_" + service.upper().replace("-", "_") + "_URL"


class HttpActivity:
    """The activity, holding one pooled HTTP client and the secrets for the whole worker."""

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        secrets: SecretSource,
        environ: Mapping[str, str] | None = None,
        *,
        observer: Observer | None = None,
        inject: Inject | None = None,
    ) -> None:
        self._owns_http = http is None
        self._observer = observer
        self._inject = inject
        # Timeouts are enforced around the whole exchange (see `_exchange`), not per read.
        self._http = http or httpx.AsyncClient(timeout=None, follow_redirects=False)
        self._secrets = secrets
        self._environ = environ if environ is not None else os.environ

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @activity.defn(name=ACTIVITY_NAME)
    async def call(self, argument: dict[str, Any] | HttpCall) -> dict[str, Any]:
        """The response's `HttpResult`, in its compact form (`HttpResult.compact`).

        The argument arrives as JSON data, read by `HttpCall.from_dict` rather than by the
        SDK's converter (see there); an `HttpCall` is taken as it is (tests, benchmarks)."""
        info = activity.info()
        call = (
            argument if isinstance(argument, HttpCall) else _read(argument, info.workflow_id or "")
        )
        exchange = _Exchange(call, self._url(call), info.attempt)
        started, status = time.perf_counter(), None
        try:
            exchange.prepare(self._secrets, self._inject)
            beating = _Heartbeat(exchange.attempt)
            try:
                response = await _despite_cancel(exchange.send(self._http))
            finally:
                beating.stop()
            status = response[0]
            return exchange.judge(*response).compact()
        finally:
            self._attempted(exchange, status, time.perf_counter() - started)

    def _attempted(self, exchange: _Exchange, status: int | None, seconds: float) -> None:
        # INFO: silent unless the process configured logging (`--log-format`).
        answer = str(status) if status is not None else "no response"
        activity.logger.info("%s: %s in %.0f ms", exchange.what(), answer, seconds * 1000)
        if self._observer is not None:
            self._observer(exchange.call, exchange.attempt, status, seconds)

    def _url(self, call: HttpCall) -> str:
        base = call.base_url
        if call.service is not None:
            base = self._environ.get(service_url_variable(call.service)) or base
        if not call.path:
            return base
        return base.rstrip("/") + "/" + call.path.lstrip("/")


def _read(argument: dict[str, Any], saga_id: str) -> HttpCall:
    try:
        return HttpCall.from_dict(argument, saga_id)
    except TypeError as error:  # a required field missing: as the SDK's converter fails
        raise ApplicationError(f"Failed decoding arguments: {error}") from None


async def _despite_cancel(sending: Coroutine[Any, Any, Response]) -> Response:
    """The request's answer, even when the step is cancelled while it is on the wire.

    A request that left cannot be called back: abandoning it would leave the saga not
    knowing whether it took effect, and a step with `compensate_on: success` would then
    never be undone. So a cancel waits for the answer (bounded by the request's own
    timeout) and the workflow learns the outcome; only retries and waits are cut short.

    The request runs in a task of its own, which the activity's cancel never reaches;
    the activity waits on a bare future that the task's end resolves (lighter than
    `asyncio.shield`, which adds a second future and callback per call).
    """
    loop = asyncio.get_running_loop()
    task = loop.create_task(sending)
    while True:
        ended: asyncio.Future[None] = loop.create_future()

        def wake(_: object, ended: asyncio.Future[None] = ended) -> None:
            if not ended.done():
                ended.set_result(None)

        task.add_done_callback(wake)
        try:
            await ended
        except asyncio.CancelledError:
            task.remove_done_callback(wake)
            if not task.done():
                continue
        return task.result()


class _Heartbeat:
    """Heartbeats while a request is in flight, from the event loop's timer: no task.

    The attempt rides on the heartbeat so a heartbeat or start-to-close timeout still
    tells the workflow how many attempts were made. The first beat comes after
    HEARTBEAT_EVERY, which spares the typical fast call a heartbeat RPC altogether (the
    SDK sends the first one at once): that was the interpreter's largest overhead over a
    hand-written workflow. The timer's callback runs in the activity's context (the
    loop copies it when the timer is set), which `activity.heartbeat` needs.
    """

    def __init__(self, attempt: int) -> None:
        self._details = {"attempt": attempt, "sent": True}
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_later(HEARTBEAT_EVERY, self._beat)

    def _beat(self) -> None:
        activity.heartbeat(self._details)
        self._timer = self._loop.call_later(HEARTBEAT_EVERY, self._beat)

    def stop(self) -> None:
        self._timer.cancel()


Response = tuple[int, str, dict[str, str], bytes]


class _Exchange:
    """One attempt: the prepared request, the secrets it used, and the verdict."""

    def __init__(self, call: HttpCall, url: str, attempt: int) -> None:
        self.call, self.url, self.attempt = call, url, attempt
        self.headers: dict[str, str] = {}
        self.content: bytes | None = None
        self.secret_values: list[str] = []
        self.sent = False

    def prepare(self, secrets: SecretSource, inject: Inject | None = None) -> None:
        """The headers as the saga wrote them, then the activity's own (Authorization from
        `auth`, Idempotency-Key, Content-Type) only where no header of that name, in any
        letter case, was written: a name is sent once, and the saga's header wins. Then
        the trace context (`inject`), when tracing is on."""
        call = self.call
        try:
            self.headers = dict(call.headers)
            for name, secret in call.secret_headers.items():
                self.headers[name] = self._secret(secrets, secret)
            self._authorize(secrets)
        except MissingSecret as error:
            self.fail(f"{call.method} {self.url}: {error}", "MissingSecret", retry=True)
        if call.idempotency_key is not None:
            self._default_header("Idempotency-Key", call.idempotency_key)
        if inject is not None:
            inject(self.headers)
        self._body()

    def _default_header(self, name: str, value: str) -> None:
        if not any(existing.lower() == name.lower() for existing in self.headers):
            self.headers[name] = value

    def _secret(self, secrets: SecretSource, name: str) -> str:
        value = secrets.get(name)
        self.secret_values.append(value)
        return value

    def _authorize(self, secrets: SecretSource) -> None:
        auth = self.call.auth or {}
        if "bearer" in auth:
            self._default_header("Authorization", "Bearer " + self._secret(secrets, auth["bearer"]))
        elif "basic" in auth:
            pair = f"{auth['basic']['username']}:{self._secret(secrets, auth['basic']['password'])}"
            encoded = base64.b64encode(pair.encode()).decode()
            self.secret_values.append(encoded)
            self._default_header("Authorization", "Basic " + encoded)

    def _body(self) -> None:
        call = self.call
        if call.has_json:
            self.content = json.dumps(call.json_body, separators=(",", ":")).encode()
            self._default_header("Content-Type", "application/json")
        elif call.body is not None:
            self.content = call.body.encode()
            self._default_header("Content-Type", call.content_type or "text/plain")
        if self.content is not None and len(self.content) > MAX_BODY_BYTES:
            size = len(self.content)
            self.fail(
                f"{self.what()}: request body of {size} bytes is over 1 MiB", "RequestTooLarge"
            )

    async def send(self, http: httpx.AsyncClient) -> Response:
        timeout = self.call.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(http)
        except TimeoutError:
            self.fail(f"{self.what()}: no response within {timeout:g}s", "HttpConnection", True)
        except httpx.ConnectError as error:
            self.sent = False  # no connection was made: nothing reached the service
            reason = str(error) or type(error).__name__
            self.fail(f"{self.what()}: {reason}", "HttpConnection", retry=True)
        except httpx.HTTPError as error:
            reason = str(error) or type(error).__name__
            self.fail(f"{self.what()}: {reason}", "HttpConnection", retry=True)

    async def _exchange(self, http: httpx.AsyncClient) -> Response:
        # `params=` would replace a query string written in the url or path, even when
        # empty: the saga's `query` is merged into it instead (its keys win).
        url = httpx.URL(self.url)
        if self.call.query:
            url = url.copy_merge_params(self.call.query)
        request = http.build_request(
            self.call.method, url, headers=self.headers, content=self.content
        )
        self.sent = True
        response = await http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                self._too_large(response.status_code)
            chunks, size = [], 0
            # Read at most 1 MiB (plus one chunk): a huge body must not fill the worker's memory.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    self._too_large(response.status_code)
                chunks.append(chunk)
        finally:
            await response.aclose()
        names = dict.fromkeys(name.lower() for name in response.headers)
        headers = {name: ", ".join(response.headers.get_list(name)) for name in names}
        return response.status_code, response.reason_phrase, headers, b"".join(chunks)

    def _too_large(self, status: int) -> NoReturn:
        self.fail(f"{self.what()}: {status} response body is over 1 MiB", "ResponseTooLarge")

    def judge(self, status: int, reason: str, headers: dict[str, str], raw: bytes) -> HttpResult:
        call = self.call
        body = _parse_body(headers.get("content-type", ""), raw)
        if not status_matches(status, call.expect):
            self._bad_status(status, reason, headers, raw)
        response = {"status": status, "headers": headers, "body": body}
        variables = {**call.context, "response": response}
        try:
            if call.success is not None:
                if not _holds(call.success, variables):
                    condition = call.success if isinstance(call.success, str) else "false"
                    message = f"{self.what()}: {status}: success condition {condition!r} is false"
                    self.fail(message, "SuccessFalse")
            output = compile_template(call.output).render(variables) if call.has_output else body
        except ExpressionError as error:
            self.fail(f"{self.what()}: {status}: {error.message}", "ExpressionError")
        # A service may echo a secret back (a token in a response body): the output goes
        # into the history, which must never hold one.
        output = scrub_value(output, self.secret_values)
        size = len(json.dumps(output, separators=(",", ":")).encode())
        if size > MAX_OUTPUT_BYTES:
            # Temporal refuses payloads over 2 MB by failing the workflow task, forever:
            # the saga would hang instead of being compensated.
            message = f"{self.what()}: {status}: the step's output is {size} bytes as JSON"
            self.fail(message + ", over the 1 MiB a step may keep", "OutputTooLarge")
        return HttpResult(status=status, output=output, attempt=self.attempt)

    def _bad_status(
        self, status: int, reason: str, headers: dict[str, str], raw: bytes
    ) -> NoReturn:
        excerpt = " ".join(raw[: EXCERPT_CHARS * 4].decode("utf-8", "replace").split())
        if len(excerpt) > EXCERPT_CHARS:
            excerpt = excerpt[:EXCERPT_CHARS] + "…"
        message = f"{self.what()}: {status} {reason}".rstrip() + (f": {excerpt}" if excerpt else "")
        retry = status_matches(status, self.call.retry_on_status)
        delay = _retry_after(headers.get("retry-after")) if status in RETRY_AFTER_STATUSES else None
        self.fail(message, "HttpStatus", retry=retry, delay=delay)

    def what(self) -> str:
        return f"{self.call.method} {self.url}"

    def fail(
        self, message: str, kind: str, retry: bool = False, delay: timedelta | None = None
    ) -> NoReturn:
        raise ApplicationError(
            scrub(message, self.secret_values),
            {"attempt": self.attempt, "sent": self.sent},
            type=kind,
            non_retryable=not retry,
            next_retry_delay=delay if retry else None,
            # A failed HTTP call is the saga's business, reported in its report; BENIGN
            # keeps the SDK from logging a traceback for every attempt.
            category=ApplicationErrorCategory.BENIGN,
        ) from None  # the message says it all; httpx's chain would bloat every attempt


def _holds(condition: Any, variables: Mapping[str, Any]) -> bool:
    value = compile_condition(condition).render(variables)
    if not isinstance(value, bool):
        raise ExpressionError(f"a condition must be true or false, not {value!r}")
    return value


def _parse_body(content_type: str, raw: bytes) -> Any:
    media = content_type.split(";")[0].strip().lower()
    is_json = media == "application/json" or media.endswith("+json")
    if is_json:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw.decode("utf-8", "replace")


def _retry_after(value: str | None) -> timedelta | None:
    """`Retry-After` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - datetime.now(UTC), timedelta())
