"""`saga test`: run the failure cases of sagas offline, from test files or the matrix.

    saga test PATH...                    the cases of every *.test.yaml given or found
    saga test --matrix SAGA [--input X]  every single-fault case, checked by the invariants

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
    format_: tuple[str, str] | None,
    time_limit: float,
    schema: bool,
) -> int:
    options = argparse.Namespace(
        paths=list(paths),
        matrix=matrix,
        input=input_,
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
        suites, problems = _matrix(args) if args.matrix else _files(args.paths)
    except _Usage as error:
        print(f"Error: {error}", file=sys.stderr)
        return ExitCode.USAGE
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
    except InvalidSaga as error:
        return [], error.diagnostics
    return [matrix_suite(prepared.saga, prepared.input, f"{saga_path} (matrix)")], []


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
