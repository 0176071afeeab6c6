"""`saga codec-server`: the Temporal Web UI's decode call, answered for its origin only."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload

from interpreter.ops.codec import EncryptionCodec, load_key_ring
from interpreter.ops.codec_server import CodecServer

from .conftest import run_saga, write_key_file

UI = "http://localhost:8233"


@pytest.fixture
def codec(tmp_path: Path) -> EncryptionCodec:
    return EncryptionCodec(load_key_ring(write_key_file(tmp_path / "keys.txt", "k1")))


@pytest.fixture
def server(codec: EncryptionCodec) -> Iterator[CodecServer]:
    running = CodecServer(codec, host="127.0.0.1", port=0, allow_origin=UI).start()
    yield running
    running.stop()


def ui_shaped(payload: Payload) -> dict[str, Any]:
    """A payload as the Web UI posts it: protobuf JSON, metadata values and data base64."""
    b64 = base64.b64encode
    return {
        "metadata": {k: b64(v).decode() for k, v in payload.metadata.items()},
        "data": b64(payload.data).decode(),
    }


def post(
    server: CodecServer, path: str, body: Any, method: str = "POST", **headers: str
) -> tuple[int, Message, Any]:
    """Status, headers (looked up in any letter case, as HTTP names are) and JSON body."""
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def test_decode_answers_the_web_ui_with_the_plain_payload(
    server: CodecServer, codec: EncryptionCodec
) -> None:
    original = Payload(metadata={"encoding": b"json/plain"}, data=b'{"card":"4242"}')
    [sealed] = codec.encode_sync([original])
    status, headers, body = post(
        server,
        "/decode",
        {"payloads": [ui_shaped(sealed)]},
        Origin=UI,
        **{"X-Namespace": "default"},
    )
    assert status == 200
    assert body == {"payloads": [ui_shaped(original)]}
    assert headers["Access-Control-Allow-Origin"] == UI


def test_encode_then_decode_is_the_identity(server: CodecServer) -> None:
    original = {"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "MQ=="}
    _, _, encoded = post(server, "/encode", {"payloads": [original]})
    assert encoded["payloads"][0] != original
    _, _, decoded = post(server, "/decode", encoded)
    assert decoded == {"payloads": [original]}


def test_the_preflight_allows_the_ui_origin_and_its_headers(server: CodecServer) -> None:
    status, headers, _ = post(server, "/decode", None, method="OPTIONS", Origin=UI)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == UI
    assert "X-Namespace" in headers["Access-Control-Allow-Headers"]


def test_another_origin_is_refused(server: CodecServer) -> None:
    status, headers, _ = post(server, "/decode", {"payloads": []}, Origin="https://evil.example")
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    status, _, _ = post(server, "/decode", None, method="OPTIONS", Origin="https://evil.example")
    assert status == 403


def test_a_payload_under_an_unknown_key_is_a_clear_400(server: CodecServer, tmp_path: Path) -> None:
    stranger = EncryptionCodec(load_key_ring(write_key_file(tmp_path / "o.txt", "other")))
    [sealed] = stranger.encode_sync([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    status, _, body = post(server, "/decode", {"payloads": [ui_shaped(sealed)]})
    assert status == 400 and "key 'other'" in body["error"]


def test_a_body_that_is_not_payloads_is_a_400(server: CodecServer) -> None:
    status, _, body = post(server, "/decode", {"nope": 1})
    assert status == 400 and "not a payloads object" in body["error"]


def test_the_command_without_keys_is_a_usage_error() -> None:
    answer = run_saga("codec-server", "--port", "0")
    assert answer.returncode == 2
    assert answer.stderr.startswith("Error: no keys: give --encryption-key-file")
