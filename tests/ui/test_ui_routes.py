"""What the run page stands on, without a browser: the pages and their assets need no
key and ship in the wheel; GET /runs/{id}/graph gives the run's own definition, layered."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import httpx

from dsl import Saga
from interpreter.dev.demo import DemoService
from interpreter.gateway._ui import ASSETS, run_graph

from .conftest import READ_KEY, GatewayFactory, definition, step

ROOT = Path(__file__).resolve().parents[2]


def saga(steps: list[dict[str, Any]]) -> Saga:
    return Saga.model_validate({"version": 1, "name": "s", "steps": steps})


def plain(name: str, **keys: Any) -> dict[str, Any]:
    return {"name": name, "action": {"url": "http://h/x", "method": "GET"}, **keys}


def layers(graph: dict[str, Any]) -> dict[str, int]:
    return {s["name"]: s["layer"] for s in graph["steps"]}


def test_a_sequence_has_one_layer_per_step() -> None:
    graph = run_graph("id", saga([plain("a"), plain("b"), plain("c")]))
    assert layers(graph) == {"a": 0, "b": 1, "c": 2}
    assert [s["after"] for s in graph["steps"]] == [[], ["a"], ["b"]]


def test_a_step_is_one_layer_below_its_deepest_dependency() -> None:
    steps = [plain("a"), plain("b", after=["a"]), plain("c", after=["a"]), plain("d", after=["b"]),
             plain("e", after=["c", "d"]), plain("f", after=[])]  # fmt: skip
    assert layers(run_graph("id", saga(steps))) == {
        "a": 0, "b": 1, "c": 1, "d": 2, "e": 3, "f": 0}  # fmt: skip


def test_after_may_name_a_step_listed_later() -> None:
    steps = [plain("late", after=["early"]), plain("early", after=[])]
    assert layers(run_graph("id", saga(steps))) == {"late": 1, "early": 0}


def test_compensation_pivot_and_when_are_marked() -> None:
    undo = {"url": "http://h/undo", "method": "DELETE"}
    steps = [plain("a", compensation=undo), plain("b", compensation="none", pivot=True),
             plain("c", when="${ true }")]  # fmt: skip
    graph = run_graph("i", saga(steps))
    marks = [(s["compensation"], s["pivot"], s["when"]) for s in graph["steps"]]
    assert marks == [(True, False, False), (False, True, False), (False, False, True)]


def test_the_pages_and_their_assets_need_no_key_and_come_from_the_gateway(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway = gateway_factory(keys=True)
    gateway.start()
    with httpx.Client(base_url=gateway.url) as http:
        for path in ("/ui", "/ui/runs/any-id", "/ui/runs/with%2Fslash"):
            page = http.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith(
                "text/html"
            ), path
            assert "default-src 'self'" in page.headers["content-security-policy"]
            assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
            assert all(url.startswith("/ui") for url in assets)
            for url in assets:
                assert http.get(url).status_code == 200, url
        script = http.get("/ui/assets/run.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert http.get("/runs/x/graph").status_code == 401  # the data needs a key
        assert http.get("/ui/nope").headers["content-type"] == "application/problem+json"


def test_every_asset_is_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["interpreter.gateway"]
    files = [p.name for p in ASSETS.iterdir() if p.is_file()]
    assert {"index.html", "run.html", "ui.css", "ui.js", "run.js"} <= set(files)
    assert all(any(fnmatch(f"ui/{name}", g) for g in globs) for name in files), files


def test_the_graph_of_a_run_is_the_definition_it_started_with(
    gateway_factory: GatewayFactory, service: DemoService
) -> None:
    gateway = gateway_factory(keys=True)
    gateway.write(definition("pair", [step(service, "a"), step(service, "b")]))
    gateway.start()
    with gateway.client() as http:
        run_id = http.post("/sagas/pair/runs").json()["id"]
    gateway.wait_for_end(run_id)
    gateway.write(definition("pair", [step(service, "z")]))  # edited since
    with gateway.client(READ_KEY) as http:
        graph = http.get(f"/runs/{run_id}/graph")
        missing = http.get("/runs/no-such-run/graph")
    assert graph.status_code == 200
    assert graph.json() == {
        "saga_id": run_id,
        "saga": "pair",
        "steps": [
            {"name": "a", "after": [], "layer": 0, "compensation": True, "pivot": False,
             "when": False},
            {"name": "b", "after": ["a"], "layer": 1, "compensation": True, "pivot": False,
             "when": False},
        ],
    }  # fmt: skip
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
