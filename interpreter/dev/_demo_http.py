"""The demo service's insides: REST semantics, fault rules, and the HTTP transport.

`interpreter.dev.demo` is the public face (`DemoService`); this module holds what it is
made of, so each part stays small: `Store` answers REST requests over in-memory
collections, `Fault` and `Delay` are the queued rules, and `Server` hands each request
to a `Backend` (the DemoService) and writes its answer, or resets the connection.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BIG_BYTES = 64 * 1024 * 1024


@dataclass
class RecordedRequest:
    """One request as the service saw it."""

    method: str
    path: str
    query: dict[str, str]
    """The last value of each query parameter."""
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes
    json: Any | None
    """The body parsed as JSON, or None when it is empty or not JSON."""
    time: float
    """`time.monotonic()` when the request arrived."""
    end_time: float | None = None
    """`time.monotonic()` just before the response was sent; None while in flight."""
    status: int | None = None
    """The status sent; None while in flight or when the connection was reset."""
    injected: bool = False
    """True when a fault rule answered (or reset) this request."""
    replayed: bool = False
    """True when a repeated Idempotency-Key was answered with the first response."""


@dataclass(frozen=True)
class Response:
    status: int
    body: Any = None
    """A JSON value; or text, or raw bytes (with their Content-Type in headers)."""
    headers: Mapping[str, str] = field(default_factory=dict)


def error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


# --- rules ----------------------------------------------------------------------------


@dataclass
class Delay:
    """Answer matching requests `seconds` late."""

    method: str | None = None
    path_prefix: str | None = None
    times: int | None = None
    """How many more requests the rule applies to; None = every one."""
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.method = self.method.upper() if self.method else None
        if self.times is not None and (not isinstance(self.times, int) or self.times < 1):
            raise ValueError(f"times must be a positive integer or null, not {self.times!r}")
        if not isinstance(self.seconds, int | float) or self.seconds < 0:
            raise ValueError(f"a delay is a non-negative number of seconds, not {self.seconds!r}")

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


@dataclass
class Fault(Delay):
    """Answer matching requests with an error, after `seconds`, or reset the connection."""

    status: int = 500
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    reset_connection: bool = False
    after_effect: bool = False
    """Apply the request's effect first, then answer with the fault (the effect landed)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status!r}")

    def response(self) -> Response:
        body = self.body if self.body is not None else {"error": "injected fault"}
        return Response(self.status, body, {str(k): str(v) for k, v in self.headers.items()})


def take_rule(rules: list[Any], method: str, path: str) -> Any:
    """The first rule that matches, counting the use; the caller holds the lock."""
    rule = next((rule for rule in rules if rule.matches(method, path)), None)
    if rule is not None and rule.times is not None:
        rule.times -= 1
        if rule.times == 0:
            rules.remove(rule)
    return rule


# --- REST semantics -------------------------------------------------------------------


