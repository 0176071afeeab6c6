"""Log lines for operators: `text` (the default) or `json`, one object per line.

Temporal's workflow and activity loggers attach the run they speak for to each record
(`temporal_workflow`, `temporal_activity`); the JSON formatter lifts from it the saga
id, the step and the attempt, so every line about a saga can be found by its id::

    {"time": "2025-01-31T12:00:00.123Z", "level": "INFO", "logger": "temporalio.activity",
     "message": "POST http://flights/reservations: 201 in 12 ms", "saga_id": "trip-1a2b",
     "step": "reserve_flight", "kind": "action", "attempt": 1}

The keys `saga_id`, `step`, `kind` and `attempt` are on every line, null when the line is
not about a saga (a worker starting, say).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = [
    "LOG_FORMATS",
    "LOG_FORMAT_ENV",
    "LOG_LEVEL_ENV",
    "JsonFormatter",
    "announce",
    "configure_logging",
    "saga_fields",
]

LOG_FORMAT_ENV = "SAGA_LOG_FORMAT"
LOG_LEVEL_ENV = "SAGA_LOG_LEVEL"
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def saga_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The saga id, step, kind and attempt a record speaks for (None when it does not)."""
    fields: dict[str, Any] = {"saga_id": None, "step": None, "kind": None, "attempt": None}
    run = getattr(record, "temporal_activity", None)
    if run is None:
        run = _activity_in_progress()
    if isinstance(run, Mapping):
        # The activity id is "STEP/KIND" (a compensation's later rounds add "#N").
        step, _, kind = str(run.get("activity_id", "")).partition("/")
        fields.update(
            saga_id=run.get("workflow_id"),
            step=step or None,
            kind=kind.partition("#")[0] or None,
            attempt=run.get("attempt"),
        )
        return fields
    run = getattr(record, "temporal_workflow", None)
    if isinstance(run, Mapping):
        fields["saga_id"] = run.get("workflow_id")
    return fields


def _activity_in_progress() -> Mapping[str, Any] | None:
    """The running activity's details, for records logged inside it by other libraries."""
    from temporalio import activity

    if not activity.in_activity():
        return None
    info = activity.info()
    return {
        "workflow_id": info.workflow_id,
        "activity_id": info.activity_id,
        "attempt": info.attempt,
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the saga fields, and
    the exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
            **saga_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    # The SDK's adapters append the run's details as "({...})"; JSON has them as fields.
    for key in ("temporal_activity", "temporal_workflow"):
        details = getattr(record, key, None)
        if isinstance(details, Mapping):
            message = message.removesuffix(f" ({details})")
    return message


def configure_logging(
    log_format: str | None = None,
    *,
    level: str | int | None = None,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Send the process's logs to `stream` (stderr) in `log_format` (else SAGA_LOG_FORMAT).

    Returns False and changes nothing when neither asks for a format: the command keeps
    Python's default (warnings and errors only, as plain text).
    """
    env = os.environ if environ is None else environ
    chosen = (log_format or env.get(LOG_FORMAT_ENV, "")).strip().lower()
    if not chosen:
        return False
    if chosen not in LOG_FORMATS:
        raise ValueError(f"unknown log format {chosen!r}: use {' or '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "saga_dsl", False)]:
        root.removeHandler(old)
    handler.saga_dsl = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or env.get(LOG_LEVEL_ENV, "").upper() or logging.INFO)
    # httpx logs each request at INFO; the activity's own line says it with the verdict.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if chosen == "json":
        _json_friendly_sdk_loggers()
    return True


def announce(message: str, *, stream: TextIO | None = None, logger: str = "saga") -> None:
    """A command's own message to its operator: a log record when `--log-format json`
    is on (so every line a log shipper reads is JSON), else a line on `stream` (stderr)."""
    if any(
        isinstance(handler.formatter, JsonFormatter)
        for handler in logging.getLogger().handlers
        if getattr(handler, "saga_dsl", False)
    ):
        logging.getLogger(logger).info(message)
    else:
        print(message, file=stream or sys.stderr, flush=True)


def _json_friendly_sdk_loggers() -> None:
    """The run's details are fields of the JSON line; the SDK needn't append them."""
    from temporalio import activity, workflow

    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
