"""Errors as `application/problem+json` (RFC 9457), whatever went wrong, never HTML.

Every error answer has `type`, `title`, `status` and `detail`; an invalid input adds
`errors`, each a `message` and a JSON `pointer` into the request body. `type` is a URN
naming the kind of problem (`urn:saga:problem:invalid-input`), stable for programs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dsl import InvalidSaga
from interpreter.client import (
    CannotReachTemporal,
    CommandError,
    RequestRefused,
    RunConflict,
    RunNotFound,
    SagaNotFound,
    StepNotFound,
)

__all__ = [
    "MAX_BODY",
    "PROBLEM_TYPE",
    "BodyLimit",
    "Problem",
    "install_handlers",
    "json_pointer",
    "problem_response",
]

PROBLEM_TYPE = "application/problem+json"
MAX_BODY = 1024 * 1024
RETRY_AFTER = "5"
log = logging.getLogger("saga.gateway")

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    422: "invalid-input",
    500: "internal-error",
    503: "temporal-unavailable",
}


class Problem(Exception):
    """An error answer; raise it from a route, or build one with `problem_response`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: Sequence[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.slug = status, detail, slug
        self.errors, self.headers = errors, headers


def problem_response(problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:saga:problem:{problem.slug or _SLUGS.get(problem.status, 'error')}",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors is not None:
        body["errors"] = list(problem.errors)
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM_TYPE)


def json_pointer(path: Sequence[str | int]) -> str:
    """RFC 6901: `/a/0/b~1c` for ("a", 0, "b/c"); "" for the whole document."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def from_error(error: Exception) -> Problem:
    """The answer to an error of the client API (or of the language)."""
    if isinstance(error, CannotReachTemporal):
        return Problem(503, error.message, headers={"Retry-After": RETRY_AFTER})
    if isinstance(error, SagaNotFound | RunNotFound | StepNotFound):
        return Problem(404, error.message)
    if isinstance(error, RunConflict):
        return Problem(409, error.message)
    if isinstance(error, RequestRefused):
        return Problem(422, error.message, slug="refused")
    if isinstance(error, InvalidSaga):
        errors = [{"message": str(d), "pointer": ""} for d in error.diagnostics]
        return Problem(409, "the saga is invalid", slug="invalid-saga", errors=errors)
    if isinstance(error, CommandError):
        return Problem(409, error.message)
    log.error("unexpected error", exc_info=error)
    return Problem(500, "the gateway failed to answer; the error is in its log")


def install_handlers(app: FastAPI) -> None:
    """Every error, including the framework's own 404, 405 and 422, as problem+json."""

    async def on_problem(_: Request, error: Exception) -> Response:
        assert isinstance(error, Problem)
        return problem_response(error)

    async def on_http(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        detail = (
            error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        )
        return problem_response(
            Problem(error.status_code, detail, headers=dict(error.headers or {}))
        )

    async def on_validation(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"message": str(e.get("msg", "invalid")), "pointer": json_pointer(e.get("loc", ()))}
            for e in error.errors()
        ]
        return problem_response(Problem(400, "the request is invalid", errors=errors))

    async def on_error(_: Request, error: Exception) -> Response:
        return problem_response(from_error(error))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(CommandError, on_error)
    app.add_exception_handler(InvalidSaga, on_error)
    app.add_exception_handler(Exception, on_error)


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        body, more, messages = 0, True, []
        while more:
            message = await receive()
            messages.append(message)
            body += len(message.get("body", b""))
            more = message.get("more_body", False) and message["type"] == "http.request"
            if body > self.limit:
                await self._refuse(scope, receive, send)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.limit // 1024} KiB"
        response = problem_response(Problem(413, detail, headers={"Connection": "close"}))
        await response(scope, receive, send)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
