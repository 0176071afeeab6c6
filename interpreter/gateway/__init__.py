"""`saga serve`: the HTTP gateway in front of Temporal.

    _settings.py  what the gateway is told: folders, host, port, keys file
    _app.py       the FastAPI application: routers, state, error handlers, body limit
    _deps.py      what routes are given: the gateway's state, the caller's key, a client
    _sagas.py     the catalogue and starting runs
    _runs.py      one run: report, result, events (SSE), cancel, resume; recent runs
    _health.py    /healthz, /readyz, /me
    _openapi.py   the OpenAPI 3.1 document built from the catalogue; /docs (offline)
    _problems.py  every error as application/problem+json; the 1 MiB body limit
    _ui.py        the run page: /ui, /ui/runs/{id}, its assets (ui/), GET /runs/{id}/graph

The gateway keeps no state of its own (Temporal holds it), so any number can run side
by side.
"""

from __future__ import annotations

import logging

from interpreter.client._connection import CommandError
from interpreter.exit_codes import ExitCode
from interpreter.gateway._app import create_app
from interpreter.gateway._settings import (
    API_KEYS_ENV,
    GatewaySettings,
    is_loopback,
    keys_file,
)

__all__ = ["API_KEYS_ENV", "GatewaySettings", "create_app", "serve"]


def serve(settings: GatewaySettings) -> None:
    """Run the gateway until interrupted; raises CommandError (exit 2) on a bad setting."""
    import uvicorn

    settings = _checked(settings)
    app = create_app(settings)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        server_header=False,
        # Access lines carry method, path and status only: never a header, so never a key.
        access_log=True,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()


def _checked(settings: GatewaySettings) -> GatewaySettings:
    from dataclasses import replace

    settings = replace(settings, api_keys_file=keys_file(settings.api_keys_file))
    if settings.api_keys_file is None and not is_loopback(settings.host):
        raise CommandError(
            f"refusing to listen on {settings.host}: without an API keys file "
            f"(--api-keys or {API_KEYS_ENV}) the gateway only listens on loopback "
            "(127.0.0.1, ::1, localhost)",
            ExitCode.USAGE,
        )
    missing = [str(folder) for folder in settings.folders if not folder.exists()]
    if missing:
        raise CommandError(f"no such saga folder: {', '.join(missing)}", ExitCode.USAGE)
    return settings
