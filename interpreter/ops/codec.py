"""Payload encryption: every payload compressed (zlib), then sealed with AES-256-GCM.

The key file holds one key per line, `ID BASE64`, where BASE64 is 32 random bytes;
blank lines and lines starting with `#` are ignored. The LAST key encrypts, every key
decrypts: rotating is appending a new line (and dropping an old one only once no
history needs it). Make a key with::

    printf '%s %s\\n' "$(date +%Y%m%d)" "$(openssl rand -base64 32)" >> saga-keys.txt

An encrypted payload has `encoding: binary/encrypted`, the key id in `encryption-key-id`
and, as data, a 12-byte nonce followed by the ciphertext of the zlib-compressed
serialized original payload. The key id and encoding are authenticated too, so a
payload moved under another key id fails to decrypt rather than decoding to garbage.

Payloads that are not encrypted pass through: histories recorded before encryption
was turned on stay readable. A process without the key refuses encrypted payloads with
`PayloadKeyError`, never a garbled value.
"""

from __future__ import annotations

import base64
import binascii
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from interpreter.client._connection import CommandError
from interpreter.exit_codes import ExitCode
from interpreter.ops.failures import (
    OutcomeFailureConverter,
    OutcomeFailureConverterWithEncodedAttributes,
)

__all__ = [
    "ENCODING",
    "KEY_FILE_ENV",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "KeyFileError",
    "KeyRing",
    "PayloadKeyError",
    "data_converter",
    "load_key_ring",
]

KEY_FILE_ENV = "SAGA_ENCRYPTION_KEY_FILE"
ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
CIPHER_METADATA = "encryption-cipher"
CIPHER = b"AES-256-GCM+zlib"
NONCE_BYTES = 12
KEY_BYTES = 32


class KeyFileError(CommandError):
    """The key file cannot be read, or a line of it is not `ID BASE64-OF-32-BYTES`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


class PayloadKeyError(CommandError):
    """An encrypted payload whose key this process lacks, or that fails authentication."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.INVALID)


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; `current` is the id that encrypts."""

    keys: Mapping[str, bytes]
    current: str
    source: str = ""
    """Where the keys came from, for error messages."""

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyFileError(f"no key {self.current!r} in the key ring")
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise KeyFileError(f"key {key_id!r} is {len(key)} bytes, not {KEY_BYTES}")


def load_key_ring(path: str | Path) -> KeyRing:
    """The keys of a key file (see the module docstring), or KeyFileError saying why not."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise KeyFileError(
            f"cannot read encryption key file {str(path)!r}: {err.strerror}"
        ) from None
    keys: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keys_id, key = _parse_line(line, f"{path}:{number}")
        keys[keys_id] = key
    if not keys:
        raise KeyFileError(f"encryption key file {str(path)!r} holds no key")
    return KeyRing(keys, current=list(keys)[-1], source=str(path))


def _parse_line(line: str, where: str) -> tuple[str, bytes]:
    parts = line.split()
    if len(parts) != 2:
        raise KeyFileError(f"{where}: expected 'ID BASE64-KEY', found {len(parts)} fields")
    key_id, encoded = parts
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise KeyFileError(f"{where}: key {key_id!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{where}: key {key_id!r} is {len(key)} bytes, not {KEY_BYTES}")
    return key_id, key


class EncryptionCodec(PayloadCodec):
    """Compress then encrypt with the ring's current key; decrypt with any of its keys.

    With no key ring, encrypted payloads are refused with a clear error and plain ones
    pass through: every client gets this codec, so a missing key is always explained.
    """

    def __init__(self, ring: KeyRing | None) -> None:
        self.ring = ring
        self._ciphers = {k: AESGCM(v) for k, v in ring.keys.items()} if ring else {}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.encode_sync(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.decode_sync(payloads)

    def encode_sync(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self.ring is None:
            return list(payloads)
        return [self._seal(payload, self.ring.current) for payload in payloads]

    def decode_sync(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(payload) for payload in payloads]

    def _seal(self, payload: Payload, key_id: str) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        plain = zlib.compress(payload.SerializeToString())
        sealed = self._ciphers[key_id].encrypt(nonce, plain, _associated(key_id))
        metadata = {
            "encoding": ENCODING,
            KEY_ID_METADATA: key_id.encode(),
            CIPHER_METADATA: CIPHER,
        }
        return Payload(metadata=metadata, data=nonce + sealed)

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(self._missing(key_id))
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = zlib.decompress(cipher.decrypt(nonce, sealed, _associated(key_id)))
        except (InvalidTag, zlib.error):
            raise PayloadKeyError(
                f"an encrypted payload does not decrypt with key {key_id!r} "
                f"from {self._where()}: the key is wrong or the payload was altered"
            ) from None
        original = Payload()
        original.ParseFromString(plain)
        return original

    def _missing(self, key_id: str) -> str:
        if self.ring is None:
            return (
                f"the saga's data is encrypted (key {key_id!r}) and no key is configured: "
                f"set {KEY_FILE_ENV} (or --encryption-key-file) to the key file"
            )
        return (
            f"the saga's data is encrypted with key {key_id!r}, which is not in "
            f"{self._where()} (it has: {', '.join(self.ring.keys)})"
        )

    def _where(self) -> str:
        return repr(self.ring.source) if self.ring and self.ring.source else "the key ring"


def _associated(key_id: str) -> bytes:
    return ENCODING + b"\0" + key_id.encode()


def data_converter(
    key_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> DataConverter:
    """Temporal's default converter with the encryption codec: keys from `key_file`, else
    from SAGA_ENCRYPTION_KEY_FILE, else none (encrypted payloads are then refused); a
    saga's outcomes are written without stack traces (`failures`)."""
    environ = os.environ if environ is None else environ
    path = key_file or environ.get(KEY_FILE_ENV) or None
    ring = load_key_ring(path) if path else None
    if ring is None:
        return DataConverter(
            payload_codec=EncryptionCodec(None), failure_converter_class=OutcomeFailureConverter
        )
    # Failure messages ("POST http://...: 409 Conflict: <the response>") are encrypted too.
    return DataConverter(
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=OutcomeFailureConverterWithEncodedAttributes,
    )
