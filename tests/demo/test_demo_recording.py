"""Every request is recorded, with arrival and end times."""

import threading
import time

import httpx

from interpreter.dev.demo import DemoService, RecordedRequest


def test_a_request_is_recorded_as_sent(client: httpx.Client, service: DemoService) -> None:
    client.post("/r", params={"a": "1"}, json={"x": [1]}, headers={"X-Trace": "t"})
    [record] = service.requests
    assert (record.method, record.path, record.query) == ("POST", "/r", {"a": "1"})
    assert record.headers["x-trace"] == "t"
    assert (record.body, record.json, record.status) == (b'{"x":[1]}', {"x": [1]}, 201)


def test_a_body_that_is_not_json_is_kept_raw(client: httpx.Client, service: DemoService) -> None:
    client.post("/r", content=b"plain", headers={"Content-Type": "text/plain"})
    [record] = service.requests
    assert (record.body, record.json) == (b"plain", None)


def test_failed_requests_are_recorded(client: httpx.Client, service: DemoService) -> None:
    service.fail(status=503)
    client.get("/r")
    client.delete("/r/none")
    assert [(r.status, r.injected) for r in service.requests] == [(503, True), (404, False)]


def test_times_bracket_the_response(client: httpx.Client, service: DemoService) -> None:
    service.delay(0.2)
    before = time.monotonic()
    client.get("/r")
    after = time.monotonic()
    [record] = service.requests
    assert record.end_time is not None
    assert before <= record.time < record.end_time <= after
    assert record.end_time - record.time >= 0.2


def _send_together(service: DemoService, paths: list[str]) -> list[RecordedRequest]:
    def send(path: str) -> None:
        with httpx.Client(base_url=service.url) as http:
            http.post(path, json={})

    threads = [threading.Thread(target=send, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return service.requests


def _overlap(a: RecordedRequest, b: RecordedRequest) -> bool:
    assert a.end_time is not None and b.end_time is not None
    return a.time < b.end_time and b.time < a.end_time


def test_concurrent_requests_are_served_in_parallel(service: DemoService) -> None:
    service.delay(0.5)
    first, second = _send_together(service, ["/flights", "/hotels"])
    assert _overlap(first, second)


def test_sequential_requests_do_not_overlap(client: httpx.Client, service: DemoService) -> None:
    service.delay(0.1)
    client.post("/flights", json={})
    client.post("/hotels", json={})
    assert not _overlap(*service.requests)


def test_concurrent_creates_get_distinct_ids(service: DemoService) -> None:
    records = _send_together(service, ["/r"] * 20)
    assert len(records) == 20
    assert sorted(service.resources["r"]) == sorted(f"r-{n}" for n in range(1, 21))


def test_an_in_flight_request_has_no_end_time_yet(service: DemoService) -> None:
    service.delay(1.0)
    thread = threading.Thread(target=lambda: httpx.get(f"{service.url}/r"))
    thread.start()
    deadline = time.monotonic() + 2
    while not service.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    [record] = service.requests
    assert (record.end_time, record.status) == (None, None)
    thread.join()


def test_requests_is_a_snapshot(client: httpx.Client, service: DemoService) -> None:
    client.get("/r")
    service.requests[0].path = "/changed"
    assert service.requests[0].path == "/r"


def test_on_request_sees_each_answered_request() -> None:
    seen: list[tuple[str, str, int | None]] = []

    def log(service: DemoService, record: RecordedRequest) -> None:
        seen.append((service.name, record.path, record.status))

    with DemoService("cars", on_request=log) as svc:
        httpx.post(f"{svc.url}/rentals", json={})
    assert seen == [("cars", "/rentals", 201)]
