"""The `saga` click group: commands come from `COMMAND_MODULES`, each module loaded on use."""

from __future__ import annotations

import difflib
import importlib

import click

from interpreter.cli._modules import COMMAND_MODULES

__all__ = ["saga"]

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
