"""Connecting to Temporal the way Temporal's own tools do.

Settings come from the SDK's environment configuration (`TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, `TEMPORAL_PROFILE` and the
TOML config file), then from command-line flags, which win.

Exceptions::

    CommandError             a command failed in a way the user can act on; has exit_code
    ├── CannotReachTemporal  no server answered at the address (exit 5)
    └── ConfigurationError   the connection settings themselves are wrong (exit 2)
"""

from __future__ import annotations

import functools
import logging
import os
import re
import socket
from dataclasses import dataclass, field, replace
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import RPCError, TLSConfig

from interpreter.contract import SEARCH_ATTRIBUTE_NAME, SEARCH_ATTRIBUTE_STATUS
from interpreter.exit_codes import ExitCode

__all__ = [
    "DEFAULT_ADDRESS_ENV",
    "CannotReachTemporal",
    "CommandError",
    "ConfigurationError",
    "ConnectionSettings",
    "connect",
    "default_address",
    "has_saga_search_attributes",
    "is_listening",
    "load_settings",
    "short_reason",
]

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_ADDRESS_ENV = "SAGA_DEFAULT_ADDRESS"
"""Overrides the address probed when none is configured (lets tests avoid port 7233)."""
CONNECT_TIMEOUT = timedelta(seconds=10)


class CommandError(Exception):
    """A failure reported as one `Error: ...` line and an exit code, never a traceback."""

    def __init__(self, message: str, exit_code: int = ExitCode.INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class CannotReachTemporal(CommandError):
    """Raised when no Temporal server answers at the address."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"cannot reach Temporal at {address}: {reason}", ExitCode.UNREACHABLE)
        self.address = address


class ConfigurationError(CommandError):
    """Raised when the connection settings cannot be loaded (unknown profile, bad file)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=ExitCode.USAGE)


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and how to connect, after env, config file and flags are merged."""

    address: str
    namespace: str = "default"
    api_key: str | None = None
    tls: bool | TLSConfig | None = None
    """None: the SDK decides (TLS on when an API key is given)."""
    rpc_metadata: dict[str, str] = field(default_factory=dict)
    configured: bool = True
    """False when the address is only the built-in default: nothing asked for it."""
    encryption_key_file: str | None = None
    """The payload encryption keys; None: SAGA_ENCRYPTION_KEY_FILE, if set."""


def default_address() -> str:
    return os.environ.get(DEFAULT_ADDRESS_ENV) or DEFAULT_ADDRESS


def load_settings(
    *,
    address: str | None = None,
    namespace: str | None = None,
    api_key: str | None = None,
    tls: bool | None = None,
    profile: str | None = None,
) -> ConnectionSettings:
    """Merge the SDK's environment configuration with flags (flags win)."""
    try:
        loaded = ClientConfigProfile.load(profile)
    except Exception as err:  # the bridge raises its own ConfigError type
        raise ConfigurationError(f"cannot load Temporal client configuration: {err}") from err
    config = loaded.to_client_connect_config()
    settings = ConnectionSettings(
        address=address or loaded.address or default_address(),
        namespace=namespace or config.get("namespace") or "default",
        api_key=api_key or config.get("api_key"),
        tls=config.get("tls"),
        rpc_metadata=dict(config.get("rpc_metadata") or {}),
        configured=bool(address or loaded.address),
    )
    if api_key and settings.tls is None:
        settings = replace(settings, tls=True)
    if tls is not None:
        settings = replace(settings, tls=_tls_override(settings.tls, tls))
    return settings


def _tls_override(current: bool | TLSConfig | None, enabled: bool) -> bool | TLSConfig:
    # --tls keeps certificate settings from the config; --no-tls drops them.
    if enabled and isinstance(current, TLSConfig):
        return current
    return enabled


@functools.cache
def runtime() -> Runtime:
    """The SDK runtime of this process, with the Temporal core's logs sent to Python's
    logging (so to stderr) instead of stdout, where they would corrupt `--json` output.

    With SAGA_METRICS_PORT set, the SDK's metrics are recorded for the worker's
    Prometheus endpoint (interpreter.ops.metrics); otherwise they are not kept at all."""
    from interpreter.ops.metrics import metrics_port_from_env, sdk_runtime_buffer

    logs = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    try:
        metrics = sdk_runtime_buffer() if metrics_port_from_env() is not None else None
    except ValueError as err:
        raise ConfigurationError(str(err)) from None
    return Runtime(telemetry=TelemetryConfig(logging=logs, metrics=metrics))


async def connect(settings: ConnectionSettings) -> Client:
    """A connected client, or CannotReachTemporal with a short reason.

    Every payload goes through the encryption codec (keys from the settings or
    SAGA_ENCRYPTION_KEY_FILE; without keys, encrypted payloads are refused clearly), and
    with tracing on (OTEL_* variables) starting a saga opens its trace.
    """
    from interpreter.ops.codec import data_converter
    from interpreter.ops.tracing import client_interceptors

    try:
        interceptors = client_interceptors()
    except ValueError as err:
        raise ConfigurationError(f"tracing: {err}") from None
    try:
        return await Client.connect(
            settings.address,
            runtime=runtime(),
            namespace=settings.namespace,
            api_key=settings.api_key,
            tls=settings.tls,
            rpc_metadata=settings.rpc_metadata,
            connect_timeout=CONNECT_TIMEOUT,
            data_converter=data_converter(settings.encryption_key_file),
            interceptors=interceptors,
        )
    except (RuntimeError, RPCError) as err:
        raise CannotReachTemporal(settings.address, short_reason(err)) from err


_OS_MESSAGE = re.compile(r'message: "([^"]+)"')
_QUOTED_ERROR = re.compile(r'(?:ConnectError|Error)\("([^"]+)"')


def short_reason(err: BaseException) -> str:
    """The gist of a connection error, without the transport's nested debug text."""
    text = str(err).removeprefix("Failed client connect: ")
    if isinstance(err, RPCError):
        return err.message or err.status.name.lower()
    for pattern in (_OS_MESSAGE, _QUOTED_ERROR):
        found = pattern.search(text)
        if found:
            return found.group(1).lower()
    return text


def is_listening(address: str, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at host:port."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout):
            return True
    except (OSError, ValueError):
        return False


async def has_saga_search_attributes(client: Client) -> bool:
    """True when the namespace has the SagaName and SagaStatus search attributes.

    Only then may a run set them: starting a workflow with an unregistered search
    attribute is rejected by the server. Any failure to look (e.g. no permission on a
    cloud namespace) counts as "no".
    """
    request = ListSearchAttributesRequest(namespace=client.namespace)
    try:
        response = await client.operator_service.list_search_attributes(
            request, timeout=timedelta(seconds=5)
        )
    except RPCError:
        return False
    registered = dict(response.custom_attributes)
    return all(
        registered.get(name) == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for name in (SEARCH_ATTRIBUTE_NAME, SEARCH_ATTRIBUTE_STATUS)
    )
