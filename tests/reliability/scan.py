"""Where a secret could escape to, as searchable bytes.

A history's JSON form carries payloads base64-encoded, so searching it for a secret
finds nothing even when the secret is there. The serialized events hold the payload
bytes as they are (JSON text, with the default converter), so both forms are searched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError


async def fetch_history(client: Client, saga_id: str, tries: int = 20) -> WorkflowHistory:
    for _ in range(tries):
        try:
            return await client.get_workflow_handle(saga_id).fetch_history()
        except RPCError:
            await asyncio.sleep(0.5)  # the server may be restarting
    raise RuntimeError(f"cannot fetch the history of {saga_id}")


async def history_bytes(client: Client, saga_id: str) -> bytes:
    """Every event of the saga's history, serialized, plus its JSON form."""
    history = await fetch_history(client, saga_id)
    raw = b"".join(event.SerializeToString() for event in history.events)
    return raw + history.to_json().encode()


async def events_holding(client: Client, saga_id: str, secrets: Iterable[str]) -> list[str]:
    """'<event id> <event type>' of each history event that holds one of the secrets."""
    history = await fetch_history(client, saga_id)
    return [
        f"{event.event_id} {EventType.Name(event.event_type)}"
        for event in history.events
        if found_in(event.SerializeToString(), secrets)
    ]


def found_in(haystack: bytes | str, secrets: Iterable[str]) -> list[str]:
    """The secrets (shortened, so a failure message does not print them) in haystack."""
    data = haystack.encode() if isinstance(haystack, str) else haystack
    return [secret[:6] + "…" for secret in secrets if secret.encode() in data]


def as_text(*values: Any) -> str:
    return json.dumps(values, default=str)
