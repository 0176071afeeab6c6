"""A fault-injecting HTTP proxy in front of a `DemoService`.

The demo service keeps the state (reservations, charges and their undo, deduplicated by
`Idempotency-Key`); this proxy decides, per request and at random, whether the caller
sees a fault instead of the service's answer. Where the fault falls matters:

* before the request reaches the service (5xx, 429, reset, business rejection): no
  effect landed, the caller must retry (or, for a rejection, compensate);
* after the service applied it (slow answer past the step timeout, reset): the effect
  landed but the caller never learns it, so only the idempotency key keeps a retry
  from applying it twice. These are the faults that find lost or doubled effects.

Business rejections only ever hit actions, and only a key the service has not applied
yet: a service that refused to undo for good would, correctly, end the saga
COMPENSATION_FAILED, and one that honours `Idempotency-Key` answers a retry of an
applied request with its first answer, never with a new refusal. The proxy remembers
every saga it rejected, which is the oracle for the expected end state: rejected ->
COMPENSATED, otherwise COMPLETED.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("error_5xx", "throttle_429", "slow", "reset_before", "reset_after", "reject")
UNDO_METHODS = frozenset({"DELETE"})
UNDO_SUFFIXES = ("/refund",)


@dataclass
class ChaosConfig:
    rate: float = 0.0
    """Share of requests that get a fault (0.2 = 20 %)."""
    faults: tuple[str, ...] = FAULTS
    """The kinds drawn from, uniformly."""
    seed: int = 0
    slow_seconds: float = 1.5
    """How long a slow answer takes: set it past the step timeout."""
    latency: float = 0.0
    """Added to every answer after the service applied the request (service time)."""
    retry_after: int = 1
    decline_over: int | None = None
    """Charges above this amount are declined (402), on every attempt: a business rule."""


@dataclass
class Outcome:
    method: str
    path: str
    key: str | None
    fault: str | None
    status: int | None


@dataclass
class ChaosLedger:
    faults: Counter[str] = field(default_factory=Counter)
    rejected_sagas: set[str] = field(default_factory=set)
    outcomes: list[Outcome] = field(default_factory=list)


def saga_of(key: str | None) -> str | None:
    """The saga id in a default idempotency key `<saga id>/<step>/<kind>`."""
    if not key or key.count("/") < 2:
        return None
    return key.rsplit("/", 2)[0]


def is_undo(method: str, path: str) -> bool:
    return method in UNDO_METHODS or path.endswith(UNDO_SUFFIXES)


class ChaosProxy:
    """`ChaosProxy(upstream_url, config).start()`; `.url`, `.ledger`, `.stop()`."""

    def __init__(self, upstream_url: str, config: ChaosConfig | None = None) -> None:
        self.upstream = urlsplit(upstream_url)
        self.config = config or ChaosConfig()
        self.ledger = ChaosLedger()
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._server: _ProxyServer | None = None
        self._forwarded: set[str | None] = set()
        self.in_flight = 0
        """Requests received and not yet answered (or reset)."""

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> ChaosProxy:
        self._server = _ProxyServer(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the proxy first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- decisions --------------------------------------------------------------------

    def decide(self, method: str, path: str, key: str | None, body: Any) -> str | None:
        """The fault for this request, or None; 'decline' is the business rule."""
        cfg = self.config
        undo = is_undo(method, path)
        if not undo and self._declined(path, body):
            return "decline"
        with self._lock:
            if self._rng.random() >= cfg.rate:
                return None
            may_reject = not undo and key not in self._forwarded
            kinds = [k for k in cfg.faults if k != "reject" or may_reject]
            return self._rng.choice(kinds) if kinds else None

    def _declined(self, path: str, body: Any) -> bool:
        limit = self.config.decline_over
        if limit is None or not path.startswith("/charges") or not isinstance(body, dict):
            return False
        amount = body.get("amount")
        return isinstance(amount, int) and amount > limit

    def count_in_flight(self, change: int) -> None:
        with self._lock:
            self.in_flight += change

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.ledger.outcomes.append(outcome)
            if outcome.fault is not None:
                self.ledger.faults[outcome.fault] += 1
            if outcome.fault in ("reject", "decline"):
                saga = saga_of(outcome.key)
                if saga is not None:
                    self.ledger.rejected_sagas.add(saga)

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes, key: str | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        with self._lock:
            self._forwarded.add(key)
        host, port = self.upstream.hostname or "127.0.0.1", self.upstream.port or 80
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A killed worker resets its keep-alive connections: expected here, not an error.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "host"})


def _handler_for(proxy: ChaosProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_ChaosHandler):
        pass

    Handler.proxy = proxy
    return Handler


class _ChaosHandler(BaseHTTPRequestHandler):
    proxy: ChaosProxy
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Idempotency-Key")
        fault = self.proxy.decide(self.command, self.path, key, _parse(body))
        self.proxy.count_in_flight(+1)
        try:
            status = self._respond(fault, body, key)
        finally:
            self.proxy.count_in_flight(-1)
        self.proxy.record(Outcome(self.command, self.path, key, fault, status))

    def _respond(self, fault: str | None, body: bytes, key: str | None) -> int | None:
        cfg = self.proxy.config
        if fault == "reset_before":
            self._reset()
            return None
        if fault == "error_5xx":
            return self._send(503, {"error": "injected outage"})
        if fault == "throttle_429":
            return self._send(429, {"error": "slow down"}, (("Retry-After", str(cfg.retry_after)),))
        if fault == "reject":
            return self._send(422, {"error": "rejected by the business rules"})
        if fault == "decline":
            return self._send(402, {"error": "payment declined"})
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        status, resp_headers, payload = self.proxy.forward(
            self.command, self.path, headers, body, key
        )
        time.sleep(cfg.slow_seconds if fault == "slow" else cfg.latency)
        if fault == "reset_after":
            self._reset()
            return None
        return self._send_raw(status, resp_headers, payload)

    def _send(self, status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> int:
        payload = json.dumps(body).encode()
        return self._send_raw(status, [("Content-Type", "application/json"), *headers], payload)

    def _send_raw(self, status: int, headers: Sequence[tuple[str, str]], payload: bytes) -> int:
        try:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True
        return status

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        return None

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
