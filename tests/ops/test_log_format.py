"""`--log-format json`: one JSON object per record, with the saga's id, step and attempt."""

from __future__ import annotations

import io
import json
import logging

import pytest

from interpreter.ops.logs import JsonFormatter, configure_logging


def record(**extra: object) -> logging.LogRecord:
    made = logging.LogRecord("temporalio.activity", logging.INFO, "f", 1, "sent", None, None)
    made.__dict__.update(extra)
    return made


def test_an_activity_record_names_saga_step_kind_and_attempt() -> None:
    details = {"workflow_id": "trip-1", "activity_id": "pay/compensation#2", "attempt": 3}
    line = json.loads(JsonFormatter().format(record(temporal_activity=details)))
    assert (line["saga_id"], line["step"], line["kind"], line["attempt"]) == (
        "trip-1",
        "pay",
        "compensation",
        3,
    )
    assert line["level"] == "INFO" and line["message"] == "sent"


def test_a_workflow_record_names_the_saga() -> None:
    line = json.loads(JsonFormatter().format(record(temporal_workflow={"workflow_id": "t-2"})))
    assert line["saga_id"] == "t-2" and line["step"] is None


def test_a_record_about_no_saga_still_has_every_key() -> None:
    line = json.loads(JsonFormatter().format(record()))
    assert {"saga_id": None, "step": None, "kind": None, "attempt": None}.items() <= line.items()


def test_an_exception_is_one_field_not_more_lines() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        failed = record(exc_info=sys.exc_info())
    text = JsonFormatter().format(failed)
    assert "\n" not in text and "RuntimeError: boom" in json.loads(text)["exception"]


def test_configure_logging_sends_json_lines_to_the_stream() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    try:
        assert configure_logging("json", stream=stream, environ={})
        logging.getLogger("saga.test").warning("hello %s", "there")
    finally:
        root.handlers[:], root.level = before
    assert json.loads(stream.getvalue())["message"] == "hello there"


def test_no_format_asked_changes_nothing() -> None:
    assert configure_logging(None, environ={}) is False


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        configure_logging(None, environ={"SAGA_LOG_FORMAT": "xml"})
