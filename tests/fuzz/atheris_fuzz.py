"""Coverage-guided fuzzing with atheris (libFuzzer) of the loader/validator and of run
inputs. Not part of the test suite: it runs until stopped or until -runs/-max_total_time.

    pip install -e '.[fuzz]'
    python tests/fuzz/atheris_fuzz.py validate -atheris_runs=200000 -max_total_time=300
    python tests/fuzz/atheris_fuzz.py input -max_total_time=120

The first argument picks the target; the rest go to libFuzzer. The bundled sagas and
example files are the seed corpus. A crash (an exception, or a malformed diagnostic) is
written by libFuzzer as crash-<hash> in the current folder, to be replayed with
`python tests/fuzz/atheris_fuzz.py TARGET crash-<hash>`. SAGA_FUZZ_SKIP_KNOWN=1 lets a
run go past the issues already pinned by a strict xfail in the test suite.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports(include=["dsl"]):
    # The validator imports most of its modules lazily: import them here so that they
    # are instrumented (coverage guidance) too.
    import dsl._checks
    import dsl._schema_errors  # noqa: F401
    from dsl._diagnostics import Diagnostic
    from dsl._loader import LoadError, load_text
    from dsl._validate import check_text, validate_input

ROOT = Path(__file__).resolve().parents[2]
SKIP_KNOWN = os.environ.get("SAGA_FUZZ_SKIP_KNOWN") == "1"
INPUT_SAGA = """
version: 1
name: input-target
input:
  type: object
  required: [order, amount]
  additionalProperties: false
  properties:
    order: {type: string, pattern: "^[a-z0-9-]{1,20}$"}
    amount: {type: integer, minimum: 1}
    tags: {type: array, items: {type: string}, maxItems: 3}
steps:
  - name: send
    action: {url: "http://127.0.0.1:9/orders", method: POST, json: "${ input }"}
    compensation: none
"""


# YAML counts a lone CR (and NEL, LS, PS) as a line break too, as some editors do.
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _known_multiline(message: str) -> bool:
    """A user's key with a line break quoted in a field name: the known issue pinned by
    test_a_key_with_a_line_break_keeps_its_diagnostic_on_one_line."""
    return SKIP_KNOWN and message.startswith("`") and "\n" in message.split("`")[1]


def check_diagnostics(diagnostics: list[Diagnostic], data: bytes) -> None:
    lines = len(LINE_BREAK.findall(data.decode("utf-8", "replace"))) + 2
    for diagnostic in diagnostics:
        if not (1 <= diagnostic.line <= lines and diagnostic.column >= 1):
            raise AssertionError(f"diagnostic outside the text: {diagnostic}")
        message = diagnostic.message
        if not message or ("\n" in message and not _known_multiline(message)):
            raise AssertionError(f"malformed diagnostic message: {diagnostic!r}")


def validate_target(data: bytes) -> None:
    try:
        result = check_text(data, "fuzz.yaml")
    except OverflowError:
        if SKIP_KNOWN:  # pinned by the huge-duration and huge-attempt-count xfails
            return
        raise
    check_diagnostics(result.diagnostics, data)
    if not result.ok and not result.errors:
        raise AssertionError("an invalid document without any error")


def input_target(data: bytes) -> None:
    saga = check_text(INPUT_SAGA, "saga.yaml").unwrap()
    try:
        document = load_text(data, "input.json", root="any")
    except LoadError as error:
        check_diagnostics([error.diagnostic], data)
        return
    check_diagnostics(validate_input(saga, document.data, "input.json", document), data)


TARGETS = {"validate": validate_target, "input": input_target}


def seed_corpus() -> str:
    folder = Path(tempfile.mkdtemp(prefix="saga-fuzz-corpus-"))
    sources = [*(ROOT / "sagas").glob("*.yaml"), *(ROOT / "tests" / "examples").rglob("*.yaml")]
    sources += [*(ROOT / "sagas" / "inputs").glob("*")]
    for index, source in enumerate(sources):
        if source.is_file():
            shutil.copy(source, folder / f"seed-{index}")
    return str(folder)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv[1]]
    arguments = [sys.argv[0], *sys.argv[2:]]
    if not any(not a.startswith("-") for a in sys.argv[2:]):
        arguments.append(seed_corpus())
    atheris.Setup(arguments, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
