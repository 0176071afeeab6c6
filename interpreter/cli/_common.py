"""What the runtime commands share: connection options, help layout, the async runner.

A command's coroutine raises `CommandError` or `InvalidSaga` for what the user must fix;
`async_command` turns them into `Error: ...` lines (or diagnostics) and an exit code.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

from dsl import InvalidSaga
from interpreter.cli._help import TEXTS
from interpreter.client._connection import CommandError, ConnectionSettings, load_settings
from interpreter.contract import DEFAULT_TASK_QUEUE
from interpreter.exit_codes import ExitCode

__all__ = [
    "CONNECTION_HELP",
    "async_command",
    "command",
    "connection_options",
    "parsed_each",
    "positive",
    "settings",
    "task_queue_option",
]

F = TypeVar("F", bound=Callable[..., Any])

CONNECTION_HELP = """\
Temporal connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS*, TEMPORAL_PROFILE and the Temporal config file are read as Temporal's
own CLI reads them; --address, --namespace, --api-key, --tls and --profile win."""


def command(name: str, *, connected: bool = True) -> Callable[[F], click.Command]:
    """A click command whose summary, description and examples come from `TEXTS[name]`;
    `connected`: it takes the connection options, so its help says where they come from."""
    summary, description, epilog = TEXTS[name]
    if connected:
        epilog += f"\n\n{CONNECTION_HELP}"
    return click.command(
        name,
        short_help=summary,
        help=description,
        epilog=_verbatim(epilog),
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def _verbatim(text: str) -> str:
    r"""Keep each paragraph's line breaks (click rewraps paragraphs not marked with \b)."""
    return "\n\n".join("\b\n" + block for block in text.split("\n\n"))


def connection_options(function: F) -> F:
    """--address, --namespace, --api-key, --tls/--no-tls and --profile."""
    options = [
        click.option("--address", metavar="HOST:PORT", help="the Temporal frontend"),
        click.option("--namespace", metavar="NAME", help="the namespace (default: default)"),
        click.option("--api-key", metavar="KEY", help="API key, e.g. for Temporal Cloud (TLS on)"),
        click.option("--tls/--no-tls", default=None, help="use TLS or not"),
        click.option("--profile", metavar="NAME", help="profile of the Temporal config file"),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


def settings(options: dict[str, Any]) -> ConnectionSettings:
    """The connection settings from the environment, the config file and the flags."""
    return load_settings(
        address=options.get("address"),
        namespace=options.get("namespace"),
        api_key=options.get("api_key"),
        tls=options.get("tls"),
        profile=options.get("profile"),
    )


def task_queue_option(function: F) -> F:
    return click.option(
        "--task-queue",
        metavar="QUEUE",
        default=DEFAULT_TASK_QUEUE,
        show_default=True,
        help="the task queue of the saga workers",
    )(function)


positive = click.IntRange(min=1)
"""A whole number of at least 1."""


def parsed_each(parse: Callable[[str], Any]) -> Callable[..., list[Any]]:
    """An option callback: each value of a repeatable option parsed by `parse`, whose
    ValueError (a plain sentence) becomes a usage error naming the option."""

    def callback(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[Any]:
        try:
            return [parse(value) for value in values]
        except ValueError as err:
            raise click.BadParameter(str(err), ctx, param) from None

    return callback


def async_command(
    coroutine: Callable[..., Coroutine[Any, Any, int]],
) -> Callable[..., int]:
    """Run the command's coroutine; user errors become `Error: ...` and an exit code."""

    @functools.wraps(coroutine)
    def run(**options: Any) -> int:
        try:
            return asyncio.run(coroutine(**options))
        except InvalidSaga as err:
            for diagnostic in err.diagnostics:
                click.echo(str(diagnostic), err=True)
            return ExitCode.INVALID
        except CommandError as err:
            click.echo(f"Error: {err.message}", err=True)
            return err.exit_code

    return run
