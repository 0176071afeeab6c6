"""The worker side, outside the sandbox: the generic worker and its HTTP activity.

_worker.py    build_worker / run_worker: one workflow for every saga, one activity
_activity.py  the HTTP activity (httpx): one call of one step, as the workflow rendered it
_secrets.py   `{secret: NAME}` resolved at request time; values scrubbed from all output
"""

from __future__ import annotations

from interpreter.worker._activity import MAX_BODY_BYTES, HttpActivity, service_url_variable
from interpreter.worker._secrets import MissingSecret, SecretSource
from interpreter.worker._worker import GRACEFUL_SHUTDOWN, build_worker, run_worker, workflow_runner

__all__ = [
    "GRACEFUL_SHUTDOWN",
    "MAX_BODY_BYTES",
    "HttpActivity",
    "MissingSecret",
    "SecretSource",
    "build_worker",
    "run_worker",
    "service_url_variable",
    "workflow_runner",
]
