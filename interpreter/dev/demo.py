"""A stateful HTTP service: the quickstart's services, the tests' recorder, a fault injector.

Standard library only, so it starts anywhere the package is installed. Each
`DemoService` is one `ThreadingHTTPServer` in a background thread with generic REST
semantics over in-memory collections:

    POST   /{collection}               201 {"id": "<collection>-<n>", ...body}
    PUT    /{collection}/{key}         201 {"id": key, ...body}; 200 when it existed
    PATCH  /{collection}/{id}          200 the merged resource; 404 when absent
    DELETE /{collection}/{id}          204; 404 when absent
    POST   /{collection}/{id}/{verb}   200 {"id": id, "status": verb}; 404 when absent
    GET    /{collection}[/{id}]        200 the list, or the resource; 404 when absent
    GET    /_big?bytes=N               200 a JSON body of N bytes (for response limits)
    GET    /_state                     every resource, by collection
    POST   /_control/fail|delay|reset  `fail()`, `delay()`, `reset()` (JSON keyword body)

A mutating request that repeats an `Idempotency-Key` (for the same method and path) is
answered with the first response and changes nothing; `duplicates` counts them. Every
request to the API is recorded with its arrival and end times, faults included; the
`/_control` and `/_state` requests are not, so they never disturb what a test counts.

`saga demo-services` (or `python -m interpreter.dev.demo`) serves the quickstart's services,
on ports 9001-9007 unless told otherwise.
"""

from __future__ import annotations

import copy
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from interpreter.dev._demo_http import (
    MUTATING,
    Delay,
    Fault,
    RecordedRequest,
    Response,
    Server,
    Store,
    error,
    take_rule,
)
from interpreter.exit_codes import ExitCode

__all__ = [
    "DEMO_PORTS",
    "DemoService",
    "FailSpec",
    "RecordedRequest",
    "fail_spec",
    "main",
    "port_spec",
    "ports_from",
    "request_line",
    "run",
    "serve_demo",
    "start_with_failures",
]

DEMO_PORTS: dict[str, int] = {
    "flights": 9001,
    "hotels": 9002,
    "cars": 9003,
    "payments": 9004,
    "warehouse": 9005,
    "shipping": 9006,
    "bank": 9007,
}

OnRequest = Callable[["DemoService", RecordedRequest], None]


