"""Hostile saga files: the validator answers every one with diagnostics, fast.

Properties checked on every generated document:
* `check_text` returns (never raises) within the deadline, for text, bytes, any JSON
  value, and valid sagas damaged at random;
* every diagnostic is one well-formed line pointing inside the text;
* a saga judged valid yields a snapshot (what the workflow receives) that is valid too;
* `saga validate` on the file exits 0 or 1 and never prints a traceback.

`SAGA_FUZZ_EXAMPLES` sets the examples per property (default 120); `SAGA_FUZZ_RANDOM=1`
draws new ones on each run instead of the same fixed set.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dsl._model import Saga
from dsl._validate import ValidationResult, check_text, definition_snapshot
from interpreter.cli import main

from .strategies import json_values, mutated_sagas

EXAMPLES = int(os.environ.get("SAGA_FUZZ_EXAMPLES", "120"))
# The suite draws the same examples on every run, so a red build means a change broke
# something; SAGA_FUZZ_RANDOM=1 (with more examples) is the bug hunt.
DERANDOMIZE = os.environ.get("SAGA_FUZZ_RANDOM") != "1"
fuzz = settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=timedelta(seconds=3),  # "no hang": one document must not take longer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# YAML counts a lone CR (and NEL, LS, PS) as a line break too, as some editors do.
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def assert_well_formed(result: ValidationResult, text: str, path: str) -> None:
    lines = len(LINE_BREAK.findall(text)) + 2
    for diagnostic in result.diagnostics:
        assert diagnostic.path == path
        assert 1 <= diagnostic.line <= lines, diagnostic
        assert diagnostic.column >= 1, diagnostic
        assert diagnostic.severity in ("error", "warning")
        assert diagnostic.message and "\n" not in diagnostic.message, diagnostic
        assert "Traceback" not in diagnostic.message
    assert result.ok or result.errors, "an invalid document needs at least one error"


def assert_snapshot_valid(result: ValidationResult) -> None:
    if not result.ok:
        return
    assert result.saga is not None
    snapshot, digest = definition_snapshot(result.saga)
    again = check_text(json.dumps(snapshot), "snapshot.json")
    assert again.ok, [str(d) for d in again.diagnostics]
    assert definition_snapshot(Saga.model_validate(snapshot))[1] == digest


@fuzz
@given(st.text(max_size=400))
@example("version: 1\nname: a\nsteps: [" * 200)
@example("a: &a [*a, *a]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\ne: [*d, *d]")
@example("!!python/object/apply:os.system ['true']")
@example("version: 1\nversion: 1\n")
@example('{"version": 1e999}')
@example("\ufeff---\n...\n---\n")
def test_any_text_gets_diagnostics_never_an_exception(text: str) -> None:
    result = check_text(text, "fuzz.yaml")
    assert_well_formed(result, text, "fuzz.yaml")


@fuzz
@given(st.binary(max_size=200))
@example(b"\xff\xfe\x00v\x00e\x00r")
@example(b"version: 1\x00\n")
def test_any_bytes_get_diagnostics_never_an_exception(data: bytes) -> None:
    result = check_text(data, "fuzz.yaml")
    text = data.decode("utf-8", "replace")
    assert_well_formed(result, text, "fuzz.yaml")


@fuzz
@given(json_values)
def test_any_json_document_gets_diagnostics(value: object) -> None:
    text = json.dumps(value)
    result = check_text(text, "fuzz.json")
    assert_well_formed(result, text, "fuzz.json")


@fuzz
@given(mutated_sagas(), st.booleans())
def test_damaged_sagas_get_diagnostics_and_valid_ones_a_valid_snapshot(
    saga: dict[str, object], indent: bool
) -> None:
    text = json.dumps(saga, indent=2 if indent else None)
    result = check_text(text, "fuzz.json")
    assert_well_formed(result, text, "fuzz.json")
    assert_snapshot_valid(result)


@settings(
    max_examples=max(EXAMPLES // 4, 10),
    derandomize=DERANDOMIZE,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(saga=mutated_sagas())
def test_saga_validate_exits_0_or_1_without_a_traceback(
    saga: dict[str, object], tmp_path: Path
) -> None:
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(saga, indent=2))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    assert code in (0, 1)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    if code == 1:
        assert f"{path}:" in out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "a:\n" + "  " * 5000 + "b: 1",
        "x: " + "9" * 5000,
        "x: " + "1" * 100_000 + ".5",
        "- " * 10_000 + "x",
        "a: &a " + "[*a]" * 3,
        "&a [" + ", ".join(["*a"] * 1000) + "]",
    ],
    ids=["deep-flow", "deep-block", "long-int", "long-float", "deep-list", "self-alias", "alias"],
)
def test_hostile_documents_are_rejected_with_diagnostics(text: str) -> None:
    result = check_text(text, "hostile.yaml")
    assert not result.ok
    assert_well_formed(result, text, "hostile.yaml")


def test_a_key_with_a_line_break_keeps_its_diagnostic_on_one_line() -> None:
    action = {"url": "http://127.0.0.1:9/x", "method": "GET", "headers": {"A\nB": None}}
    saga = {"version": 1, "name": "a", "steps": [{"name": "s", "action": action}]}
    text = json.dumps(saga)
    assert_well_formed(check_text(text, "keys.json"), text, "keys.json")


def saga_with(defaults: str, timeout: str = "") -> str:
    return (
        f"version: 1\nname: limits\n{timeout}defaults:\n  {defaults}\nsteps:\n"
        "  - name: a\n    action: {url: 'http://127.0.0.1:9/x', method: POST}\n"
        "    compensation: none\n"
    )


def test_a_duration_too_large_for_any_clock_gets_a_diagnostic() -> None:
    text = saga_with("timeout: 99999999999999999h")
    result = check_text(text, "huge.yaml")
    assert not result.ok
    assert_well_formed(result, text, "huge.yaml")


def test_a_huge_attempt_count_under_a_saga_timeout_gets_diagnostics() -> None:
    text = saga_with("retry: {max_attempts: " + "7" * 40 + "}", timeout="timeout: 1m\n")
    result = check_text(text, "huge.yaml")
    assert_well_formed(result, text, "huge.yaml")


def test_an_attempt_count_temporal_cannot_hold_is_refused() -> None:
    result = check_text(saga_with("retry: {max_attempts: 3000000000}"), "int32.yaml")
    assert not result.ok


def test_checking_a_huge_attempt_count_does_not_hang(tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(
        saga_with("retry: {max_attempts: 2000000000, backoff: 1.0}", timeout="timeout: 1m\n")
    )
    command = [sys.executable, "-m", "interpreter.cli", "validate", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("saga validate did not answer within 5 s")
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr


def test_a_json_file_with_an_escaped_emoji_is_valid() -> None:
    saga = {
        "version": 1,
        "name": "emoji",
        "description": "hello \U0001f600",
        "steps": [{"name": "a", "action": {"url": "http://127.0.0.1:9/x", "method": "GET"}}],
    }
    result = check_text(json.dumps(saga), "emoji.json")  # json.dumps escapes as \ud83d\ude00
    assert result.ok, [str(d) for d in result.diagnostics]
