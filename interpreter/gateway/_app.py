"""The gateway's ASGI application: routes by resource, one `Gateway` state, problem errors."""

from __future__ import annotations

from fastapi import FastAPI

from interpreter.client import Catalogue
from interpreter.gateway import _health, _runs, _sagas
from interpreter.gateway._deps import Gateway
from interpreter.gateway._openapi import install_openapi
from interpreter.gateway._problems import BodyLimit, install_handlers
from interpreter.gateway._settings import GatewaySettings, KeyRing, load_api_keys
from interpreter.gateway._ui import install_ui

__all__ = ["create_app"]


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway for these settings; reads the keys file (CommandError if it is wrong)."""
    keys = load_api_keys(settings.api_keys_file) if settings.api_keys_file else None
    gateway = Gateway(settings, Catalogue(settings.folders), KeyRing(keys))
    app = FastAPI(
        title="saga gateway",
        version=_version(),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.gateway = gateway
    for module in (_sagas, _runs, _health):
        app.include_router(module.router)
    install_ui(app)
    install_openapi(app, gateway)
    install_handlers(app)
    app.add_middleware(BodyLimit)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("saga-dsl")
    except PackageNotFoundError:
        return "0"
