"""The run page: GET /ui (recent runs, the catalogue, start forms), GET /ui/runs/{id}
(the run's graph, live), their assets under /ui/assets, and GET /runs/{id}/graph.

The HTML and its assets are public (they hold no data); every piece of data is fetched
by the page's scripts from the API with the bearer key. The graph of a run comes from
the definition the run was started with (the first event of its history), not from the
catalogue, so a file edited since does not change the picture of a run.
"""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from dsl import Saga, StepGraph
from interpreter.client import CannotReachTemporal, RunNotFound, SagaClient
from interpreter.client._connection import short_reason
from interpreter.contract import WORKFLOW_NAME, SagaRunInput, definition_data
from interpreter.gateway._deps import Client, Reader
from interpreter.gateway._models import RunGraphOut
from interpreter.gateway._problems import Problem

__all__ = ["ASSETS", "install_ui", "run_graph", "router"]

ASSETS = files("interpreter.gateway") / "ui"
router = APIRouter(tags=["runs"])
RPC_TIMEOUT = timedelta(seconds=10)
_HEADERS = {
    # The page runs only its own files: no inline script, nothing from another host.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _page(name: str) -> FileResponse:
    return FileResponse(str(ASSETS / name), media_type="text/html", headers=_HEADERS)


async def home() -> FileResponse:
    return _page("index.html")


async def run_page(id: str) -> FileResponse:
    return _page("run.html")


@router.get(
    "/runs/{id}/graph",
    response_model=RunGraphOut,
    responses={404: {"description": "no run with that id"}},
    summary="the run's steps and their dependencies, from the definition it runs",
)
async def get_graph(id: str, _: Reader, client: Client) -> JSONResponse:
    return JSONResponse(run_graph(id, await _definition(client, id)))


async def _definition(client: SagaClient, saga_id: str) -> Saga:
    """The definition in the run's first event (one short read, no query to a worker)."""
    handle = client.temporal.get_workflow_handle(saga_id)
    try:
        async for event in handle.fetch_history_events(page_size=1, rpc_timeout=RPC_TIMEOUT):
            attributes = event.workflow_execution_started_event_attributes
            if attributes.workflow_type.name != WORKFLOW_NAME:
                break
            [run] = await client.temporal.data_converter.decode(
                attributes.input.payloads[:1], [SagaRunInput]
            )
            return Saga.model_validate(definition_data(run.definition))
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise RunNotFound(saga_id) from err
        address = client.temporal.service_client.config.target_host
        raise CannotReachTemporal(address, short_reason(err)) from err
    except (ValidationError, ValueError, TypeError) as err:
        raise Problem(409, f"the definition of run {saga_id!r} cannot be read") from err
    raise RunNotFound(saga_id)


def run_graph(saga_id: str, saga: Saga) -> dict[str, Any]:
    """Steps in list order, each with its dependencies and its layer: the length of the
    longest chain of dependencies before it, so every edge goes to a later layer."""
    graph = StepGraph.of(saga)
    layers = _layers(graph.deps)
    return {
        "saga_id": saga_id,
        "saga": saga.name,
        "steps": [
            {
                "name": step.name,
                "after": [graph.names[d] for d in graph.deps[i]],
                "layer": layers[i],
                "compensation": not isinstance(step.compensation, str | None),
                "pivot": step.pivot,
                "when": step.when is not None,
            }
            for i, step in enumerate(saga.steps)
        ],
    }


def _layers(deps: list[list[int]]) -> list[int]:
    """Kahn's order over the dependencies; steps on a cycle (never in a run) stay put."""
    layers, waiting = [0] * len(deps), [len(d) for d in deps]
    users: list[list[int]] = [[] for _ in deps]
    for i, ds in enumerate(deps):
        for d in ds:
            users[d].append(i)
    ready = [i for i, ds in enumerate(deps) if not ds]
    while ready:
        step = ready.pop()
        for user in users[step]:
            layers[user] = max(layers[user], layers[step] + 1)
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return layers


def install_ui(app: FastAPI) -> None:
    """The pages (outside the OpenAPI document: they are HTML) and their assets."""
    app.add_api_route("/ui", home, include_in_schema=False)
    app.add_api_route("/ui/runs/{id:path}", run_page, include_in_schema=False)
    app.mount("/ui/assets", StaticFiles(directory=str(ASSETS)), name="ui-assets")
    app.include_router(router)
