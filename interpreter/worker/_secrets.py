"""Secrets: read by the worker at request time, never written anywhere else.

A `{secret: NAME}` in a saga is resolved from the environment variable
`SAGA_SECRET_<NAME>`, or else from the file `NAME` in the worker's secrets directory.
Values live only inside the activity; `scrub()` removes them from any text that might
leave it (error messages, logs, step outputs).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["MissingSecret", "SecretSource", "scrub", "scrub_value"]

ENV_PREFIX = "SAGA_SECRET_"
REDACTED = "[secret]"


class MissingSecret(Exception):
    """Raised when a secret is neither in the environment nor in the secrets directory."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"secret {name!r} is not set on the worker: set {ENV_PREFIX}{name} "
            "or put a file named after it in the secrets directory"
        )
        self.name = name


class SecretSource:
    """Where the worker reads secrets: the environment first, then a directory."""

    def __init__(
        self, directory: str | Path | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._environ = environ if environ is not None else os.environ

    def get(self, name: str) -> str:
        value = self._environ.get(ENV_PREFIX + name)
        if value is not None:
            return value
        if self.directory is not None and _is_plain_name(name):
            path = self.directory / name
            if path.is_file():
                # Files written by editors or `echo` end with a newline nobody means to send.
                return path.read_text(encoding="utf-8").rstrip("\r\n")
        raise MissingSecret(name)


def _is_plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in {".", ".."}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in `text` (longest first, so no fragment survives)."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def scrub_value(value: Any, secrets: Iterable[str]) -> Any:
    """`scrub` every string in a JSON value: keys and values of maps, items of lists."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub_value(k, secrets): scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(item, secrets) for item in value]
    return value
