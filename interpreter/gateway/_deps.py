"""What routes are given (FastAPI dependencies): the gateway's state, the caller, a client.

Nothing here is a module-level global: `create_app` puts one `Gateway` on `app.state`,
and the dependencies read it from the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from interpreter.client import Catalogue, SagaClient
from interpreter.gateway._problems import Problem
from interpreter.gateway._settings import ApiKey, GatewaySettings, KeyRing

__all__ = [
    "ANONYMOUS",
    "Caller",
    "Client",
    "Gateway",
    "Reader",
    "State",
    "Writer",
]

ANONYMOUS = ApiKey("anonymous", "write", "")
"""The caller when the gateway has no keys file (it then listens on loopback only)."""


@dataclass
class Gateway:
    """One gateway's state: settings, catalogue, keys, and its Temporal client."""

    settings: GatewaySettings
    catalogue: Catalogue
    keys: KeyRing
    _client: SagaClient | None = None
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def client(self) -> SagaClient:
        """The client, connected on first use (so the gateway starts without Temporal);
        raises CannotReachTemporal."""
        async with self._connecting:
            if self._client is None:
                self._client = await SagaClient.connect(
                    self.settings.connection,
                    task_queue=self.settings.task_queue,
                    catalogue=self.catalogue,
                )
        return self._client


def _state(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


State = Annotated[Gateway, Depends(_state)]
_bearer = HTTPBearer(auto_error=False, description="an API key of the gateway's keys file")


def _caller(
    gateway: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if not gateway.keys.enabled:
        return ANONYMOUS
    key = gateway.keys.find(credentials.credentials) if credentials is not None else None
    if key is None:
        detail = "a valid API key is required: send `Authorization: Bearer KEY`"
        raise Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})
    return key


Caller = Annotated[ApiKey, Depends(_caller)]


def _require(scope: str) -> Callable[[ApiKey], ApiKey]:
    def check(caller: Caller) -> ApiKey:
        if not caller.allows(scope):
            raise Problem(403, f"the key {caller.name!r} may only {caller.scope}")
        return caller

    return check


Reader = Annotated[ApiKey, Depends(_require("read"))]
Writer = Annotated[ApiKey, Depends(_require("write"))]


async def _client(gateway: State) -> SagaClient:
    return await gateway.client()


Client = Annotated[SagaClient, Depends(_client)]
ClientFactory = Callable[[], Awaitable[SagaClient]]
