"""`saga codec-server`: Temporal's remote codec endpoints, for the Web UI and the CLI.

    POST /encode   {"payloads": [{"metadata": {...}, "data": "..."}]}  -> the same, encrypted
    POST /decode   the same shape                                     -> decrypted

Payloads are in protobuf JSON (metadata values and data base64), the shape the Temporal
Web UI and `temporal --codec-endpoint` send; any path prefix before the last segment is
accepted, as the UI appends `/encode` or `/decode` to the endpoint it is given. Browsers
may call it only from the one origin configured (the Web UI's); a request from any other
origin is refused, and requests without an Origin header (command-line tools) are
served. A small Starlette app on uvicorn, like the gateway.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from interpreter.ops.codec import EncryptionCodec, PayloadKeyError

__all__ = ["CodecServer", "codec_app"]

MAX_BODY = 8 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


class CodecServer:
    """The codec endpoints on host:port (0: a free port). `start()` serves them from a
    daemon thread, `serve_forever()` in the caller's (until Ctrl-C); `stop()` ends both."""

    def __init__(
        self, codec: EncryptionCodec, *, host: str, port: int, allow_origin: str | None
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))  # OSError here: the address cannot be had
        config = uvicorn.Config(
            codec_app(codec, allow_origin), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CodecServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            threading.Event().wait(0.01)
        return self

    def serve_forever(self) -> None:
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._socket.close()


def codec_app(codec: EncryptionCodec, allow_origin: str | None) -> Starlette:
    """The codec endpoints as an ASGI app."""

    async def endpoint(request: Request) -> Response:
        allowed = _origin_allowed(request, allow_origin)
        if not allowed:
            return _reply(request, allow_origin, 403, {"error": "origin not allowed"})
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_preflight(request, allow_origin))
        route = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if route not in ("encode", "decode"):
            return _reply(request, allow_origin, 404, {"error": "use POST /encode or /decode"})
        status, body = await _convert(request, codec, route)
        return _reply(request, allow_origin, status, body)

    route = Route("/{path:path}", endpoint, methods=["POST", "OPTIONS"])
    return Starlette(routes=[route])


async def _convert(request: Request, codec: EncryptionCodec, route: str) -> tuple[int, Any]:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return 413, {"error": "body over 8 MiB"}
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return 413, {"error": "body over 8 MiB"}
    try:
        payloads = Payloads()
        json_format.Parse(raw or b"{}", payloads)
        convert = codec.encode_sync if route == "encode" else codec.decode_sync
        result = Payloads(payloads=convert(payloads.payloads))
    except (json_format.ParseError, DecodeError, UnicodeDecodeError) as err:
        return 400, {"error": f"not a payloads object: {err}"}
    except PayloadKeyError as err:
        return 400, {"error": err.message}
    return 200, json_format.MessageToDict(result)


def _origin_allowed(request: Request, allow_origin: str | None) -> bool:
    origin = request.headers.get("origin")
    return origin is None or (allow_origin is not None and origin == allow_origin)


def _cors(request: Request, allow_origin: str | None) -> dict[str, str]:
    if not (request.headers.get("origin") and allow_origin):
        return {}
    return {
        "Access-Control-Allow-Origin": allow_origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _preflight(request: Request, allow_origin: str | None) -> dict[str, str]:
    return {
        **_cors(request, allow_origin),
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    }


def _reply(request: Request, allow_origin: str | None, status: int, body: Any) -> JSONResponse:
    headers = _cors(request, allow_origin) if status != 403 else {}
    return JSONResponse(body, status_code=status, headers=headers)
