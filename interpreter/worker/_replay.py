"""Replaying recorded saga histories against the installed workflow code.

A history is what Temporal recorded of one run. Replaying it runs this version's
workflow over it, in the worker's own sandbox (`workflow_runner()`), and checks that
the code makes the same decisions the recorded run made. A history that does not
replay means workers of this version would fail the runs like it: the thing to know
before upgrading them. Histories come from files (`load_history`, the JSON that
`temporal workflow show --output json` and the Web UI download) or from the server
(`server_histories`, the newest runs of the saga workflow). `activation_cpu_times`
replays one history for what each workflow activation costs.

    NotAHistory   a file that is not the JSON history of a saga run
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.json_format import ParseError
from temporalio.client import Client, WorkflowHistory
from temporalio.common import SearchAttributeKey
from temporalio.runtime import Runtime
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from interpreter.client._runs import MEMO_SAGA_NAME
from interpreter.contract import SEARCH_ATTRIBUTE_NAME, WORKFLOW_NAME
from interpreter.worker._worker import workflow_runner
from interpreter.workflow import SagaWorkflow

__all__ = [
    "NotAHistory",
    "activation_cpu_times",
    "ReplayOutcome",
    "history_files",
    "load_history",
    "replay",
    "server_histories",
]


class NotAHistory(Exception):
    """A file that is not the JSON history of a run of the saga workflow."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.message = f"{path}: {reason}"


@dataclass(frozen=True)
class ReplayOutcome:
    """How one history replayed on this version."""

    source: str
    """The file it came from, or the saga id when it came from the server."""
    run_id: str
    error: str | None
    """None when the history replayed; else what went wrong."""
    nondeterministic: bool = False
    """The code took another decision than the recorded run (not some other failure)."""

    @property
    def ok(self) -> bool:
        return self.error is None


def history_files(paths: Iterable[str]) -> list[Path]:
    """Files as given; a folder stands for every `*.json` under it, in name order.

    Raises FileNotFoundError naming a path that is no file, or a folder without one."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(path.rglob("*.json"))
            if not files:
                raise FileNotFoundError(f"no *.json histories in the folder {str(path)!r}")
            found += files
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {str(path)!r}")
    return list(dict.fromkeys(found))


def load_history(path: Path) -> WorkflowHistory:
    """The history in a JSON file; raises NotAHistory saying what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise NotAHistory(str(path), f"cannot read it: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotAHistory(str(path), f"not JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list) or not data["events"]:
        raise NotAHistory(str(path), "not a workflow history (no list of `events`)")
    try:
        history = WorkflowHistory.from_json(path.stem, data)
    except (ParseError, ValueError, TypeError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise NotAHistory(str(path), f"not a workflow history: {message}") from None
    _check_workflow_type(str(path), history)
    return history


def _check_workflow_type(source: str, history: WorkflowHistory) -> None:
    first = history.events[0]
    if not first.HasField("workflow_execution_started_event_attributes"):
        raise NotAHistory(source, "not a workflow history: it does not start with the run's start")
    name = first.workflow_execution_started_event_attributes.workflow_type.name
    if name != WORKFLOW_NAME:
        raise NotAHistory(
            source, f"a history of workflow type {name!r}, not of sagas ({WORKFLOW_NAME!r})"
        )


async def server_histories(
    client: Client, *, saga: str | None = None, limit: int = 100, saga_attribute: bool = False
) -> AsyncIterator[tuple[str, WorkflowHistory]]:
    """(saga id, history) of the newest saga runs, at most `limit`, newest first.

    `saga` keeps only the runs of that saga: by the SagaName search attribute when the
    namespace has it (`saga_attribute`), else by the run's memo.
    """
    query = f'WorkflowType = "{WORKFLOW_NAME}"'
    if saga is not None and saga_attribute:
        query += f' AND {SEARCH_ATTRIBUTE_NAME} = "{saga}"'
    taken = 0
    async for execution in client.list_workflows(query):
        if taken >= limit:
            break
        if saga is not None and not saga_attribute:
            name = execution.typed_search_attributes.get(
                SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_NAME)
            ) or await execution.memo_value(MEMO_SAGA_NAME, "")
            if name != saga:
                continue
        taken += 1
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        yield execution.id, await handle.fetch_history()


async def replay(
    histories: AsyncIterator[tuple[str, WorkflowHistory]] | Sequence[tuple[str, WorkflowHistory]],
    *,
    runtime: Runtime | None = None,
) -> AsyncIterator[ReplayOutcome]:
    """Replay each (source, history) in order, on this version, in the worker's sandbox.

    `runtime`: the SDK runtime to replay in (its logging settings); default: the SDK's."""
    sources: dict[int, str] = {}

    async def feed() -> AsyncIterator[WorkflowHistory]:
        async for source, history in _aiter(histories):
            sources[id(history)] = source
            yield history

    replayer = Replayer(
        workflows=[SagaWorkflow], workflow_runner=workflow_runner(), runtime=runtime
    )
    async with replayer.workflow_replay_iterator(feed()) as results:
        async for result in results:
            failure = result.replay_failure
            yield ReplayOutcome(
                source=sources.pop(id(result.history), result.history.workflow_id),
                run_id=result.history.run_id,
                error=None if failure is None else _describe(failure),
                nondeterministic=isinstance(failure, NondeterminismError),
            )


async def _aiter(
    items: AsyncIterator[tuple[str, WorkflowHistory]] | Sequence[tuple[str, WorkflowHistory]],
) -> AsyncIterator[tuple[str, WorkflowHistory]]:
    if isinstance(items, Sequence):
        for item in items:
            yield item
    else:
        async for item in items:
            yield item


_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def _describe(failure: Any) -> str:
    """The failure's message on one line: the core wraps it in its own debug text."""
    text = str(failure)
    found = _CORE_MESSAGE.search(text)
    if found:
        text = found.group(1).replace('\\"', '"')
    return " ".join(text.split()) or type(failure).__name__


class _CpuTimed(ThreadPoolExecutor):
    """Runs workflow activations, keeping the CPU time of each (waits for the GIL and the
    neighbours' load are not counted: what is left is the workflow's and the SDK's code)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.times: list[float] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def timed() -> Any:
            began = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.times.append(time.thread_time() - began)

        return super().submit(timed)


async def activation_cpu_times(history: WorkflowHistory) -> list[float]:
    """CPU seconds of each workflow activation, replaying `history` in the worker's own
    sandbox: the workflow's code and the SDK's, what the SDK's deadlock detector watches,
    without the server or the neighbours' load. Raises when the history does not replay."""
    executor = _CpuTimed()
    replayer = Replayer(
        workflows=[SagaWorkflow], workflow_runner=workflow_runner(), workflow_task_executor=executor
    )
    try:
        await replayer.replay_workflow(history)
    finally:
        executor.shutdown()
    return executor.times
