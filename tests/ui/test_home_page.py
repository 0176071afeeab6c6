"""The home page in a real browser: recent runs, the catalogue, and a start form built
from each saga's input schema that refuses what breaks the schema."""

from __future__ import annotations

from typing import Any

from interpreter.dev.demo import DemoService

from .conftest import Gateway, GatewayFactory, definition, eventually

INPUT = {
    "type": "object",
    "required": ["order_id", "qty", "express"],
    "properties": {
        "order_id": {"type": "string", "minLength": 2, "description": "the shop's id"},
        "qty": {"type": "integer", "minimum": 1},
        "size": {"enum": ["S", "M", "L"]},
        "express": {"type": "boolean"},
        "address": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}


def order_saga(service: DemoService) -> dict[str, Any]:
    echo = {
        "name": "place",
        "action": {"url": f"{service.url}/orders", "method": "POST", "json": "${ input }"},
        "compensation": {"url": f"{service.url}/undo/orders", "method": "PUT"},
    }
    return definition("order", [echo], input=INPUT, description="Place an order.")


def field(form: Any, pointer: str) -> Any:
    return form.locator(f'.field[data-pointer="{pointer}"]')


def error_of(form: Any, pointer: str) -> str:
    return str(field(form, pointer).locator(".error").text_content())


def open_form(gateway: Gateway, page: Any) -> Any:
    page.goto(f"{gateway.url}/ui")
    form = page.locator('article[data-saga="order"] form.start')
    form.wait_for()
    return form


def test_the_start_form_refuses_what_breaks_the_schema_then_starts_a_run(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory()
    gateway.write(order_saga(service))
    gateway.start()
    form = open_form(gateway, page)
    submit = form.get_by_role("button", name="Start order")

    submit.click()  # nothing filled in
    assert error_of(form, "/order_id") == "this field is required"
    assert error_of(form, "/qty") == "this field is required"
    assert field(form, "/order_id").locator("input").get_attribute("aria-invalid") == "true"

    form.get_by_label("order_id").fill("x")
    form.get_by_label("qty").fill("0")
    submit.click()  # refused in the browser: too short, too small
    assert "at least 2" in error_of(form, "/order_id")
    assert error_of(form, "/qty") == "must be at least 1"

    form.get_by_label("order_id").fill("o-17")
    form.get_by_label("qty").fill("3")
    form.get_by_label("tags (JSON)").fill("[1, 2]")
    submit.click()  # the browser cannot see inside the array: the gateway's 422
    form.locator(".error:has-text('does not fit')").wait_for()
    assert error_of(form, "/tags") != ""  # the gateway's errors, next to the field
    assert error_of(form, "/qty") == ""
    assert service.requests == []

    form.get_by_label("tags (JSON)").fill('["gift"]')
    form.get_by_label("size").select_option(label="M")
    form.get_by_label("express").check()
    form.get_by_label("city").fill("Lyon")
    submit.click()
    page.wait_for_url("**/ui/runs/**")
    eventually(
        lambda: page.get_attribute("#saga-status", "data-status") == "COMPLETED",
        "the started run completes",
    )
    sent = service.requests[0].json
    assert sent == {"order_id": "o-17", "qty": 3, "size": "M", "express": True,
                    "address": {"city": "Lyon"}, "tags": ["gift"]}  # fmt: skip


def test_the_home_page_lists_recent_runs_and_the_catalogue_with_an_invalid_file(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory()
    gateway.write(order_saga(service))
    (gateway.folder / "broken.yaml").write_text("version: 1\nname: broken\nsteps: []\n")
    gateway.start()
    with gateway.client() as http:
        run_id = http.post("/sagas/order/runs", json={"order_id": "o-1", "qty": 1,
                                                      "express": False}).json()["id"]  # fmt: skip
    gateway.wait_for_end(run_id)
    page.goto(f"{gateway.url}/ui")
    broken = page.locator('article[data-saga="broken"]')
    broken.locator(".diagnostics li").first.wait_for()
    assert broken.locator("form").count() == 0  # an invalid file cannot be started
    assert "Place an order." in page.inner_text('article[data-saga="order"]')

    def listed() -> bool:  # the list of runs is eventually consistent
        page.click("#refresh-runs")
        count: int = page.locator(f"#runs a:has-text('{run_id}')").count()
        return count == 1

    eventually(listed, "the run is listed")
    row = page.locator("#runs tbody tr", has=page.locator(f"a:has-text('{run_id}')"))
    assert "COMPLETED" in row.inner_text()
    assert [h.inner_text() for h in page.locator("h1:visible, h2:visible").all()] == [
        "Sagas", "Recent runs", "Catalogue"]  # fmt: skip
    page.click(f"#runs a:has-text('{run_id}')")
    page.wait_for_selector('#graph g.step[data-step="place"][data-status="SUCCEEDED"]')
