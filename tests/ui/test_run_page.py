"""The run page of a run, in a real browser: its graph follows the run live, cancel and
resume buttons for a write key only, the key sent as a header and never in a URL."""

from __future__ import annotations

from typing import Any

from interpreter.dev.demo import DemoService

from .conftest import (
    READ_KEY,
    WRITE_KEY,
    Gateway,
    GatewayFactory,
    definition,
    eventually,
    step,
)

# Every status each step's node showed, in order, recorded in the page as it changes.
RECORD_STATUSES = """
window.__seen = {};
new MutationObserver((changes) => {
  for (const change of changes) {
    const node = change.target;
    if (!node.matches || !node.matches("g.step")) continue;
    const seen = (window.__seen[node.dataset.step] ||= []);
    const status = node.querySelector(".status").textContent;
    if (seen[seen.length - 1] !== status) seen.push(status);
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-status"]});
"""


def start(gateway: Gateway, saga: str, key: str | None = WRITE_KEY) -> str:
    with gateway.client(key) as http:
        answer = http.post(f"/sagas/{saga}/runs")
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


def saga_status(page: Any) -> str:
    return str(page.get_attribute("#saga-status", "data-status") or "")


def node_status(page: Any, name: str) -> str:
    return str(page.get_attribute(f'#graph g.step[data-step="{name}"]', "data-status"))


def in_order(seen: list[str], wanted: list[str]) -> bool:
    """`wanted` appears in `seen` in this order (other statuses may come between)."""
    rest = iter(seen)
    return all(any(status == item for item in rest) for status in wanted)


