"""Payload encryption: nothing readable in the history, everything readable with the key,
a clear refusal without it."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from interpreter.client import ConnectionSettings, connect, saga_report
from interpreter.client._connection import CommandError
from interpreter.ops.codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    KeyFileError,
    KeyRing,
    PayloadKeyError,
    data_converter,
    load_key_ring,
)
from interpreter.worker._worker import build_worker

from .conftest import run_saga, saga, saga_env, start, step, write_key_file

MARKER = "plaintext-marker-7f3a"


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def ring(tmp_path: Path, *ids: str) -> KeyRing:
    return load_key_ring(write_key_file(tmp_path / "keys.txt", *ids))


# --- the codec on its own ---------------------------------------------------------------


async def test_round_trip_restores_the_payload_and_hides_it(tmp_path: Path) -> None:
    codec = EncryptionCodec(ring(tmp_path, "k1"))
    [sealed] = await codec.encode([plain(MARKER * 20)])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert MARKER.encode() not in sealed.data
    assert await codec.decode([sealed]) == [plain(MARKER * 20)]


async def test_compression_comes_before_encryption(tmp_path: Path) -> None:
    codec = EncryptionCodec(ring(tmp_path, "k1"))
    original = plain("x" * 10_000)
    [sealed] = await codec.encode([original])
    assert len(sealed.data) < len(original.data) / 10  # ciphertext does not compress


async def test_the_last_key_encrypts_and_every_key_decrypts(tmp_path: Path) -> None:
    old = EncryptionCodec(ring(tmp_path, "2024"))
    [before_rotation] = await old.encode([plain("old")])
    path = tmp_path / "keys.txt"
    new_line = f"2025 {base64.b64encode(b'n' * 32).decode()}\n"
    path.write_text(path.read_text() + new_line)
    rotated = EncryptionCodec(load_key_ring(path))
    [after_rotation] = await rotated.encode([plain("new")])
    assert after_rotation.metadata[KEY_ID_METADATA] == b"2025"
    assert await rotated.decode([before_rotation, after_rotation]) == [plain("old"), plain("new")]


async def test_a_missing_key_is_refused_by_name(tmp_path: Path) -> None:
    [sealed] = await EncryptionCodec(ring(tmp_path, "gone")).encode([plain("x")])
    other = EncryptionCodec(load_key_ring(write_key_file(tmp_path / "other.txt", "k9")))
    with pytest.raises(PayloadKeyError, match="key 'gone', which is not in .*it has: k9"):
        await other.decode([sealed])
    with pytest.raises(PayloadKeyError, match="no key is configured: set SAGA_ENCRYPTION"):
        await EncryptionCodec(None).decode([sealed])


async def test_a_wrong_key_with_the_same_id_is_refused_not_garbled(tmp_path: Path) -> None:
    [sealed] = await EncryptionCodec(ring(tmp_path, "k1")).encode([plain("x")])
    impostor = EncryptionCodec(load_key_ring(write_key_file(tmp_path / "b.txt", "k1")))
    with pytest.raises(PayloadKeyError, match="does not decrypt with key 'k1'"):
        await impostor.decode([sealed])


async def test_a_payload_moved_under_another_key_id_is_refused(tmp_path: Path) -> None:
    keys = ring(tmp_path, "a", "b")
    codec = EncryptionCodec(keys)
    [sealed] = await codec.encode([plain("x")])
    sealed.metadata[KEY_ID_METADATA] = b"a"  # sealed with "b"; the id is authenticated
    with pytest.raises(PayloadKeyError, match="the key is wrong or the payload was altered"):
        await codec.decode([sealed])


async def test_plain_payloads_pass_through_so_old_histories_stay_readable(
    tmp_path: Path,
) -> None:
    assert await EncryptionCodec(ring(tmp_path, "k1")).decode([plain("old")]) == [plain("old")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        ("k1\n", "expected 'ID BASE64-KEY', found 1 fields"),
        ("k1 not*base64\n", "key 'k1' is not valid base64"),
        (f"k1 {base64.b64encode(b'short').decode()}\n", "key 'k1' is 5 bytes, not 32"),
    ],
)
def test_a_malformed_key_file_says_which_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(text)
    with pytest.raises(KeyFileError, match=message):
        load_key_ring(path)


def test_an_unreadable_key_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read encryption key file") as caught:
        data_converter(tmp_path / "absent.txt")
    assert caught.value.exit_code == 2


def test_comments_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = write_key_file(tmp_path / "keys.txt", "k1", "k2")
    path.write_text("# rotated monthly\n\n" + path.read_text())
    assert load_key_ring(path).current == "k2"


def test_the_documented_python_one_liner_makes_a_loadable_key(tmp_path: Path) -> None:
    one_liner = (
        "import base64,os,time;"
        "print(time.strftime('%Y%m%d'), base64.b64encode(os.urandom(32)).decode())"
    )
    line = subprocess.run(
        [sys.executable, "-c", one_liner], capture_output=True, text=True, check=True
    ).stdout
    (tmp_path / "keys.txt").write_text(line)
    assert len(load_key_ring(tmp_path / "keys.txt").keys) == 1


def test_the_documented_openssl_one_liner_makes_a_loadable_key(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    path = tmp_path / "keys.txt"
    command = f'printf \'%s %s\\n\' "$(date +%Y%m%d)" "$(openssl rand -base64 32)" >> {path}'
    subprocess.run(["sh", "-c", command], check=True)
    assert len(load_key_ring(path).keys) == 1


# --- with the real worker and dev server ----------------------------------------------


async def encrypted_client(address: str, key_file: Path) -> Client:
    return await connect(ConnectionSettings(address=address, encryption_key_file=str(key_file)))


async def test_history_holds_no_plaintext_and_the_report_reads_with_the_key(
    temporal: WorkflowEnvironment, address: str, task_queue: str, services, tmp_path: Path
) -> None:
    svc = services("shop")
    svc.fail("POST", "/second", status=400)
    keys = write_key_file(tmp_path / "keys.txt", "k1")
    client = await encrypted_client(address, keys)
    definition = saga([step(svc, "first"), step(svc, "second")], output={"x": MARKER})
    async with build_worker(client, task_queue):
        handle = await start(client, definition, task_queue, input={"secret": MARKER})
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        report, _ = await saga_report(client, handle.id)
    assert report.status == "COMPENSATED" and report.failed_step == "second"
    # The services saw the real data: encryption is only about what Temporal stores.
    history = (await temporal.client.get_workflow_handle(handle.id).fetch_history()).to_json()
    assert MARKER not in history  # the input and the output
    assert "COMPENSATED" not in history and "failed_step" not in history  # the report
    assert svc.url not in history  # requests, and the failures' messages that name them
    assert base64.b64encode(ENCODING).decode() in history


async def test_without_the_key_the_report_is_refused_clearly(
    address: str, task_queue: str, services, tmp_path: Path
) -> None:
    svc = services("shop")
    keys = write_key_file(tmp_path / "keys.txt", "k1")
    client = await encrypted_client(address, keys)
    async with build_worker(client, task_queue):
        handle = await start(client, saga([step(svc, "only")]), task_queue, {"s": MARKER})
        await handle.result()
    keyless = await connect(ConnectionSettings(address=address))
    with pytest.raises(CommandError, match=r"encrypted \(key 'k1'\) and no key is configured"):
        await saga_report(keyless, handle.id)


async def test_the_cli_reads_with_the_key_file_and_refuses_without(
    address: str, task_queue: str, services, tmp_path: Path
) -> None:
    svc = services("shop")
    keys = write_key_file(tmp_path / "keys.txt", "k1")
    client = await encrypted_client(address, keys)
    async with build_worker(client, task_queue):
        handle = await start(client, saga([step(svc, "only")]), task_queue, {"s": MARKER})
        await handle.result()
    refused = run_saga("result", handle.id, "--address", address)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith("Error: ") and "SAGA_ENCRYPTION_KEY_FILE" in refused.stderr
    assert "Traceback" not in refused.stderr
    by_flag = run_saga(
        "result", handle.id, "--address", address, "--encryption-key-file", str(keys)
    )
    by_env = run_saga(
        "result", handle.id, "--address", address, env=saga_env(SAGA_ENCRYPTION_KEY_FILE=str(keys))
    )
    for answer in (by_flag, by_env):
        assert answer.returncode == 0, answer.stderr
        assert list(json.loads(answer.stdout)) == ["only"]
