"""GET /healthz (the process answers), GET /readyz (it can do its work), GET /me."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interpreter.client import CannotReachTemporal
from interpreter.gateway._deps import Caller, State
from interpreter.gateway._models import Me, StatusOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=StatusOut, summary="the gateway is alive")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=StatusOut,
    responses={503: {"model": StatusOut, "description": "not ready, and why"}},
    summary="Temporal answers and a worker polls the task queue",
)
async def readyz(gateway: State) -> JSONResponse:
    try:
        reason = await (await gateway.client()).ready()
    except CannotReachTemporal as err:
        reason = err.message
    if reason is not None:
        return JSONResponse({"status": "unavailable", "detail": reason}, 503)
    return JSONResponse({"status": "ok"})


@router.get("/me", response_model=Me, summary="the calling key's name and scope")
async def me(caller: Caller) -> JSONResponse:
    return JSONResponse({"name": caller.name, "scope": caller.scope})