def test_each_node_turns_running_succeeded_then_compensated_without_a_reload(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory()
    service.delay(3.0, "POST", "/a", times=1)
    service.delay(3.0, "POST", "/b", times=1)
    service.delay(1.0, "PUT", "/undo/", times=None)
    service.fail("POST", "/c", status=400, times=None, delay=3.0)
    steps = [step(service, "a"), step(service, "b"), step(service, "c")]
    gateway.write(definition("trip", steps))
    gateway.start()
    page.add_init_script(RECORD_STATUSES)
    run_id = start(gateway, "trip")
    page.goto(f"{gateway.url}/ui/runs/{run_id}")
    page.evaluate("window.__sameDocument = true")
    eventually(lambda: saga_status(page) == "COMPENSATED", "the saga ends COMPENSATED", 120)

    seen = page.evaluate("window.__seen")
    assert page.evaluate("window.__sameDocument") is True  # never reloaded
    assert in_order(seen["a"], ["RUNNING", "SUCCEEDED", "COMPENSATING", "COMPENSATED"]), seen
    assert in_order(seen["b"], ["RUNNING", "SUCCEEDED", "COMPENSATED"]), seen
    assert in_order(seen["c"], ["RUNNING", "FAILED"]), seen
    assert page.is_hidden("#key")  # no keys file: the page never asks for one
    undo_a = page.text_content('#graph g.undo[data-undo="a"] .status')
    assert undo_a == "undone"
    rows = page.locator("#report tbody tr")
    assert rows.count() == 3
    row_c = page.locator('#report tbody tr[data-step="c"]').inner_text()
    assert "FAILED" in row_c and "400" in row_c  # the last error is in the table
    assert page.is_hidden("#cancel")  # an ended run cannot be cancelled


def test_the_graph_is_drawn_from_the_definition_with_dashed_compensations(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory()
    service.delay(30.0, "POST", "/root", times=1)
    no_undo = {"name": "log", "action": {"url": f"{service.url}/log", "method": "GET"},
               "after": ["root"]}  # fmt: skip
    steps = [step(service, "root"), step(service, "left", after=["root"]),
             step(service, "right", after=["root"]), no_undo,
             step(service, "join", after=["left", "right"])]  # fmt: skip
    gateway.write(definition("diamond", steps))
    gateway.start()
    run_id = start(gateway, "diamond")
    page.goto(f"{gateway.url}/ui/runs/{run_id}")
    page.wait_for_selector('#graph g.step[data-step="root"][data-status="RUNNING"]')

    y = {name: _box(page, f'g.step[data-step="{name}"]')["y"] for name in
         ("root", "left", "right", "log", "join")}  # fmt: skip
    assert y["root"] < y["left"] == y["right"] == y["log"] < y["join"]  # layers by depth
    assert node_status(page, "join") == "PENDING"  # drawn before it ever ran
    assert page.locator("#graph g.undo").count() == 4  # every step but `log`
    assert page.locator("#graph path.edge.forward").count() == 5
    # join->left, join->right, left->root, right->root: the forward edges reversed
    assert page.locator("#graph path.edge.undo[marker-end]").count() == 4
    dash = page.eval_on_selector(
        "#graph g.undo .box", "node => getComputedStyle(node).strokeDasharray"
    )
    assert dash not in ("", "none")
    page.click("#cancel")
    eventually(lambda: saga_status(page) == "COMPENSATED", "the cancelled saga compensates")


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(f"#graph {selector} rect.box").bounding_box()
    assert box is not None
    return dict(box)


def test_cancel_shows_the_cancel_and_the_compensation(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory()
    service.delay(30.0, "POST", "/b", times=1)
    gateway.write(definition("slow", [step(service, "a"), step(service, "b")]))
    gateway.start()
    run_id = start(gateway, "slow")
    page.goto(f"{gateway.url}/ui/runs/{run_id}")
    page.wait_for_selector('#graph g.step[data-step="b"][data-status="RUNNING"]')
    assert page.is_visible("#cancel")

    page.get_by_role("button", name="Cancel run").click()
    page.wait_for_selector("#action-message:has-text('Cancel requested')")
    eventually(lambda: saga_status(page) == "COMPENSATED", "the cancelled saga compensates")
    assert node_status(page, "a") == "COMPENSATED"
    # Cancelled on the wire, its outcome unknown: resent with its key, then undone.
    assert node_status(page, "b") == "COMPENSATED"
    assert "cancel" in page.inner_text("#summary")  # the reason
    assert page.is_hidden("#cancel")


def test_a_read_key_sees_the_run_without_any_button_and_the_key_stays_out_of_urls(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory(keys=True)
    service.delay(30.0, "POST", "/a", times=1)
    gateway.write(definition("held", [step(service, "a")]))
    gateway.start()
    run_id = start(gateway, "held")
    calls: list[tuple[str, str | None]] = []
    page.on("request", lambda r: calls.append((r.url, r.headers.get("authorization"))))
    page.goto(f"{gateway.url}/ui/runs/{run_id}")

    page.fill("#key-input", "not-a-key")
    page.click("#key-form button")
    page.wait_for_selector("#key-error:has-text('refused')")
    page.fill("#key-input", READ_KEY)
    page.click("#key-form button")
    page.wait_for_selector('#graph g.step[data-step="a"][data-status="RUNNING"]')
    assert page.inner_text("#who").startswith("viewer (read)")
    assert page.is_hidden("#actions") and page.is_hidden("#cancel")

    page.goto(f"{gateway.url}/ui")  # the same tab keeps the key: no question asked
    page.wait_for_selector(f"#runs a:has-text('{run_id}')")
    assert page.is_hidden("#key")
    assert page.locator("form.start").count() == 0  # a read key starts nothing

    api_calls = [(url, auth) for url, auth in calls if "/ui" not in url]
    assert any(url.endswith("/events") for url, _ in api_calls)
    assert all(auth == f"Bearer {READ_KEY}" for url, auth in api_calls if "/me" not in url)
    assert not any(READ_KEY in url or "not-a-key" in url for url, _ in calls)
    with gateway.client(WRITE_KEY) as http:
        assert http.post(f"/runs/{run_id}/cancel").status_code == 202


def test_a_write_key_gets_the_buttons(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory(keys=True)
    service.delay(30.0, "POST", "/a", times=1)
    gateway.write(definition("held", [step(service, "a")]))
    gateway.start()
    run_id = start(gateway, "held")
    page.goto(f"{gateway.url}/ui/runs/{run_id}")
    page.fill("#key-input", WRITE_KEY)
    page.press("#key-input", "Enter")  # the keyboard is enough
    page.wait_for_selector('#graph g.step[data-step="a"][data-status="RUNNING"]')
    assert page.inner_text("#who").startswith("ops (write)")
    page.focus("#cancel")
    page.keyboard.press("Enter")
    eventually(lambda: saga_status(page) == "COMPENSATED", "the cancelled saga compensates")


def test_a_parked_run_offers_resume_and_resumes(
    gateway_factory: GatewayFactory, service: DemoService, page: Any
) -> None:
    gateway = gateway_factory()
    service.fail("POST", "/c", status=400, times=None)
    service.fail("PUT", "/undo/b", status=409, times=1)  # not retried: it parks
    steps = [step(service, "a"), step(service, "b"), step(service, "c")]
    gateway.write(definition("parks", steps, on_compensation_failure="park"))
    gateway.start()
    run_id = start(gateway, "parks")
    page.goto(f"{gateway.url}/ui/runs/{run_id}")
    eventually(lambda: saga_status(page) == "PARKED", "the saga parks")
    assert node_status(page, "b") == "COMPENSATION_FAILED"
    assert page.text_content('#graph g.undo[data-undo="b"] .status') == "failed"
    assert page.is_hidden("#cancel")
    assert page.locator("#skip-step option").all_inner_texts() == ["b"]

    page.get_by_role("button", name="Resume: retry failed compensations").click()
    eventually(lambda: saga_status(page) == "COMPENSATED", "the resumed saga compensates")
    assert node_status(page, "b") == "COMPENSATED"
    assert page.is_hidden("#resume")
