"""How fast the run page paints: a 50-step run's page in headless Chromium.

    python bench/bench_runpage.py [--steps 50] [--loads 15] [--screenshot docs/run-page.png]

Starts a Temporal dev server, a `saga worker`, demo services and `saga serve` (no keys
file), runs a generated saga of `--steps` steps (a DAG; its last step fails, so it
compensates) and loads its page `--loads` times, each in a fresh browser context (empty
cache). Per load, from the browser's own clocks (milliseconds since navigation start):

- first_paint, first_contentful_paint: the Paint Timing API;
- dom_content_loaded, load: the Navigation Timing API;
- graph_drawn: the page's mark once the graph is drawn (after GET /me and the graph);
- report_shown: the page's mark once the first report from the events stream is shown;
- script_ms, layout_ms, nodes: Chrome's own Performance.getMetrics (CDP).

The baseline, in the same process, is the page of a 5-step run of the same shape: the
ratios say what forty-five more steps cost. Target: first paint under 300 ms.
With `--screenshot`, also photographs a small compensating saga mid-compensation.
Figures go to bench/results/runpage.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _harness import RESULTS_DIR, command_line, median, percentile, write_results

from interpreter.dev.demo import DemoService
from interpreter.dev.devserver import DevServer, free_port

BIN = Path(sys.executable).parent
TARGET_FIRST_PAINT_MS = 300.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
FAST = {"max_attempts": 2, "initial_interval": "50ms", "backoff": 1.0, "max_interval": "50ms"}

TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paints = performance.getEntriesByType("paint");
  const paint = Object.fromEntries(paints.map(e => [e.name, e.startTime]));
  const mark = (name) => (performance.getEntriesByName(name)[0] || {}).startTime ?? null;
  return {
    first_paint: paint["first-paint"] ?? null,
    first_contentful_paint: paint["first-contentful-paint"] ?? null,
    dom_content_loaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    graph_drawn: mark("graph-drawn"),
    report_shown: mark("report-shown"),
  };
}"""


def generated(service: DemoService, count: int, seed: int = 7) -> dict[str, Any]:
    """`count` steps: each after one or two earlier steps (a DAG of some width), each
    undone by a PUT; the last one fails for good, so the run compensates."""
    rng = random.Random(seed)
    steps = []
    for i in range(count):
        step: dict[str, Any] = {
            "name": f"s{i:02d}",
            "action": {"url": f"{service.url}/s{i:02d}", "method": "POST"},
            "compensation": {"url": f"{service.url}/undo/s{i:02d}", "method": "PUT"},
        }
        if i:
            step["after"] = sorted({f"s{rng.randrange(max(0, i - 6), i):02d}"
                                    for _ in range(rng.choice((1, 1, 2)))})  # fmt: skip
        steps.append(step)
    steps.append({"name": "fail", "action": {"url": f"{service.url}/fail", "method": "POST"},
                  "after": [steps[-1]["name"]]})  # fmt: skip
    defaults = {"retry": FAST, "timeout": "5s", "compensation": {"retry": FAST}}
    return {"version": 1, "name": f"gen-{count}", "defaults": defaults, "steps": steps}


def trip(service: DemoService) -> dict[str, Any]:
    """A small trip booking for the screenshot: parallel hotel and car, payment, tickets."""

    def step(name: str, after: list[str], undo: bool = True) -> dict[str, Any]:
        action = {"url": f"{service.url}/{name}", "method": "POST"}
        data: dict[str, Any] = {"name": name, "after": after, "action": action}
        data["compensation"] = (
            {"url": f"{service.url}/undo/{name}", "method": "PUT"} if undo else "none"
        )
        return data

    steps = [step("reserve_flight", []), step("reserve_hotel", ["reserve_flight"]),
             step("reserve_car", ["reserve_flight"]),
             step("charge_card", ["reserve_hotel", "reserve_car"]),
             step("issue_tickets", ["charge_card"], undo=False)]  # fmt: skip
    defaults = {"retry": FAST, "timeout": "30s", "compensation": {"retry": FAST}}
    return {"version": 1, "name": "trip-booking", "defaults": defaults, "steps": steps,
            "description": "Reserve flight, hotel and car; charge; undo on failure."}  # fmt: skip