class DemoService:
    """One demo service on its own port; thread-safe; usable as a context manager."""

    def __init__(
        self,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_request: OnRequest | None = None,
    ) -> None:
        self.name, self.host, self.port = name, host, port
        self.on_request = on_request
        """Called after each recorded request has been answered (e.g. to log it)."""
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> DemoService:
        """Bind and serve in a background thread; port 0 picks a free port, kept on restart."""
        if self._server is not None:
            raise RuntimeError(f"demo service {self.name!r} is already running")
        try:
            server = Server((self.host, self.port), self)
        except OSError as err:
            reason = err.strerror or str(err)
            where = f"{self.host}:{self.port}"
            raise OSError(err.errno, f"cannot listen on {where} for {self.name}: {reason}") from err
        self._server, self.port = server, server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"demo-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake delayed responses, close open connections, free the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> DemoService:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # --- state and recording ------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every recorded request, in arrival order."""
        with self._lock:
            return [replace(record) for record in self._records]

    @property
    def resources(self) -> dict[str, dict[str, dict[str, Any]]]:
        """A snapshot: collection -> {id: resource}."""
        with self._lock:
            return copy.deepcopy(self._store.resources)

    @property
    def duplicates(self) -> int:
        """Mutating requests that repeated an Idempotency-Key (answered, nothing applied)."""
        with self._lock:
            return self._duplicates

    def reset(self) -> None:
        """Forget resources, recorded requests, idempotency keys, faults and delays."""
        with self._lock:
            self._reset_state()

    def _reset_state(self) -> None:
        self._store = Store()
        self._records: list[RecordedRequest] = []
        self._replies: dict[tuple[str, str, str], Response] = {}
        self._duplicates = 0
        self._faults: list[Fault] = []
        self._delays: list[Delay] = []

    # --- faults -------------------------------------------------------------------

    def fail(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        status: int = 500,
        times: int | None = 1,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        reset_connection: bool = False,
        after_effect: bool = False,
    ) -> None:
        """Queue a fault for the next `times` matching requests (None = all of them).

        The fault answers with `status`, `body` (JSON; default {"error": "injected
        fault"}) and `headers` (e.g. Retry-After) after waiting `delay` seconds, or
        closes the connection without a response when `reset_connection`. The request's
        effect is applied first only when `after_effect` (the call landed, the reply
        was lost). The first queued rule that matches the method and path prefix wins.
        """
        fault = Fault(
            method=method,
            path_prefix=path_prefix,
            times=times,
            seconds=delay,
            status=status,
            body=body,
            headers=dict(headers or {}),
            reset_connection=reset_connection,
            after_effect=after_effect,
        )
        with self._lock:
            self._faults.append(fault)

    def delay(
        self,
        seconds: float,
        method: str | None = None,
        path_prefix: str | None = None,
        times: int | None = None,
    ) -> None:
        """Answer matching requests `seconds` late, after applying their effect."""
        rule = Delay(method=method, path_prefix=path_prefix, times=times, seconds=seconds)
        with self._lock:
            self._delays.append(rule)

    def _sleep(self, seconds: float) -> None:
        # An Event wait, not time.sleep: stop() must not wait for a delayed reply.
        if seconds > 0:
            self._stopping.wait(seconds)

    # --- the transport's Backend --------------------------------------------------

    def handle_request(self, record: RecordedRequest) -> Response | None:
        """Record and answer a request; None = reset the connection."""
        with self._lock:
            self._records.append(record)
            fault: Fault | None = take_rule(self._faults, record.method, record.path)
            record.injected = fault is not None
        if fault is not None and not fault.after_effect:
            return self._deliver(fault)
        response = self._apply(record)
        with self._lock:
            delay: Delay | None = take_rule(self._delays, record.method, record.path)
        self._sleep(delay.seconds if delay else 0.0)
        return response if fault is None else self._deliver(fault)

    def handle_finished(self, record: RecordedRequest, status: int | None) -> None:
        with self._lock:
            record.status, record.end_time = status, time.monotonic()
        if self.on_request is not None:
            self.on_request(self, replace(record))

    def handle_control(self, method: str, path: str, payload: Any) -> Response:
        match method, path:
            case "GET", "/_state":
                return Response(200, self.resources)
            case "POST", "/_control/reset":
                self.reset()
                return Response(200, {"reset": True})
            case "POST", "/_control/fail":
                return _call(self.fail, payload)
            case "POST", "/_control/delay":
                return _call(self.delay, payload)
        return error(404, f"no control route for {method} {path}")

    def _deliver(self, fault: Fault) -> Response | None:
        self._sleep(fault.seconds)
        return None if fault.reset_connection else fault.response()

    def _apply(self, record: RecordedRequest) -> Response:
        key = record.headers.get("idempotency-key")
        reply_key = (record.method, record.path, key or "")
        with self._lock:
            if key and record.method in MUTATING and reply_key in self._replies:
                record.replayed = True
                self._duplicates += 1
                return self._replies[reply_key]
            body = {} if not record.body else record.json
            response = self._store.handle(record.method, record.path, record.query, body)
            # A copy: the stored resource may change later, the replayed reply must not.
            response = replace(response, body=copy.deepcopy(response.body))
            if key and record.method in MUTATING and response.status < 300:
                self._replies[reply_key] = response
            return response


def _call(method: Callable[..., None], payload: Any) -> Response:
    if not isinstance(payload, dict):
        return error(400, "the body must be a JSON object of keyword arguments")
    try:
        method(**payload)
    except (TypeError, ValueError) as err:
        return error(400, str(err))
    return Response(200, {"ok": True})


def serve_demo(
    ports: Mapping[str, int] | None = None,
    *,
    host: str = "127.0.0.1",
    on_request: OnRequest | None = None,
) -> list[DemoService]:
    """Start the quickstart's services (DEMO_PORTS, overridden by `ports`; 0 = any)."""
    unknown = sorted(set(ports or {}) - set(DEMO_PORTS))
    if unknown:
        raise ValueError(f"unknown demo service {unknown[0]!r}: use one of {', '.join(DEMO_PORTS)}")
    started: list[DemoService] = []
    try:
        for name, port in {**DEMO_PORTS, **(ports or {})}.items():
            started.append(DemoService(name, host, port, on_request=on_request).start())
    except OSError:
        for service in started:
            service.stop()
        raise
    return started


# --- command line ---------------------------------------------------------------------


