"""The run page in a real browser: Debian's Chromium driven by Playwright, against the
gateway's own fixtures (a dev server, a `saga worker`, a `saga serve` per test).

The gateway fixtures are those of tests/gateway, imported from its conftest. Nothing is
downloaded: without the system's Chromium the browser tests skip and say why.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..gateway.conftest import (
    FAST,
    READ_KEY,
    WRITE_KEY,
    Gateway,
    GatewayFactory,
    definition,
    dev_server,
    gateway_factory,
    no_temporal_env,
    service,
    step,
    task_queue,
)

__all__ = [
    "CHROMIUM",
    "FAST",
    "READ_KEY",
    "WRITE_KEY",
    "Gateway",
    "GatewayFactory",
    "browser",
    "definition",
    "dev_server",
    "eventually",
    "gateway_factory",
    "no_temporal_env",
    "page",
    "service",
    "step",
    "task_queue",
]

CHROMIUM = os.environ.get("SAGA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The system's Chromium; the tests that need it skip when it is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's `chromium` package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage), failing the test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def eventually(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """The first truthy answer of `check`, polled; fails naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")
