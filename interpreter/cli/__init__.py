"""The `saga` command line, built with click: one module per group of commands.

`COMMAND_MODULES` says which module defines which commands. A module is imported only
when one of its commands runs (or for `saga --help`), so `saga validate` never imports
Temporal or rich and starts fast. To add a group of commands, write a module whose
`COMMANDS` lists its `click.Command`s and add one line here.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from interpreter.exit_codes import ExitCode

__all__ = ["COMMAND_MODULES", "main", "run"]

COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "interpreter.cli._validate": ("validate", "schema", "graph"),
    "interpreter.cli._runs": ("run", "status", "result", "cancel", "list", "resume"),
    "interpreter.cli._signal": ("signal",),
    "interpreter.cli._worker": ("worker", "dev"),
    "interpreter.cli._replay": ("replay",),
    "interpreter.cli._serve": ("serve",),
    "interpreter.cli._codec": ("codec-server",),
    "interpreter.cli._test": ("test",),
    "interpreter.cli._demo": ("demo", "demo-services"),
}
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _LazyGroup(click.Group):
    """The `saga` group: commands come from `COMMAND_MODULES`, each module loaded on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for names in COMMAND_MODULES.values() for name in names]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module_name, names in COMMAND_MODULES.items():
            if cmd_name in names:
                module = importlib.import_module(module_name)
                commands: list[click.Command] = module.COMMANDS
                from interpreter.cli._ops import with_ops_options

                return with_ops_options(next(c for c in commands if c.name == cmd_name))
        return None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        command = self.get_command(ctx, name)
        if command is None and not ctx.resilient_parsing:
            near = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise click.UsageError(f"no such command {name!r}.{hint}", ctx)
        return name, command, args[1:]


@click.group(cls=_LazyGroup, context_settings=CONTEXT)
def saga() -> None:
    """Declarative sagas over HTTP services, run on Temporal."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `saga` command line and return its exit code (never raises SystemExit)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = saga.main(args, prog_name="saga", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:  # usage errors: exit 2, with a hint
        error.show()
        return error.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        return ExitCode.INTERRUPTED
    # `--help` (and a bare `saga`) return None: nothing failed.
    return int(code) if isinstance(code, int) else ExitCode.OK


def run() -> NoReturn:
    """The `saga` console script: `main()`, then exit without interpreter teardown.

    temporalio's Rust threads can abort CPython's finalization once a client has been
    used (temporalio/sdk-python#300): the command's exit code would turn into SIGABRT.
    Nothing is left to clean up by then, so the output is flushed and the process ends.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (`saga list | head`) must not change the exit code
    os._exit(code)


if __name__ == "__main__":
    run()