class Store:
    """The REST collections; not thread-safe on its own (the caller holds a lock)."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, dict[str, Any]]] = {}
        self.counters: dict[str, int] = {}

    def handle(self, method: str, path: str, query: Mapping[str, str], body: Any) -> Response:
        parts = [unquote(part) for part in path.strip("/").split("/")] if path.strip("/") else []
        if method in {"POST", "PUT", "PATCH"} and len(parts) < 3 and not isinstance(body, dict):
            return error(400, "the body must be a JSON object")
        match method, parts:
            case "GET", ["_big"]:
                return _big(query.get("bytes", ""))
            case "GET", [collection]:
                return Response(200, list(self.resources.get(collection, {}).values()))
            case "GET", [collection, rid]:
                return self._existing(collection, rid, lambda item: Response(200, item))
            case "POST", [collection]:
                return self._create(collection, body)
            case "PUT", [collection, key]:
                existed = key in self.resources.get(collection, {})
                item = self._collection(collection)[key] = {"id": key, **_without_id(body)}
                return Response(200 if existed else 201, item)
            case "PATCH", [collection, rid]:
                return self._existing(collection, rid, lambda item: self._patch(item, body))
            case "DELETE", [collection, rid]:
                return self._existing(collection, rid, lambda _: self._delete(collection, rid))
            case "POST", [collection, rid, verb]:
                return self._existing(collection, rid, lambda item: self._verb(item, verb))
        return error(404, f"no route for {method} {path}")

    def _collection(self, name: str) -> dict[str, dict[str, Any]]:
        return self.resources.setdefault(name, {})

    def _existing(
        self, collection: str, rid: str, then: Callable[[dict[str, Any]], Response]
    ) -> Response:
        item = self.resources.get(collection, {}).get(rid)
        return error(404, f"{collection}/{rid} not found") if item is None else then(item)

    def _create(self, collection: str, body: dict[str, Any]) -> Response:
        self.counters[collection] = self.counters.get(collection, 0) + 1
        rid = f"{collection}-{self.counters[collection]}"
        item = self._collection(collection)[rid] = {"id": rid, **_without_id(body)}
        return Response(201, item)

    def _patch(self, item: dict[str, Any], body: dict[str, Any]) -> Response:
        item.update(_without_id(body))
        return Response(200, item)

    def _delete(self, collection: str, rid: str) -> Response:
        del self.resources[collection][rid]
        return Response(204)

    def _verb(self, item: dict[str, Any], verb: str) -> Response:
        item["status"] = verb
        return Response(200, {"id": item["id"], "status": verb})


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "id"}


def _big(size: str) -> Response:
    if not size.isdigit() or int(size) > MAX_BIG_BYTES:
        return error(400, f"bytes must be an integer from 0 to {MAX_BIG_BYTES}")
    padding = "x" * max(0, int(size) - len('{"data":""}'))
    payload = json.dumps({"data": padding}, separators=(",", ":")).encode()
    return Response(200, payload, {"Content-Type": "application/json"})


# --- HTTP transport -------------------------------------------------------------------


class Backend(Protocol):
    """What the transport calls (implemented by DemoService)."""

    def handle_control(self, method: str, path: str, payload: Any) -> Response: ...

    def handle_request(self, record: RecordedRequest) -> Response | None:
        """Record and answer a request; None = reset the connection."""
        ...

    def handle_finished(self, record: RecordedRequest, status: int | None) -> None: ...


class Server(ThreadingHTTPServer):
    """Tracks open connections, so stop() can close keep-alive ones and reset some."""

    daemon_threads = True
    # socketserver's default backlog of 5 refuses connections when a burst of requests
    # (a saga fanning out, a test sending twenty at once) meets a busy machine.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        self._guard = threading.Lock()
        self._open: set[Any] = set()
        self._resets: set[Any] = set()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._guard:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._guard:
            self._open.discard(request)
            reset = request in self._resets
            self._resets.discard(request)
        if reset:
            self.close_request(request)  # no FIN first: with SO_LINGER 0 the close is a RST
        else:
            super().shutdown_request(request)

    def reset_connection(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._guard:
            self._resets.add(connection)

    def close_connections(self) -> None:
        with self._guard:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that went away is normal
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms), which would blur every timing a test measures.
    disable_nagle_algorithm = True
    server: Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        backend = self.server.backend
        if url.path.startswith("/_control/") or url.path == "/_state":
            self._send(backend.handle_control(self.command, url.path, parse_json(body) or {}))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        record = RecordedRequest(
            self.command, url.path, query, headers, body, parse_json(body), self._arrival
        )
        response = backend.handle_request(record)
        # Finished before the answer goes out: a client holding its response must find
        # the record complete.
        backend.handle_finished(record, None if response is None else response.status)
        if response is None:
            self.server.reset_connection(self.connection)
            self.close_connection = True
        else:
            self._send(response)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def parse_request(self) -> bool:
        self._arrival = time.monotonic()
        return super().parse_request()

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(error(411, "send a Content-Length; chunked bodies are not supported"))
            return None
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, response: Response) -> None:
        payload, content_type = _encode(response.body)
        try:
            self.send_response(response.status)
            typed = any(name.lower() == "content-type" for name in response.headers)
            if payload and not typed:
                self.send_header("Content-Type", content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status not in (204, 304):
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (e.g. its timeout passed during a delay)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo command logs through DemoService.on_request instead


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _encode(body: Any) -> tuple[bytes, str]:
    if body is None:
        return b"", ""
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"
