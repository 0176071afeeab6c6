"""Hostile run inputs: `saga run --input` refuses what breaks the saga's `input` schema,
with diagnostics, before it contacts anything.

`saga run` is pointed at a tripwire: a TCP listener that counts connections and closes
them. An input that breaks the schema must end with exit code 1 and leave the tripwire
untouched, so no workflow can have started and no HTTP request can have been sent.
The oracle parses on its own: strict JSON inline (RFC 8259: no NaN, no Infinity), YAML
1.2 from a file (`@FILE` may hold either), then the JSON Schema validator.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from dsl._diagnostics import InvalidSaga
from interpreter.cli import main
from interpreter.client._prepare import parse_input, prepare

from .strategies import json_values

EXAMPLES = int(os.environ.get("SAGA_FUZZ_EXAMPLES", "120"))
# The suite draws the same examples on every run, so a red build means a change broke
# something; SAGA_FUZZ_RANDOM=1 (with more examples) is the bug hunt.
DERANDOMIZE = os.environ.get("SAGA_FUZZ_RANDOM") != "1"
SCHEMA = {
    "type": "object",
    "required": ["order", "amount"],
    "additionalProperties": False,
    "properties": {
        "order": {"type": "string", "pattern": "^[a-z0-9-]{1,20}$"},
        "amount": {"type": "integer", "minimum": 1, "maximum": 1000000},
        "ratio": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
}
SAGA = {
    "version": 1,
    "name": "input-fuzz",
    "input": SCHEMA,
    "steps": [
        {
            "name": "send",
            "action": {"url": "http://127.0.0.1:9/orders", "method": "POST", "json": "${ input }"},
            "compensation": "none",
        }
    ],
}


class Tripwire:
    """A TCP listener that counts the connections made to it and closes each at once."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self._socket.accept()
                self.connections += 1
                connection.close()

    def close(self) -> None:
        self._socket.close()


@pytest.fixture(scope="module")
def tripwire() -> Iterator[Tripwire]:
    wire = Tripwire()
    yield wire
    wire.close()


@pytest.fixture(scope="module")
def saga_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("input-fuzz") / "saga.json"
    path.write_text(json.dumps(SAGA))
    return path


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_surrogate(item) for item in value)


def _parse(text: str, from_file: bool) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError:
        if not from_file:
            raise
    return YAML(typ="safe", pure=True).load(text)


def oracle(text: str, from_file: bool) -> bool | None:
    """Whether `saga run` must let the input through: strict JSON (RFC 8259: no NaN, no
    Infinity), or YAML 1.2 from a file (`@FILE` may hold either), then the JSON Schema.

    None: either answer is right today. A lone surrogate may be taken or refused; an
    escaped surrogate pair in a file is valid JSON that the loader refuses (the issue
    pinned by test_a_json_file_with_an_escaped_emoji_is_valid).
    """
    if from_file and SURROGATE_ESCAPE.search(text):
        return None
    try:
        value = _parse(text, from_file)
    except Exception:  # any parse error at all means: refuse
        return False
    if _has_surrogate(value):
        return None
    return bool(Draft202012Validator(SCHEMA).is_valid(value))


def run_in_process(arguments: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(arguments)
    return code, out.getvalue() + err.getvalue()


near_valid = st.fixed_dictionaries(
    {
        # Mostly plausible values, so that a good share of inputs are valid.
        "order": st.one_of(st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), json_values),
        "amount": st.one_of(st.integers(1, 1_000_000), st.integers(-10, 2_000_000), json_values),
    },
    optional={
        "ratio": st.one_of(st.floats(allow_nan=False, allow_infinity=False), json_values),
        "tags": st.lists(st.text(max_size=5), max_size=4),
    },
)
input_texts = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    near_valid.map(json.dumps),
    near_valid.map(lambda value: {**value, "extra": 1}).map(json.dumps),
)
fuzz = settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=timedelta(seconds=3),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@fuzz
@given(text=input_texts, from_file=st.booleans())
def test_saga_run_refuses_inputs_that_break_the_schema_before_contacting_anything(
    text: str, from_file: bool, saga_file: Path, tripwire: Tripwire, tmp_path: Path
) -> None:
    argument = text
    if from_file:
        source = tmp_path / "input.json"
        source.write_text(text, encoding="utf-8", errors="surrogatepass")
        argument = f"@{source}"
    accepted = oracle(text, from_file)
    event({True: "schema-valid input", False: "refused input", None: "either"}[accepted])
    if accepted is None:
        return
    if accepted:
        prepared = prepare(str(saga_file), parse_input(argument))
        assert Draft202012Validator(SCHEMA).is_valid(prepared.input)
        return
    before = tripwire.connections
    # `--input=VALUE`: a value that starts with "-" would otherwise read as an option.
    code, printed = run_in_process(
        ["run", str(saga_file), f"--input={argument}", "--address", tripwire.address]
    )
    assert code == 1, printed
    assert tripwire.connections == before
    assert "Traceback" not in printed
    assert all(": error: " in line or line.startswith("Error:") for line in printed.splitlines())


def saga_run(saga_file: Path, argument: str, address: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "interpreter.cli", "run", str(saga_file), "--input", argument]
    return subprocess.run([*argv, "--address", address], capture_output=True, text=True, timeout=60)


def test_a_valid_input_does_reach_temporal(saga_file: Path, tripwire: Tripwire) -> None:
    """The control: without it, a `saga run` that refused everything would pass above."""
    before = tripwire.connections
    done = saga_run(saga_file, '{"order": "a-1", "amount": 5}', tripwire.address)
    assert done.returncode == 5, done.stderr
    assert tripwire.connections > before


DEEP = "[" * 20_000 + "]" * 20_000
LONG_NUMBER = '{"order": "a", "amount": ' + "9" * 5000 + "}"
NAN = '{"order": "a", "amount": 1, "ratio": NaN}'
INFINITY = '{"order": "a", "amount": 1, "ratio": 1e999}'


@pytest.mark.parametrize(
    ("text", "inline"),
    [
        pytest.param(DEEP, False, id="deep-file"),
        pytest.param(LONG_NUMBER, False, id="long-number-file"),
        pytest.param(NAN, False, id="nan-file"),
        pytest.param(INFINITY, False, id="infinity-file"),
        pytest.param(DEEP, True, id="deep-inline"),
        pytest.param(LONG_NUMBER, True, id="long-number-inline"),
        pytest.param(NAN, True, id="nan-inline"),
        pytest.param(INFINITY, True, id="infinity-inline"),
    ],
)
def test_hostile_json_inputs_are_refused_cleanly(
    text: str, inline: bool, saga_file: Path, tripwire: Tripwire, tmp_path: Path
) -> None:
    argument = text
    if not inline:
        source = tmp_path / "input.json"
        source.write_text(text)
        argument = f"@{source}"
    before = tripwire.connections
    done = saga_run(saga_file, argument, tripwire.address)
    assert (done.returncode, "Traceback" in done.stderr) == (1, False), done.stderr[-2000:]
    assert tripwire.connections == before


def test_refusals_point_at_the_offending_value(saga_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text('{\n  "order": "a",\n  "amount": -3\n}\n')
    with pytest.raises(InvalidSaga) as refused:
        prepare(str(saga_file), parse_input(f"@{source}"))
    lines = [(d.line, d.column) for d in refused.value.diagnostics]
    assert lines and lines[0][0] == 3, [str(d) for d in refused.value.diagnostics]