@dataclass(frozen=True)
class FailSpec:
    """A `--fail SERVICE[/COLLECTION][:STATUS]` rule: creates there fail with STATUS."""

    service: str
    collection: str | None
    status: int


def fail_spec(text: str) -> FailSpec:
    """Parse `--fail`; ValueError with a plain sentence when it names nothing valid."""
    target, _, status = text.partition(":")
    service, _, collection = target.partition("/")
    if service not in DEMO_PORTS:
        raise ValueError(f"unknown service {service!r}: use one of {', '.join(DEMO_PORTS)}")
    if status and not (status.isdigit() and 100 <= int(status) <= 599):
        raise ValueError(f"invalid status {status!r}: use a number such as 503")
    return FailSpec(service, collection or None, int(status or 500))


def port_spec(text: str) -> tuple[str, int]:
    """Parse `--port NAME=PORT`; ValueError when it is not that."""
    name, _, port = text.partition("=")
    if name not in DEMO_PORTS or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid {text!r}: use NAME=PORT, e.g. flights=9101")
    return name, int(port)


def ports_from(base: int | None, ports: Mapping[str, int] | None = None) -> dict[str, int]:
    """Every service's port: consecutive from `base` (0 = each a free port; None = the
    defaults, 9001-9007), then the `ports` given one by one."""
    if base is None:
        chosen = dict(DEMO_PORTS)
    elif base == 0:
        chosen = dict.fromkeys(DEMO_PORTS, 0)
    else:
        chosen = {name: base + i for i, name in enumerate(DEMO_PORTS)}
    return {**chosen, **(ports or {})}


def start_with_failures(
    failures: Sequence[FailSpec],
    ports: dict[str, int] | None = None,
    *,
    on_request: OnRequest | None = None,
) -> list[DemoService]:
    """Start the demo services with `--fail` rules installed; raises OSError on a busy port."""
    services = serve_demo(ports, on_request=on_request or _log_request)
    by_name = {service.name: service for service in services}
    for spec in failures:
        _install_failure(by_name[spec.service], spec)
    return services


def run(failures: Sequence[FailSpec], ports: Mapping[str, int]) -> int:
    """Serve until Ctrl-C or SIGTERM, logging each request on stdout."""
    try:
        services = start_with_failures(failures, dict(ports))
    except OSError as err:
        print(f"Error: {err.strerror or err}", file=sys.stderr)
        return ExitCode.INVALID
    try:
        _print_banner(services, failures)
        stop = threading.Event()
        with _stop_on_sigterm(stop):
            while not stop.wait(0.2):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for service in services:
            service.stop()
    print("Demo services stopped.", flush=True)
    return ExitCode.OK


def _install_failure(service: DemoService, spec: FailSpec) -> None:
    prefix = f"/{spec.collection}" if spec.collection else None
    message = f"{spec.service}: injected failure (--fail)"
    for method in ("POST", "PUT"):
        service.fail(method, prefix, spec.status, times=None, body={"error": message})


def _print_banner(services: Sequence[DemoService], failures: Sequence[FailSpec]) -> None:
    lines = ["Demo services (Ctrl-C to stop):"]
    lines += [f"  {service.name:<10} {service.url}" for service in services]
    for spec in failures:
        target = f"{spec.service}/{spec.collection}" if spec.collection else spec.service
        lines.append(f"  creates on {target} fail with {spec.status}")
    moved = [s for s in services if s.port != DEMO_PORTS[s.name]]
    if moved:
        # Imported here: the services themselves need nothing but the standard library.
        from interpreter.worker._activity import service_url_variable

        lines.append("The example sagas name the default ports; give a worker the real ones:")
        lines += [f"  {service_url_variable(s.name)}={s.url}" for s in moved]
    print("\n".join(lines), flush=True)


_print_lock = threading.Lock()


def request_line(service: DemoService, record: RecordedRequest) -> str:
    """One line describing a request the service answered, for logs."""
    outcome = "connection reset" if record.status is None else str(record.status)
    notes = " (injected)" if record.injected else " (replayed)" if record.replayed else ""
    return f"{service.name:<10} {record.method:<6} {record.path} -> {outcome}{notes}"


def _log_request(service: DemoService, record: RecordedRequest) -> None:
    with _print_lock:  # handler threads print concurrently; keep lines whole
        print(request_line(service, record), flush=True)


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m interpreter.dev.demo`: the same as `saga demo-services`."""
    from interpreter.cli import main as saga

    return saga(["demo-services", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
