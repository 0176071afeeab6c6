"""The OpenAPI 3.1 document, generated from the routes and the catalogue, and /docs.

Each valid saga gets its own start endpoint, `POST /sagas/{its name}/runs`, whose request
body is the saga's `input` schema. Error answers are declared as problem+json. The
document is rebuilt when the catalogue changes. /docs is Swagger UI served from the
`fastapi-offline` package's files: no CDN, so it works without internet access.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from interpreter.client import CatalogueEntry
from interpreter.gateway._deps import Gateway
from interpreter.gateway._models import ProblemOut
from interpreter.gateway._problems import PROBLEM_TYPE

__all__ = ["install_openapi"]

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"
OPEN = {"/healthz", "/readyz"}
START = "/sagas/{name}/runs"


def install_openapi(app: FastAPI, gateway: Gateway) -> None:
    cache: dict[str, Any] = {}

    async def openapi_json() -> JSONResponse:
        version = gateway.catalogue.version
        if cache.get("version") != version:
            cache["document"], cache["version"] = build(app, gateway), version
        return JSONResponse(cache["document"])

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="saga gateway",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        )

    app.add_api_route("/openapi.json", openapi_json, include_in_schema=False)
    app.add_api_route("/docs", docs, include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")


def build(app: FastAPI, gateway: Gateway) -> dict[str, Any]:
    document = get_openapi(
        title="saga gateway",
        version=app.version,
        openapi_version="3.1.0",
        description="Start and follow sagas over HTTP. Errors are application/problem+json.",
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = ProblemOut.model_json_schema()
    for entry in gateway.catalogue.entries():
        if entry.saga is not None and "/" not in entry.name:
            _add_start(document, entry)
    for path, item in document["paths"].items():
        for operation in item.values():
            _declare_errors(operation, path, gateway.keys.enabled)
    if not gateway.keys.enabled:
        document["components"].pop("securitySchemes", None)
    return document


def _add_start(document: dict[str, Any], entry: CatalogueEntry) -> None:
    generic = copy.deepcopy(document["paths"][START]["post"])
    generic["parameters"] = [p for p in generic["parameters"] if p["name"] != "name"]
    generic["operationId"] = "start_" + re.sub(r"[^A-Za-z0-9_]", "_", entry.name)
    generic["summary"] = f"start a run of {entry.name}"
    if entry.description:
        generic["description"] = entry.description
    schema = _rebased(entry.input_schema, f"#/components/schemas/input_{entry.name}")
    name = f"input_{entry.name}"
    document["components"]["schemas"][name] = schema if schema is not None else {}
    generic["requestBody"] = {
        "required": entry.input_schema is not None,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }
    document["paths"][f"/sagas/{entry.name}/runs"] = {"post": generic}


def _rebased(schema: Any, base: str) -> Any:
    """The schema with its local `$ref`s (`#/...`) pointing to where it now lives."""
    if isinstance(schema, dict):
        out = {k: _rebased(v, base) for k, v in schema.items() if k not in ("$schema", "$id")}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out["$ref"] = base + ref[1:]
        return out
    if isinstance(schema, list):
        return [_rebased(item, base) for item in schema]
    return schema


def _declare_errors(operation: dict[str, Any], path: str, auth: bool) -> None:
    responses = operation.setdefault("responses", {})
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]  # FastAPI's own; parameters that do not fit are a 400 here
    operation.pop("security", None)
    codes = set(responses) | {"400", "404", "405", "500"}
    if path not in OPEN:
        codes.add("503")
        if auth:
            codes |= {"401", "403"}
            operation["security"] = [{"HTTPBearer": []}]
    if "requestBody" in operation:
        codes.add("413")
    problem = {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for code in sorted(codes):
        if int(code) < 400 or (path == "/readyz" and code == "503"):
            continue
        described = responses.get(code, {})
        responses[code] = {
            "description": described.get("description", "an error"),
            "content": problem,
        }
