"""The catalogue: listed with diagnostics, one saga in detail, re-read while serving."""

from __future__ import annotations

from interpreter.dev.demo import DemoService

from .conftest import ORDER_INPUT, Gateway, GatewayFactory, definition, step


def names(gateway: Gateway) -> dict[str, bool]:
    with gateway.client() as http:
        answer = http.get("/sagas")
    assert answer.status_code == 200
    return {entry["name"]: entry["valid"] for entry in answer.json()}


def test_the_catalogue_lists_valid_and_invalid_files_with_their_diagnostics(
    gateway: Gateway,
) -> None:
    with gateway.client() as http:
        entries = {entry["name"]: entry for entry in http.get("/sagas").json()}
    assert entries["order"]["valid"] is True
    assert entries["order"]["input_schema"] == ORDER_INPUT
    assert entries["broken"]["valid"] is False
    diagnostic = entries["broken"]["diagnostics"][0]
    assert diagnostic["severity"] == "error" and diagnostic["line"] == 3
    assert "at least 1 item" in diagnostic["message"]


def test_one_saga_has_its_definition_and_a_mermaid_graph(gateway: Gateway) -> None:
    with gateway.client() as http:
        answer = http.get("/sagas/order")
    body = answer.json()
    assert answer.status_code == 200
    assert body["definition"]["name"] == "order"
    assert body["graph"].startswith(("flowchart", "graph"))
    assert "a" in body["graph"] and "b" in body["graph"]


def test_an_unknown_saga_is_a_404_problem(gateway: Gateway) -> None:
    with gateway.client() as http:
        answer = http.get("/sagas/nope")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:saga:problem:not-found"


def test_files_added_changed_and_broken_while_serving_are_seen_at_once(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway = gateway_factory()
    gateway.write(definition("first", [step(service, "a")]))
    gateway.start()
    assert names(gateway) == {"first": True}

    gateway.write(definition("second", [step(service, "a")]))
    assert names(gateway) == {"first": True, "second": True}

    gateway.write(definition("first", [step(service, "a")], description="now described"))
    with gateway.client() as http:
        assert http.get("/sagas/first").json()["description"] == "now described"

    path = gateway.folder / "first.json"
    path.write_text("{not json")
    assert names(gateway) == {"first": False, "second": True}
    with gateway.client() as http:
        answer = http.post("/sagas/first/runs", json={})
    assert answer.status_code == 409

    path.unlink()
    assert names(gateway) == {"second": True}


def test_an_unreadable_file_is_listed_not_fatal(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway = gateway_factory()
    (gateway.folder / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    gateway.write(definition("fine", [step(service, "a")]))
    gateway.start()
    listed = names(gateway)
    assert listed["fine"] is True
    assert listed["binary"] is False
