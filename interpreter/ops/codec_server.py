"""`saga codec-server`: Temporal's remote codec endpoints, for the Web UI and the CLI.

    POST /encode   {"payloads": [{"metadata": {...}, "data": "..."}]}  -> the same, encrypted
    POST /decode   the same shape                                     -> decrypted

Payloads are in protobuf JSON (metadata values and data base64), the shape the Temporal
Web UI and `temporal --codec-endpoint` send. Browsers may call it only from the one
origin configured (the Web UI's); a request from any other origin is refused, and
requests without an Origin header (command-line tools) are served.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads

from interpreter.ops.codec import EncryptionCodec, PayloadKeyError

__all__ = ["CodecServer"]

MAX_BODY = 8 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


class CodecServer:
    """The codec endpoints on host:port (0: a free port), served from a daemon thread."""

    def __init__(
        self, codec: EncryptionCodec, *, host: str, port: int, allow_origin: str | None
    ) -> None:
        handler = type("Handler", (_Handler,), {"codec": codec, "origin": allow_origin})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CodecServer:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    codec: EncryptionCodec
    origin: str | None
    server_version = "saga-codec-server"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request on stderr would only be noise beside the UI's polling

    def do_OPTIONS(self) -> None:
        if not self._origin_allowed():
            self._reply(HTTPStatus.FORBIDDEN, {"error": "origin not allowed"})
            return
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        route = self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if route not in ("encode", "decode"):
            self._reply(HTTPStatus.NOT_FOUND, {"error": "use POST /encode or POST /decode"})
        elif not self._origin_allowed():
            self._reply(HTTPStatus.FORBIDDEN, {"error": "origin not allowed"})
        else:
            self._convert(route)

    def _convert(self, route: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body over 8 MiB"})
            return
        try:
            payloads = Payloads()
            json_format.Parse(self.rfile.read(length) or b"{}", payloads)
            convert = self.codec.encode_sync if route == "encode" else self.codec.decode_sync
            result = Payloads(payloads=convert(payloads.payloads))
        except (json_format.ParseError, DecodeError, UnicodeDecodeError) as err:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": f"not a payloads object: {err}"})
            return
        except PayloadKeyError as err:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": err.message})
            return
        self._reply(HTTPStatus.OK, json_format.MessageToDict(result))

    def _origin_allowed(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is None or (self.origin is not None and origin == self.origin)

    def _cors(self) -> None:
        if self.headers.get("Origin") and self.origin:
            self.send_header("Access-Control-Allow-Origin", self.origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")

    def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        if status != HTTPStatus.FORBIDDEN:
            self._cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
