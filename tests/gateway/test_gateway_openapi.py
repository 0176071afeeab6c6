"""The OpenAPI document comes from the catalogue, /docs works offline, and schemathesis
finds no server error and no answer that breaks the document."""

from __future__ import annotations

import re

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from interpreter.dev.demo import DemoService

from .conftest import ORDER_INPUT, WRITE_KEY, Gateway, GatewayFactory, definition, step

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_each_saga_has_its_own_start_endpoint_with_its_input_schema(gateway: Gateway) -> None:
    with gateway.client() as http:
        document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operation = document["paths"]["/sagas/order/runs"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"][ref.rsplit("/", 1)[1]] == ORDER_INPUT
    assert "/sagas/broken/runs" not in document["paths"]  # an invalid saga cannot start
    problem = operation["responses"]["422"]["content"]
    assert list(problem) == ["application/problem+json"]


def test_the_document_follows_the_catalogue(gateway: Gateway, service: DemoService) -> None:
    gateway.write(definition("later", [step(service, "a")]))
    with gateway.client() as http:
        assert "/sagas/later/runs" in http.get("/openapi.json").json()["paths"]


def test_docs_are_served_without_any_other_host(gateway: Gateway) -> None:
    with gateway.client() as http:
        page = http.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assert assets and all(url.startswith("/") for url in assets)
        for url in assets:
            assert http.get(url).status_code == 200, url


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway = gateway_factory(keys=True)
    gateway.write(definition("order", [step(service, "a")], input=ORDER_INPUT))
    (gateway.folder / "broken.yaml").write_text("version: 1\nname: broken\nsteps: []\n")
    gateway.start()
    auth = {"Authorization": f"Bearer {WRITE_KEY}"}
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json", headers=auth)
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        _fuzz(operation, gateway.url, auth)
        tested += 1
    assert tested >= 12


def _fuzz(operation: object, url: str, auth: dict[str, str]) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    def call(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
        if case.query and "wait" in case.query:
            case.query["wait"] = "0s"  # keep each call short; waiting is tested elsewhere
        case.call_and_validate(base_url=url, headers=auth, checks=CHECKS, timeout=60)

    call()


def test_an_html_page_is_never_an_api_answer(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.url) as http:
        for answer in (http.get("/nope"), http.put("/sagas"), http.get("/runs?limit=x")):
            assert answer.headers["content-type"] == "application/problem+json"