@contextmanager
def processes(address: str, folder: Path) -> Iterator[str]:
    """A `saga worker` and a `saga serve` on `folder`; yields the gateway's URL."""
    queue, port = f"bench-{uuid.uuid4().hex[:8]}", free_port()
    log = open(folder.parent / "processes.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen([BIN / "saga", "worker", "--address", address,
                               "--task-queue", queue], stdout=log, stderr=log)  # fmt: skip
    gateway = subprocess.Popen([BIN / "saga", "serve", "--sagas", str(folder), "--port",
                                str(port), "--address", address, "--task-queue", queue],
                               stdout=log, stderr=log)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("Error: the gateway never became ready")
        yield url
    finally:
        for process in (gateway, worker):
            process.terminate()
            process.wait(30)
        log.close()


def run_to_end(url: str, saga: str) -> str:
    with httpx.Client(base_url=url, timeout=90) as http:
        run_id = str(http.post(f"/sagas/{saga}/runs").json()["id"])
        while http.get(f"/runs/{run_id}/result", params={"wait": "30s"}).status_code != 200:
            pass
    return run_id


def load_page(browser: Any, url: str) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url)
    page.wait_for_selector("#saga-status[data-status]")  # the first report is shown
    figures = dict(page.evaluate(TIMINGS))
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    figures["script_ms"] = metrics["ScriptDuration"] * 1000
    figures["layout_ms"] = metrics["LayoutDuration"] * 1000
    figures["nodes"] = metrics["Nodes"]
    context.close()
    return figures


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    keys = samples[0].keys()
    return {
        key: {"median": round(median([s[key] for s in samples]), 1),
              "p90": round(percentile([s[key] for s in samples], 90), 1)}
        for key in keys
    }  # fmt: skip


def measure(browser: Any, url: str, loads: int) -> dict[str, Any]:
    load_page(browser, url)  # warm the gateway and the worker, not the browser
    return summarise([load_page(browser, url) for _ in range(loads)])


def screenshot(browser: Any, url: str, service: DemoService, path: Path) -> None:
    """The trip saga caught compensating: the payment undone, hotel and car undoing."""
    service.fail("POST", "/issue_tickets", status=409, times=None, delay=1.0,
                 body={"error": "no seats left on flight LH123"})  # fmt: skip
    service.delay(600.0, "PUT", "/undo/reserve_hotel", times=1)
    service.delay(600.0, "PUT", "/undo/reserve_car", times=1)
    with httpx.Client(base_url=url, timeout=90) as http:
        run_id = http.post("/sagas/trip-booking/runs", headers={"Idempotency-Key": "trip-0042"})
        run_id.raise_for_status()
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/ui/runs/trip-0042")
    page.wait_for_selector('g.step[data-step="reserve_car"][data-status="COMPENSATING"]')
    page.wait_for_selector('g.step[data-step="charge_card"][data-status="COMPENSATED"]')
    page.screenshot(path=str(path), full_page=True)
    context.close()
    print(f"screenshot written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--screenshot-only", action="store_true", help="measure nothing")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Error: no Chromium at {CHROMIUM}; install Debian's `chromium`")
    from playwright.sync_api import sync_playwright

    server = DevServer(port=0, ui_port=None)
    asyncio.run(server.start())
    try:
        with DemoService("bench") as service, tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "sagas"
            folder.mkdir()
            service.fail("POST", "/fail", status=400, times=None)
            for count in (args.steps, 5):
                (folder / f"gen-{count}.json").write_text(json.dumps(generated(service, count)))
            (folder / "trip-booking.json").write_text(json.dumps(trip(service)))
            with processes(server.address, folder) as url, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                if args.screenshot_only:
                    screenshot(browser, url, service, args.screenshot)
                    return
                big = run_to_end(url, f"gen-{args.steps}")
                small = run_to_end(url, "gen-5")
                figures = {
                    "steps": args.steps,
                    "loads": args.loads,
                    "chromium": browser.version,
                    "big": measure(browser, f"{url}/ui/runs/{big}", args.loads),
                    "baseline_5_steps": measure(browser, f"{url}/ui/runs/{small}", args.loads),
                }
                if args.screenshot is not None:
                    screenshot(browser, url, service, args.screenshot)
                browser.close()
    finally:
        server.stop()
    first_paint = figures["big"]["first_paint"]["median"]
    figures["ratios"] = {
        key: round(figures["big"][key]["median"] / figures["baseline_5_steps"][key]["median"], 2)
        for key in ("first_paint", "graph_drawn", "report_shown", "script_ms")
    }
    figures["target_first_paint_ms"] = TARGET_FIRST_PAINT_MS
    figures["first_paint_within_target"] = first_paint < TARGET_FIRST_PAINT_MS
    print(json.dumps({k: figures[k] for k in ("big", "ratios")}, indent=1))
    write_results(RESULTS_DIR / "runpage.json", command_line(), figures)


if __name__ == "__main__":
    main()
