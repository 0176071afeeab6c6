"""The worker side, outside the sandbox: the generic worker and its HTTP activity.

_worker.py    build_worker / run_worker: one workflow for every saga, one activity
_activity.py  the HTTP activity (httpx): one call of one step, as the workflow rendered it
_secrets.py   `{secret: NAME}` resolved at request time; values scrubbed from all output
_replay.py    recorded histories replayed on this version: does it decide as the runs did?
"""

from __future__ import annotations

from interpreter.worker._activity import MAX_BODY_BYTES, HttpActivity, service_url_variable
from interpreter.worker._replay import (
    NotAHistory,
    ReplayOutcome,
    history_files,
    load_history,
    replay,
    server_histories,
)
from interpreter.worker._secrets import MissingSecret, SecretSource
from interpreter.worker._worker import GRACEFUL_SHUTDOWN, build_worker, run_worker, workflow_runner

__all__ = [
    "GRACEFUL_SHUTDOWN",
    "MAX_BODY_BYTES",
    "HttpActivity",
    "MissingSecret",
    "NotAHistory",
    "ReplayOutcome",
    "SecretSource",
    "build_worker",
    "history_files",
    "load_history",
    "replay",
    "run_worker",
    "server_histories",
    "service_url_variable",
    "workflow_runner",
]
