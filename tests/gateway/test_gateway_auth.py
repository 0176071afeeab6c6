"""API keys: 401 without a valid key, 403 for a read key on a write endpoint, loopback only
without a keys file, keys never logged."""

from __future__ import annotations

import subprocess

import pytest

from interpreter.dev.demo import DemoService

from .conftest import READ_KEY, SAGA, WRITE_KEY, Gateway, GatewayFactory, definition, step


@pytest.fixture
def guarded(gateway_factory: GatewayFactory, service: DemoService) -> Gateway:
    gateway = gateway_factory(keys=True)
    gateway.write(definition("order", [step(service, "a")]))
    return gateway.start()


def test_no_key_or_a_wrong_key_is_a_401(guarded: Gateway) -> None:
    for key in (None, "wrong-key"):
        with guarded.client(key) as http:
            headers = {} if key is None else {"Authorization": f"Bearer {key}"}
            answer = http.get("/sagas", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_read_key_reads_but_may_not_write(guarded: Gateway) -> None:
    with guarded.client(READ_KEY) as http:
        assert http.get("/sagas").status_code == 200
        assert http.get("/me").json() == {"name": "viewer", "scope": "read"}
        refused = http.post("/sagas/order/runs", json={})
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:saga:problem:forbidden"


def test_a_write_key_starts_runs(guarded: Gateway) -> None:
    with guarded.client(WRITE_KEY) as http:
        assert http.get("/me").json() == {"name": "ops", "scope": "write"}
        assert http.post("/sagas/order/runs", json={}).status_code == 201


def test_health_needs_no_key_but_me_does(guarded: Gateway) -> None:
    with guarded.client(None) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/readyz").status_code == 200
        assert http.get("/me").status_code == 401


def test_keys_never_reach_the_log(guarded: Gateway) -> None:
    with guarded.client(WRITE_KEY) as http:
        http.get("/sagas")
    with guarded.client("a-wrong-key-to-log") as http:
        http.get("/sagas")
    guarded.stop()
    assert guarded.log is not None
    log = guarded.log.read_text()
    assert "GET /sagas" in log
    assert WRITE_KEY not in log and "a-wrong-key-to-log" not in log


def test_without_a_keys_file_any_other_host_than_loopback_is_refused(tmp_path: object) -> None:
    done = subprocess.run([SAGA, "serve", "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("Error: refusing to listen on 0.0.0.0")
    assert "Traceback" not in done.stderr


def test_a_malformed_keys_file_is_a_usage_error_that_hides_the_key(tmp_path: object) -> None:
    from pathlib import Path

    keys = Path(str(tmp_path)) / "keys"
    keys.write_text("ops:admin:top-secret-value\n")
    done = subprocess.run([SAGA, "serve", "--api-keys", str(keys), "--port", "0"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "unknown scope 'admin'" in done.stderr
    assert "top-secret-value" not in done.stderr
