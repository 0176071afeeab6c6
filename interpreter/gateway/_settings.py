"""What `saga serve` is told: folders, address, keys, and the Temporal connection.

The keys file has one key a line, `name:scope:key` (scope `read` or `write`); blank
lines and lines starting with `#` are ignored. A key is never printed, not even in an
error about its own line.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from interpreter.client._connection import CommandError, ConnectionSettings
from interpreter.contract import DEFAULT_TASK_QUEUE
from interpreter.exit_codes import ExitCode

__all__ = [
    "API_KEYS_ENV",
    "ApiKey",
    "GatewaySettings",
    "KeyRing",
    "is_loopback",
    "load_api_keys",
]

API_KEYS_ENV = "SAGA_API_KEYS_FILE"
SCOPES = ("read", "write")


@dataclass(frozen=True)
class ApiKey:
    name: str
    scope: str
    """`read` or `write` (write includes read)."""
    secret: str = field(repr=False)

    def allows(self, scope: str) -> bool:
        return self.scope == "write" or scope == "read"


class KeyRing:
    """The gateway's keys; None means no keys file: every caller may read and write."""

    def __init__(self, keys: Sequence[ApiKey] | None) -> None:
        self.keys = list(keys) if keys is not None else None

    @property
    def enabled(self) -> bool:
        return self.keys is not None

    def find(self, presented: str) -> ApiKey | None:
        """The key matching `presented`, compared in constant time against every key."""
        found = None
        for key in self.keys or []:
            if hmac.compare_digest(key.secret.encode(), presented.encode()):
                found = key
        return found


@dataclass(frozen=True)
class GatewaySettings:
    connection: ConnectionSettings
    folders: list[Path] = field(default_factory=lambda: [Path("sagas")])
    host: str = "127.0.0.1"
    port: int = 8080
    api_keys_file: Path | None = None
    task_queue: str = DEFAULT_TASK_QUEUE
    log_level: str = "info"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def keys_file(flag: Path | None) -> Path | None:
    """The keys file: the flag, else SAGA_API_KEYS_FILE, else none."""
    if flag is not None:
        return flag
    value = os.environ.get(API_KEYS_ENV)
    return Path(value) if value else None


def load_api_keys(path: Path) -> list[ApiKey]:
    """Read the keys file; raises CommandError (exit 2) naming the line, never the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CommandError(f"cannot read the API keys file {path}: {err}", ExitCode.USAGE) from err
    keys: list[ApiKey] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keys.append(_key(line, f"{path}:{number}"))
    if not keys:
        raise CommandError(f"the API keys file {path} holds no key", ExitCode.USAGE)
    if len({key.secret for key in keys}) != len(keys):
        raise CommandError(f"the API keys file {path} holds a key twice", ExitCode.USAGE)
    return keys


def _key(line: str, where: str) -> ApiKey:
    parts = line.split(":", 2)
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise CommandError(f"{where}: expected `name:scope:key`", ExitCode.USAGE)
    name, scope, secret = (part.strip() for part in parts)
    if scope not in SCOPES:
        raise CommandError(
            f"{where}: unknown scope {scope!r}: use `read` or `write`", ExitCode.USAGE
        )
    return ApiKey(name, scope, secret)
