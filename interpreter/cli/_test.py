"""`saga test`: run the failure cases of sagas offline, from test files or the matrix.

    saga test PATH...                    the cases of every *.test.yaml given or found
    saga test --matrix SAGA [--input X]  every single-fault case, checked by the invariants
        [--signal STEP=JSON] [--reject STEP=JSON]  data for its wait steps (default: the
        `signals` and `rejections` of the saga's sibling NAME.test.yaml, if any)

Exit codes: 0 every case passed, 1 an invalid test file, saga or input, 2 usage error,
5 the time-skipping test server cannot start, 6 a case failed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import click

from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS", "TEST_SUFFIXES"]

TEST_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")


class _Usage(Exception):
    pass


class _Invalid(Exception):
    """Invalid data given on the command line (exit 1): the messages."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(messages)
        self.messages = messages


@click.command(
    "test",
    short_help="run a saga's failure cases offline",
    help="Run failure cases on simulated services and a time-skipping Temporal test server: "
    "the cases of *.test.yaml files, or every single-fault case of a saga (--matrix).",
    epilog="exit codes: 0 every case passed, 1 an invalid test file, saga or input, "
    "2 usage error, 5 the test server could not start, 6 a case failed",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--matrix", metavar="SAGA", help="run every single-fault case of SAGA")
@click.option(
    "--input", "input_", metavar="JSON|@FILE",
    help="the input for --matrix (default: SAGA's sibling NAME.input.json, if any)",
)  # fmt: skip
@click.option(
    "--signal", "signals", multiple=True, metavar="STEP=JSON|@FILE",
    help="data that answers the wait step STEP in every --matrix case (repeatable; "
    "default: `signals` of SAGA's sibling NAME.test.yaml, if any)",
)  # fmt: skip
@click.option(
    "--reject", "rejections", multiple=True, metavar="STEP=JSON|@FILE",
    help="data that makes the wait step STEP's `success` false, for --matrix's rejection "
    "case (repeatable; default: `rejections` of SAGA's sibling NAME.test.yaml, if any)",
)  # fmt: skip
@click.option(
    "--format", "format_", nargs=2, metavar="junit FILE",
    help="also write JUnit XML to FILE: --format junit FILE",
)  # fmt: skip
@click.option(
    "--time-limit", type=float, default=60.0, show_default=True, metavar="SECONDS",
    help="real seconds a case may take before it fails",
)  # fmt: skip
@click.option("--schema", is_flag=True, help="print the test files' JSON Schema")
def test_command(
    paths: tuple[str, ...],
    matrix: str | None,
    input_: str | None,
    signals: tuple[str, ...],
    rejections: tuple[str, ...],
    format_: tuple[str, str] | None,
    time_limit: float,
    schema: bool,
) -> int:
    options = argparse.Namespace(
        paths=list(paths),
        matrix=matrix,
        input=input_,
        signals=list(signals),
        rejections=list(rejections),
        format=list(format_) if format_ else None,
        time_limit=time_limit,
        schema=schema,
    )
    return run_test(options)


COMMANDS = [test_command]


def run_test(args: argparse.Namespace) -> int:
    from interpreter.testing import saga_test_schema_text

    if args.schema:
        sys.stdout.write(saga_test_schema_text())
        return ExitCode.OK
    try:
        junit = _junit_path(args.format)
        if bool(args.matrix) == bool(args.paths):
            raise _Usage("give test files or folders, or --matrix SAGA (one of the two)")
        if not args.matrix and (args.signals or args.rejections):
            raise _Usage("--signal and --reject apply to --matrix; a test file has `signals`")
        suites, problems = _matrix(args) if args.matrix else _files(args.paths)
    except _Usage as error:
        print(f"Error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except _Invalid as error:
        for message in error.messages:
            print(f"Error: {message}", file=sys.stderr)
        return ExitCode.INVALID
    if problems:
        for diagnostic in problems:
            print(diagnostic, file=sys.stderr)
        return ExitCode.INVALID
    return _run(suites, junit, args.time_limit)


def _junit_path(value: list[str] | None) -> str | None:
    if value is None:
        return None
    if len(value) != 2 or value[0] != "junit":
        raise _Usage("--format takes 'junit FILE'")
    return value[1]


def _files(paths: list[str]) -> tuple[list[Any], list[Any]]:
    from interpreter.testing import file_suite, load_test_file

    loaded = [load_test_file(path) for path in _test_files(paths)]
    problems = [d for test in loaded for d in test.diagnostics if d.is_error]
    suites = [file_suite(test) for test in loaded if test.ok]
    return suites, problems


def _test_files(arguments: list[str]) -> list[Path]:
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.name.endswith(TEST_SUFFIXES))
            if not files:
                raise _Usage(f"no test files (*.test.yaml) in {argument!r}")
            found += files
        elif path.is_file():
            found.append(path)
        else:
            raise _Usage(f"no such file or folder: {argument!r}")
    return list(dict.fromkeys(found))


def _matrix(args: argparse.Namespace) -> tuple[list[Any], list[Any]]:
    from dsl import InvalidSaga
    from interpreter.client._prepare import parse_input, prepare
    from interpreter.testing import matrix_suite

    saga_path = Path(args.matrix)
    if not saga_path.is_file():
        raise _Usage(f"no such file: {args.matrix!r}")
    text = args.input
    sibling = saga_path.with_name(saga_path.name.split(".")[0] + ".input.json")
    if text is None and sibling.is_file():
        text = f"@{sibling}"
    try:
        prepared = prepare(str(saga_path), parse_input(text))
        signals, rejections, problems = _wait_data(args, saga_path, prepared)
    except InvalidSaga as error:
        return [], error.diagnostics
    if problems:
        return [], problems
    label = f"{saga_path} (matrix)"
    return [matrix_suite(prepared.saga, prepared.input, label, signals, rejections)], []


def _wait_data(
    args: argparse.Namespace, saga_path: Path, prepared: Any
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """The data for the matrix's wait steps: the saga's sibling test file's `signals` and
    `rejections`, then --signal and --reject; and the problems found in either."""
    from interpreter.testing import load_test_file, wait_data_problems

    signals: dict[str, Any] = {}
    rejections: dict[str, Any] = {}
    test_file = _sibling_test_file(saga_path)
    if test_file is not None:
        loaded = load_test_file(test_file)
        if loaded.errors:
            return {}, {}, loaded.errors
        assert loaded.model is not None
        signals, rejections = dict(loaded.model.signals or {}), dict(loaded.model.rejections or {})
    given = _pairs("--signal", args.signals)
    refused = _pairs("--reject", args.rejections)
    problems = [f"--signal: {p}" for p in wait_data_problems(prepared.saga, given)]
    problems += [
        f"--reject: {p}"
        for p in wait_data_problems(prepared.saga, refused, rejecting=True, input=prepared.input)
    ]
    if problems:
        raise _Invalid(problems)
    return {**signals, **given}, {**rejections, **refused}, []


def _sibling_test_file(saga_path: Path) -> Path | None:
    """The saga's NAME.test.yaml (or .yml, .json) when it tests this very saga."""
    stem = saga_path.name.split(".")[0]
    for suffix in TEST_SUFFIXES:
        candidate = saga_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate if _names_saga(candidate, saga_path) else None
    return None


def _names_saga(test_file: Path, saga_path: Path) -> bool:
    from dsl import load_input

    document, _ = load_input(test_file)
    data = document.data if document is not None else None
    named = data.get("saga") if isinstance(data, dict) else None
    return isinstance(named, str) and (test_file.parent / named).resolve() == saga_path.resolve()


def _pairs(option: str, values: list[str]) -> dict[str, Any]:
    """`STEP=JSON|@FILE` values as data by step."""
    from dsl import InvalidSaga, load_input, load_input_text

    found: dict[str, Any] = {}
    for value in values:
        step, equals, text = value.partition("=")
        if not equals or not step:
            raise _Usage(f"{option} takes STEP=JSON or STEP=@FILE, not {value!r}")
        if text.startswith("@"):
            document, problems = load_input(text[1:])
        else:
            document, problems = load_input_text(text, f"{option} {step}")
        if document is None:
            raise InvalidSaga(problems)
        found[step] = document.data
    return found


def _run(suites: list[Any], junit: str | None, time_limit: float) -> int:
    from interpreter.testing import SimulatorError, run_suites, write_junit, write_table

    # A case's failures are the table's business; the SDK's log lines would only repeat them.
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    try:
        asyncio.run(run_suites(suites, time_limit))
    except SimulatorError as error:
        print(f"Error: {error}", file=sys.stderr)
        return ExitCode.UNREACHABLE
    write_table(suites, sys.stdout)
    if junit is not None:
        try:
            write_junit(suites, junit)
        except OSError as error:
            print(f"Error: cannot write {junit}: {error.strerror}", file=sys.stderr)
            return ExitCode.USAGE
    failed = any(not result.passed for suite in suites for result in suite.results)
    return ExitCode.CASE_FAILED if failed else ExitCode.OK
