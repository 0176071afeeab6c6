"""`saga validate`, `saga schema` and `saga graph`: the commands that need no Temporal.

Exit codes: 0 valid, 1 invalid (errors, or warnings with --strict), 2 usage error.
Heavy modules are imported inside the handlers, so `saga validate` starts fast.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path
from typing import Any

from interpreter.exit_codes import ExitCode

__all__ = ["expand_paths", "register"]

SAGA_SUFFIXES = (".yaml", ".yml", ".json")
# Run inputs and test files kept beside their sagas (`trip.input.json`, `trip.test.yaml`) are
# not sagas: a folder walk skips them; named explicitly, a file is always checked.
INPUT_SUFFIXES = tuple(f".{kind}{suffix}" for kind in ("input", "test") for suffix in SAGA_SUFFIXES)


class UsageError(Exception):
    """A command line that names nothing usable (exit code 2)."""


def register(subparsers: Any) -> None:
    """Add validate, schema and graph to the `saga` parser."""
    validate = subparsers.add_parser(
        "validate", help="check saga files", description="Check saga files; print every problem."
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs")
    validate.add_argument("--format", choices=("text", "json", "github"), default="text")
    validate.add_argument("--input", metavar="FILE", help="also check this input document")
    validate.add_argument("--strict", action="store_true", help="warnings fail too")
    validate.add_argument("-v", "--verbose", action="store_true", help="summary on stderr")
    validate.set_defaults(handler=run_validate)

    schema = subparsers.add_parser(
        "schema", help="print the JSON Schema of saga files", description="Print the schema."
    )
    schema.add_argument("--check", action="store_true", help="fail if the file is stale")
    schema.add_argument("--path", type=Path, help="the committed schema file to check")
    schema.set_defaults(handler=run_schema)

    graph = subparsers.add_parser(
        "graph", help="draw a saga's steps", description="Print the step graph of a saga."
    )
    graph.add_argument("file", metavar="FILE")
    graph.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    graph.set_defaults(handler=run_graph)


def _usage(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return ExitCode.USAGE


def expand_paths(arguments: list[str]) -> list[Path]:
    """Files as given, folders searched recursively for saga files, globs expanded."""
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files = _saga_files(path)
            if not files:
                raise UsageError(f"no saga files (*.yaml, *.yml, *.json) in {argument!r}")
            found += files
        elif path.exists():
            found.append(path)
        elif glob.has_magic(argument):
            found += _glob(argument)
        else:
            raise UsageError(f"no such file or folder: {argument!r}")
    return list(dict.fromkeys(found))


def _glob(pattern: str) -> list[Path]:
    matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
    files = [f for m in matches for f in (_saga_files(m) if m.is_dir() else [m])]
    if not files:
        raise UsageError(f"nothing matches {pattern!r}")
    return files


def _saga_files(folder: Path) -> list[Path]:
    """Saga files under `folder`, skipping input documents and hidden folders (.git, .venv)."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix in SAGA_SUFFIXES
        and not path.name.endswith(INPUT_SUFFIXES)
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts[:-1])
    )


def run_validate(args: argparse.Namespace) -> int:
    from dsl import load_and_check
    from interpreter.cli._reporters import REPORTERS, FileReport

    try:
        files = expand_paths(args.paths)
    except UsageError as error:
        return _usage(str(error))
    results = [load_and_check(path) for path in files]
    reports = [FileReport(r.path, r.diagnostics) for r in results]
    if args.input is not None:
        reports += _input_reports(args.input, [r.saga for r in results if r.ok])
    REPORTERS[args.format](reports, sys.stdout, args.verbose)
    failing = [d for r in reports for d in r.diagnostics if d.is_error or args.strict]
    return ExitCode.INVALID if failing else ExitCode.OK


def _input_reports(path: str, sagas: list[Any]) -> list[Any]:
    from dsl import load_input, validate_input
    from interpreter.cli._reporters import FileReport

    document, problems = load_input(path)
    if document is not None:
        for saga in sagas:
            problems += validate_input(saga, document.data, path, document)
    return [FileReport(path, sorted(set(problems)))]


def run_schema(args: argparse.Namespace) -> int:
    from dsl import default_schema_path, schema_text, stale_schema_message

    if not args.check:
        sys.stdout.write(schema_text())
        return ExitCode.OK
    path = args.path or default_schema_path()
    problem = stale_schema_message(path)
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
        return ExitCode.INVALID
    return ExitCode.OK


def run_graph(args: argparse.Namespace) -> int:
    from dsl import load_and_check, render_graph

    if not Path(args.file).is_file():
        return _usage(f"no such file: {args.file!r}")
    result = load_and_check(args.file)
    if not result.ok or result.saga is None:
        for diagnostic in result.diagnostics:
            print(diagnostic, file=sys.stderr)
        return ExitCode.INVALID
    sys.stdout.write(render_graph(result.saga, args.format))
    return ExitCode.OK
