"""Runs: GET /runs, GET /runs/{id}, its result, its events, cancel, resume and signals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse

from dsl import parse_duration
from interpreter.client import CommandError, DataRefused, RunSummary, SagaClient
from interpreter.contract import SagaReport
from interpreter.gateway._deps import Client, Reader, Writer
from interpreter.gateway._models import (
    ResumeIn,
    RunResultOut,
    RunStillRunning,
    RunSummaryOut,
)
from interpreter.gateway._problems import Problem, from_error

__all__ = ["MAX_WAIT", "router"]

router = APIRouter(tags=["runs"])
MAX_WAIT = 60.0
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no run with that id"}}
WAIT_PATTERN = r"^(\d+(\.\d+)?|(\d+(ms|s|m|h))+)$"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(run: RunSummary) -> dict[str, Any]:
    return {
        "id": run.saga_id,
        "saga": run.saga_name,
        "status": run.status,
        "started_at": _time(run.started_at),
        "closed_at": _time(run.closed_at),
    }


@router.get("/runs", response_model=list[RunSummaryOut], summary="recent runs, newest first")
async def list_runs(
    _: Reader,
    client: Client,
    saga: Annotated[str | None, Query(description="only runs of this saga")] = None,
    status: Annotated[str | None, Query(description="only runs in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> JSONResponse:
    runs = await client.list(saga=saga, status=status, limit=limit)
    return JSONResponse([_summary(run) for run in runs])


@router.get(
    "/runs/{id}", response_model=SagaReport, responses=NOT_FOUND, summary="the run's report"
)
async def get_run(id: str, _: Reader, client: Client) -> JSONResponse:
    return JSONResponse((await client.report(id)).to_dict())


@router.get(
    "/runs/{id}/result",
    response_model=RunResultOut,
    responses={**NOT_FOUND, 202: {"model": RunStillRunning, "description": "still running"}},
    summary="the run's end, waiting up to `wait` for it",
)
async def get_result(
    id: str,
    _: Reader,
    client: Client,
    wait: Annotated[
        str,
        Query(
            pattern=WAIT_PATTERN,
            max_length=32,
            description="how long to wait for the end: `30s`, `1m`, or seconds; at most 60s",
        ),
    ] = "0s",
) -> JSONResponse:
    result = await client.result(id, wait=_wait_seconds(wait))
    if result is None:
        return JSONResponse({"status": await client.status(id)}, 202)
    report = result.report.to_dict() if result.report is not None else None
    return JSONResponse({"status": result.status, "output": result.output, "report": report})


def _wait_seconds(text: str) -> float:
    try:
        seconds = float(text) if text[-1].isdigit() else parse_duration(text).total_seconds()
    except (ValueError, IndexError) as err:
        raise Problem(400, f"invalid wait {text!r}: use a duration such as '30s'") from err
    return min(seconds, MAX_WAIT)


@router.get(
    "/runs/{id}/events",
    responses={
        **NOT_FOUND,
        200: {
            "description": "a `report` event at each change of the report, then `end`",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
    response_class=Response,
    summary="the run's report as Server-Sent Events",
)
async def get_events(id: str, _: Reader, client: Client) -> EventSourceResponse:
    await client.report(id)  # a missing run is a 404, not an empty stream
    return EventSourceResponse(_events(client, id), ping=15)


async def _events(client: SagaClient, saga_id: str) -> AsyncIterator[dict[str, str]]:
    last: SagaReport | None = None
    try:
        async for report in client.watch(saga_id):
            last = report
            yield {"event": "report", "data": json.dumps(report.to_dict())}
    except (CommandError, OSError) as err:
        problem = from_error(err)
        yield {"event": "error", "data": json.dumps({"status": problem.status,
                                                      "detail": problem.detail})}  # fmt: skip
        return
    yield {"event": "end", "data": json.dumps({"status": last.status if last else None})}


@router.post(
    "/runs/{id}/cancel",
    status_code=202,
    responses={**NOT_FOUND, 409: {"description": "the run has already ended"}},
    summary="cancel the run (it compensates)",
)
async def cancel_run(id: str, _: Writer, client: Client) -> JSONResponse:
    await client.cancel(id)
    return JSONResponse({"id": id, "status": "CANCELLING"}, 202)


@router.post(
    "/runs/{id}/resume",
    response_model=SagaReport,
    responses={
        **NOT_FOUND,
        409: {"description": "the run is not parked"},
        422: {"description": "the request is refused: neither retry nor skip, or a bad step"},
    },
    summary="resume a parked run: {retry: true} or {skip: STEP}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ResumeIn.model_json_schema()}},
        }
    },
)
async def resume_run(id: str, request: Request, _: Writer, client: Client) -> JSONResponse:
    retry, skip = _resume_request(await request.body())
    report = await client.resume(id, retry=retry, skip=skip)
    return JSONResponse(report.to_dict())


@router.post(
    "/runs/{id}/signals/{step}",
    response_model=SagaReport,
    responses={
        404: {"description": "no run with that id, or its saga has no such step"},
        409: {"description": "the step does not wait: not a wait step, ended, or given its data"},
        422: {"description": "the data does not fit the step's `schema`"},
    },
    summary="data for a wait step (an approval, a callback)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"description": "the data, any JSON"}}},
        }
    },
)
async def signal_run(
    id: str, step: str, request: Request, _: Writer, client: Client
) -> JSONResponse:
    try:
        data = json.loads(await request.body(), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as err:
        raise Problem(400, f"the body is not JSON: {err}") from err
    try:
        report = await client.signal(id, step, data)
    except DataRefused as err:
        raise Problem(422, err.message, slug="refused", errors=err.errors) from err
    return JSONResponse(report.to_dict())


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _resume_request(raw: bytes) -> tuple[bool, list[str]]:
    try:
        data = json.loads(raw or b"null", parse_constant=float)
    except (ValueError, UnicodeDecodeError) as err:
        raise Problem(400, f"the body is not JSON: {err}") from err
    errors = _resume_errors(data)
    if errors:
        raise Problem(422, 'send {"retry": true} or {"skip": "STEP"}', errors=errors)
    skip = data.get("skip") or []
    return bool(data.get("retry")), [skip] if isinstance(skip, str) else list(skip)


def _resume_errors(data: Any) -> list[dict[str, str]]:
    if not isinstance(data, dict):
        return [{"message": "the body must be an object", "pointer": ""}]
    unknown = sorted(set(data) - {"retry", "skip"})
    if unknown:
        return [{"message": f"unknown key {unknown[0]!r}", "pointer": f"/{unknown[0]}"}]
    retry, skip = data.get("retry", False), data.get("skip")
    if not isinstance(retry, bool):
        return [{"message": "retry must be true or false", "pointer": "/retry"}]
    names = [skip] if isinstance(skip, str) else skip
    if skip is not None and not (
        isinstance(names, list) and names and all(isinstance(n, str) for n in names)
    ):
        return [{"message": "skip must be a step name or a list of them", "pointer": "/skip"}]
    if retry == bool(skip):
        return [{"message": "give either retry or skip", "pointer": ""}]
    return []
