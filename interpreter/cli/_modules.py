"""Which module defines which `saga` commands (imported without click)."""

from __future__ import annotations

__all__ = ["COMMAND_MODULES"]

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
