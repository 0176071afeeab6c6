"""Where a worker's CPU goes: py-spy's folded stacks, sorted into categories.

py-spy samples only the thread holding the GIL (`--gil`), 200 times a second; a sample
counts once, in the first category whose tests its stack passes, and once for each of
the project's modules it passes through (inclusive shares).
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import _harness as h

SPY_OPTIONS = ["--format", "raw", "--rate", "200", "--gil", "--nonblocking"]


def spy_on(pid: int, folded: Path) -> subprocess.Popen[bytes]:
    """py-spy recording a running process until `stop()`."""
    command = [h.binary("py-spy"), "record", "--pid", str(pid), *SPY_OPTIONS]
    return subprocess.Popen(
        [*command, "--output", str(folded)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    spy.wait(timeout=60)


def spy_command(folded: Path) -> list[str]:
    """A prefix that runs a command under py-spy."""
    return [h.binary("py-spy"), "record", *SPY_OPTIONS, "--output", str(folded), "--"]


PROFILE_CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("sandbox: compile workflow module source", ("source_to_code",)),
    ("sandbox: re-import workflow module", ("_runner.py", "Importer._import")),
    ("workflow code: interpreter/workflow/", ("interpreter/workflow/",)),
    ("workflow code: hand-written", ("HandWrittenTrip.",)),
    ("workflow code: SDK only", ("_WorkflowInstanceImpl.activate",)),
    ("sandbox: other", ("workflow_sandbox/",)),
    ("activity: heartbeats", ("record_activity_heartbeat",)),
    # The SDK's activity task, and the DSL's request, which runs in a task of its own
    # (its stack starts at the event loop, not at the SDK's activity code).
    ("activity: HTTP call", ("temporalio/worker/_activity.py",)),
    ("activity: HTTP call", ("interpreter/worker/_activity.py",)),
    ("SDK bridge: polls and completions", ("temporalio/bridge/",)),
    ("payload conversion", ("temporalio/converter/",)),
    ("asyncio event loop", ("asyncio/",)),
]
"""A sample counts in the first category whose tests all pass (a name may repeat)."""
# Inclusive shares of the project's own code, whatever category holds it.
PROFILE_MODULES = (
    "interpreter/workflow/",
    "interpreter/worker/_activity.py",
    "dsl/",
    "pydantic",
    "jsonschema",
    "httpx",
)


TOP_FUNCTIONS = 40
"""How many functions `profile_shares` lists by their inclusive share."""

_LINE = re.compile(r":\d+\)$")


def profile_shares(folded: Path) -> dict[str, Any]:
    """Shares of the samples per category (exclusive), per module (inclusive), and the
    functions with the largest inclusive shares (a function on a sample's stack, however
    deep: where a category hides one costly call, this shows it)."""
    total = 0
    categories = dict.fromkeys([name for name, _ in PROFILE_CATEGORIES] + ["other"], 0)
    modules = dict.fromkeys(PROFILE_MODULES, 0)
    functions: Counter[str] = Counter()
    for line in folded.read_text().splitlines():
        stack, _, text = line.rpartition(" ")
        count = int(text)
        total += count
        for function in {_LINE.sub(")", frame) for frame in stack.split(";")}:
            functions[function] += count
        name = next(
            (n for n, tests in PROFILE_CATEGORIES if all(t in stack for t in tests)), "other"
        )
        categories[name] += count
        for module in PROFILE_MODULES:
            modules[module] += count if module in stack else 0

    def share(count: int) -> float:
        return round(count / total, 3) if total else 0.0

    return {
        "samples": total,
        "categories": {k: share(v) for k, v in categories.items() if v},
        "modules_inclusive": {k: share(v) for k, v in modules.items() if v},
        "functions_inclusive": dict(
            [
                (name, share(count))
                for name, count in functions.most_common()
                if count < 0.5 * total  # not the event loop's and threads' own frames
            ][:TOP_FUNCTIONS]
        ),
    }
