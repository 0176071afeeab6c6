"""`saga validate`, `saga schema` and `saga graph`: the commands that need no Temporal.

Exit codes: 0 valid, 1 invalid (errors, or warnings with --strict), 2 usage error.
Heavy modules are imported inside the handlers, so `saga validate` starts fast; this
module must never import temporalio or rich (a test checks it). Even click is loaded
only when `COMMANDS` is first read: `quick_validate` runs a plain `saga validate`
command line without it.
"""

from __future__ import annotations

import functools
import glob
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interpreter.exit_codes import ExitCode

if TYPE_CHECKING:
    import click

__all__ = ["COMMANDS", "expand_paths"]  # noqa: F822 (COMMANDS: see __getattr__)

SAGA_SUFFIXES = (".yaml", ".yml", ".json")
# Run inputs and test files kept beside their sagas (`trip.input.json`, `trip.test.yaml`) are
# not sagas: a folder walk skips them; named explicitly, a file is always checked.
INPUT_SUFFIXES = tuple(f".{kind}{suffix}" for kind in ("input", "test") for suffix in SAGA_SUFFIXES)


class UsageError(Exception):
    """A command line that names nothing usable (exit code 2)."""


_SCHEMA_HELP = """Print the JSON Schema of saga files (what editors use to complete and check
them), or with --check fail when the committed copy is stale.

An editor with the YAML language server reads the schema named on a saga file's first
line. The path there is relative to the saga file itself:

\b
  # yaml-language-server: $schema=../schemas/saga.schema.json

For saga files kept outside this repository's sagas/ folder, point that line at the
schema from where the file is, or write the schema next to your files and name it:

\b
  saga schema > saga.schema.json
  # yaml-language-server: $schema=saga.schema.json
"""


@functools.cache
def _commands() -> list[click.Command]:
    """The click commands, built on first use (`saga validate` may run without click)."""
    import click

    @click.command(
        "validate",
        short_help="check saga files",
        epilog="\b\nexit codes: 0 valid; 1 invalid (errors, or warnings with --strict); "
        "2 usage error",
    )
    @click.argument("paths", nargs=-1, required=True, metavar="PATH...")
    @click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json", "github"]),
        default="text",
        show_default=True,
        help="how to print the diagnostics",
    )
    @click.option("--input", "input_path", metavar="FILE", help="also check this input document")
    @click.option("--strict", is_flag=True, help="warnings fail too")
    @click.option("-v", "--verbose", is_flag=True, help="a summary on stderr")
    def validate_command(
        paths: tuple[str, ...],
        output_format: str,
        input_path: str | None,
        strict: bool,
        verbose: bool,
    ) -> int:
        """Check saga files (files, folders or globs) and print every problem, one per line:
        `path:line:col: severity: message`."""
        return run_validate(list(paths), output_format, input_path, strict, verbose)

    @click.command("schema", short_help="print the JSON Schema of saga files", help=_SCHEMA_HELP)
    @click.option("--check", is_flag=True, help="fail (exit 1) if the committed schema is stale")
    @click.option(
        "--path",
        type=click.Path(path_type=Path),
        help="the committed schema file to check (default: schemas/saga.schema.json)",
    )
    def schema_command(check: bool, path: Path | None) -> int:
        return run_schema(check, path)

    @click.command("graph", short_help="draw a saga's steps and compensations")
    @click.argument("file", metavar="FILE")
    @click.option(
        "--format",
        "output_format",
        type=click.Choice(["mermaid", "dot"]),
        default="mermaid",
        show_default=True,
        help="Mermaid flowchart or Graphviz DOT",
    )
    def graph_command(file: str, output_format: str) -> int:
        """Print the step graph of a saga: each step with its request and its compensation,
        and an arrow for every `after`. Exit codes: 0 drawn; 1 invalid file; 2 no such file."""
        return run_graph(file, output_format)

    return [validate_command, schema_command, graph_command]


def __getattr__(name: str) -> Any:
    if name == "COMMANDS":
        return _commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FORMATS = ("text", "json", "github")


def quick_validate(args: list[str]) -> int | None:
    """`saga validate ARGS` without click, when ARGS are only paths, `--format` (one of
    its choices), `--input FILE`, `--strict` and `-v`/`--verbose`, written the way click
    reads them (the last of a repeated option wins). None for anything else (`--help`,
    `--`, an unknown option, a missing value, no path): click then runs the command
    line and says what is wrong with it, exactly as always."""
    paths: list[str] = []
    options: dict[str, str] = {"--format": "text"}
    strict = verbose = False
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-"):
            paths.append(arg)
        elif arg == "--strict":
            strict = True
        elif arg in ("-v", "--verbose"):
            verbose = True
        elif arg.split("=", 1)[0] in ("--format", "--input"):
            name, equals, value = arg.partition("=")
            if not equals:
                value = next(rest, "-")  # none left: "-" sends it to click below
            if value.startswith("-") or not value:
                return None
            options[name] = value
        else:
            return None
    if not paths or options["--format"] not in _FORMATS:
        return None
    return int(run_validate(paths, options["--format"], options.get("--input"), strict, verbose))


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


def run_validate(
    paths: list[str], output_format: str, input_path: str | None, strict: bool, verbose: bool
) -> int:
    from dsl import load_and_check
    from interpreter.cli._reporters import REPORTERS, FileReport

    try:
        files = expand_paths(paths)
    except UsageError as error:
        return _usage(str(error))
    if input_path is None:
        from interpreter.cli._parallel import check_files, parallel_jobs

        checked = check_files(files, parallel_jobs(len(files)))
        reports = [FileReport(path, diagnostics) for path, diagnostics in checked]
    else:  # the valid sagas are needed here, to check the input against
        from interpreter.cli._parallel import started_up

        results = [load_and_check(path) for path in files[:1]]
        started_up()
        results += [load_and_check(path) for path in files[1:]]
        reports = [FileReport(r.path, r.diagnostics) for r in results]
        reports += _input_reports(input_path, [r.saga for r in results if r.ok])
    REPORTERS[output_format](reports, sys.stdout, verbose)
    failing = [d for r in reports for d in r.diagnostics if d.is_error or strict]
    return ExitCode.INVALID if failing else ExitCode.OK


def _input_reports(path: str, sagas: list[Any]) -> list[Any]:
    from dsl import load_input, validate_input
    from interpreter.cli._reporters import FileReport

    document, problems = load_input(path)
    if document is not None:
        for saga in sagas:
            problems += validate_input(saga, document.data, path, document)
    return [FileReport(path, sorted(set(problems)))]


def run_schema(check: bool, path: Path | None) -> int:
    from dsl import default_schema_path, schema_text, stale_schema_message

    if not check:
        sys.stdout.write(schema_text())
        return ExitCode.OK
    problem = stale_schema_message(path or default_schema_path())
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
        return ExitCode.INVALID
    return ExitCode.OK


def run_graph(file: str, output_format: str) -> int:
    from dsl import load_and_check, render_graph

    if not Path(file).is_file():
        return _usage(f"no such file: {file!r}")
    result = load_and_check(file)
    if not result.ok or result.saga is None:
        for diagnostic in result.diagnostics:
            print(diagnostic, file=sys.stderr)
        return ExitCode.INVALID
    sys.stdout.write(render_graph(result.saga, output_format))
    return ExitCode.OK
