"""The catalogue and starting runs: GET /sagas, GET /sagas/{name}, POST /sagas/{name}/runs,
POST /start."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from dsl import Diagnostic, Document, load_input_text, render_graph, validate_input
from interpreter.client import CatalogueEntry, RequestRefused
from interpreter.gateway._deps import Reader, State, Writer
from interpreter.gateway._models import CatalogueEntryOut, RunOut, SagaDetailOut, StartIn
from interpreter.gateway._problems import Problem, json_pointer
from interpreter.ops.tracing import continue_trace

__all__ = ["router", "run_body", "START_RESPONSES"]

router = APIRouter(tags=["sagas"])

START_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": RunOut, "description": "a run with this id and this input already exists"},
    400: {"description": "the body is not JSON, or the id is not usable"},
    404: {"description": "no saga of that name"},
    409: {"description": "the saga file is invalid, or the id was used for another input"},
    413: {"description": "the body is larger than 1 MiB"},
    422: {"description": "the input does not fit the saga's `input` schema"},
}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="names the run: the same key with the same input answers the same run",
        max_length=255,
    ),
]


def diagnostics(items: list[Diagnostic]) -> list[dict[str, Any]]:
    return [
        {"file": d.path, "line": d.line, "column": d.column, "severity": d.severity,
         "message": d.message}
        for d in items
    ]  # fmt: skip


def _entry(entry: CatalogueEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "description": entry.description,
        "file": entry.file,
        "valid": entry.valid,
        "diagnostics": diagnostics(entry.diagnostics),
        "input_schema": entry.input_schema,
    }


@router.get("/sagas", response_model=list[CatalogueEntryOut], summary="the catalogue")
async def list_sagas(_: Reader, gateway: State) -> JSONResponse:
    return JSONResponse([_entry(entry) for entry in gateway.catalogue.entries()])


@router.get(
    "/sagas/{name}",
    response_model=SagaDetailOut,
    responses={404: {"description": "no saga of that name"}},
    summary="one saga: definition, diagnostics, graph",
)
async def get_saga(name: str, _: Reader, gateway: State) -> JSONResponse:
    entry = _find(gateway, name)
    graph = render_graph(entry.saga) if entry.saga is not None else None
    return JSONResponse({**_entry(entry), "definition": entry.data, "graph": graph})


@router.post(
    "/sagas/{name}/runs",
    status_code=201,
    response_model=RunOut,
    responses=START_RESPONSES,
    summary="start a run of the saga; the body is the run's input",
    openapi_extra={
        "requestBody": {"required": False, "content": {"application/json": {"schema": {}}}}
    },
)
async def start_named(
    name: str, request: Request, _: Writer, gateway: State, key: IdempotencyKey = None
) -> JSONResponse:
    entry = _find(gateway, name)
    document = _parse(await request.body())
    return await _start(gateway, entry, document, (), key, request.headers)


@router.post(
    "/start",
    status_code=201,
    response_model=RunOut,
    responses=START_RESPONSES,
    summary="start a run of any saga: {saga, input, id}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": StartIn.model_json_schema()}},
        }
    },
)
async def start_any(
    request: Request, _: Writer, gateway: State, key: IdempotencyKey = None
) -> JSONResponse:
    document = _parse(await request.body())
    data = document.data if document is not None else None
    if not isinstance(data, dict) or not isinstance(data.get("saga"), str):
        raise Problem(400, 'the body must be an object with "saga" (a name), "input" and "id"')
    unknown = sorted(set(data) - {"saga", "input", "id"})
    if unknown:
        raise Problem(400, f"unknown key {unknown[0]!r}: the body has saga, input and id")
    run_id = data.get("id", key)
    if run_id is not None and not isinstance(run_id, str):
        raise Problem(400, '"id" must be a string')
    entry = _find(gateway, data["saga"])
    return await _start(gateway, entry, document, ("input",), run_id, request.headers)


def _find(gateway: State, name: str) -> CatalogueEntry:
    entry = gateway.catalogue.get(name)
    if entry is None:
        raise Problem(404, f"no saga named {name!r} in the catalogue")
    return entry


def _parse(raw: bytes) -> Document | None:
    """The body as a located document (None when empty); 400 when it is not JSON."""
    if not raw.strip():
        return None
    try:
        json.loads(raw, parse_constant=_no_constant)
        text = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError) as err:
        raise Problem(400, f"the body is not JSON: {err}") from err
    document, problems = load_input_text(text, "body")
    if document is None:
        raise Problem(400, "the body cannot be read: " + "; ".join(p.message for p in problems))
    return document


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


async def _start(
    gateway: State,
    entry: CatalogueEntry,
    document: Document | None,
    prefix: tuple[str, ...],
    run_id: str | None,
    headers: Mapping[str, str],
) -> JSONResponse:
    if entry.saga is None:
        errors = [{"message": str(d), "pointer": ""} for d in entry.diagnostics if d.is_error]
        detail = f"the saga {entry.name!r} is invalid and cannot be started"
        raise Problem(409, detail, slug="invalid-saga", errors=errors)
    value, errors = input_errors(entry, document, prefix)
    if errors:
        raise Problem(422, f"the input does not fit the saga {entry.name!r}", errors=errors)
    client = await gateway.client()
    try:
        with continue_trace(headers):  # the saga joins the caller's trace, if it sent one
            run = await client.start_saga(entry.saga, value, id=run_id)
    except RequestRefused as err:  # an unusable id
        raise Problem(400, err.message) from err
    if run.created:
        body = run_body(run.id, run.saga_name, "RUNNING")
        return JSONResponse(body, 201, headers={"Location": body["links"]["self"]})
    result = await client.result(run.id)
    return JSONResponse(run_body(run.id, run.saga_name, result.status if result else "RUNNING"))


def input_errors(
    entry: CatalogueEntry, document: Document | None, prefix: tuple[str, ...]
) -> tuple[Any, list[dict[str, str]]]:
    """The input, and its problems each with a JSON pointer into the request body."""
    assert entry.saga is not None
    if document is None:
        return None, _errors(validate_input(entry.saga, None, "body"), {}, prefix)
    value = document.data.get(prefix[0]) if prefix else document.data
    n = len(prefix)
    keys = {p[n:]: at for p, at in document.keys.items() if p[:n] == prefix}
    values = {p[n:]: at for p, at in document.values.items() if p[:n] == prefix}
    inner = Document(document.path, document.text, value, keys, values)
    where = {at: path for path, at in [*keys.items(), *values.items()]}
    return value, _errors(validate_input(entry.saga, value, "body", inner), where, prefix)


def _errors(
    problems: list[Diagnostic], where: dict[tuple[int, int], Any], prefix: tuple[str, ...]
) -> list[dict[str, str]]:
    return [
        {
            "message": d.message,
            "pointer": json_pointer((*prefix, *where.get((d.line, d.column), ()))),
        }
        for d in problems
        if d.is_error
    ]


def run_body(run_id: str, saga: str, status: str) -> dict[str, Any]:
    base = f"/runs/{quote(run_id, safe='')}"
    links = {
        "self": base,
        "result": f"{base}/result",
        "events": f"{base}/events",
        "cancel": f"{base}/cancel",
    }
    return {"id": run_id, "saga": saga, "status": status, "links": links}
