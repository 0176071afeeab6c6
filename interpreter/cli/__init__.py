"""The `saga` command line, built with click: one module per group of commands.

`COMMAND_MODULES` says which module defines which commands. A module is imported only
when one of its commands runs (or for `saga --help`), so `saga validate` never imports
Temporal or rich and starts fast. To add a group of commands, write a module whose
`COMMANDS` lists its `click.Command`s and add one line to `COMMAND_MODULES`.

`saga validate` is what pre-commit hooks run, on every commit: a plain command line of
it (paths and its own options, nothing else) is read here without loading click at
all; anything else (`--help`, a usage error, `--`) goes through click as usual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from interpreter.cli._modules import COMMAND_MODULES
from interpreter.exit_codes import ExitCode

__all__ = ["COMMAND_MODULES", "main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `saga` command line and return its exit code (never raises SystemExit)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["validate"] and "_SAGA_COMPLETE" not in os.environ:
        from interpreter.cli._validate import quick_validate

        try:
            quick = quick_validate(args[1:])
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            return ExitCode.INTERRUPTED
        if quick is not None:
            return quick
    return _click_main(args)


def _click_main(args: list[str]) -> int:
    import click

    from interpreter.cli._group import saga

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
    if sys.argv[1:2] == ["validate"]:
        from interpreter.cli._parallel import pause_collection

        _without_pydantic_plugins()
        pause_collection()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (`saga list | head`) must not change the exit code
    os._exit(code)


if __name__ == "__main__":
    run()


_PLUGIN_LOADER = "pydantic.plugin._loader"


def _without_pydantic_plugins() -> None:
    """No pydantic plugin in a `saga validate` process: none has a part in checking files.

    Looking for plugins reads the metadata of every installed package, and merely
    importing pydantic's plugin loader imports `importlib.metadata` (with `email` and
    more, about 10 ms of a cold start) even when plugins are disabled. So unless the
    user set `PYDANTIC_DISABLE_PLUGINS` themselves, plugins are disabled and the loader is
    replaced by one that finds none, which is what the real one answers then. Any other
    name asked of it comes from the real loader, imported at that moment.
    """
    if "PYDANTIC_DISABLE_PLUGINS" in os.environ:
        return
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    if _PLUGIN_LOADER in sys.modules:
        return
    import types

    def real(name: str) -> object:
        import importlib

        if name.startswith("__"):  # what the import system asks of any module
            raise AttributeError(name)
        del sys.modules[_PLUGIN_LOADER]
        return getattr(importlib.import_module(_PLUGIN_LOADER), name)

    loader = types.ModuleType(_PLUGIN_LOADER, "pydantic's plugin loader, finding no plugin")
    loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    loader.__getattr__ = real  # type: ignore[method-assign]
    sys.modules[_PLUGIN_LOADER] = loader
