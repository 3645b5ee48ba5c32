"""Encryption at rest for the originals FaultMaven keeps: the per-case mask map ({placeholder: original}),
the conversation (messages, the queries' questions, answers and events) and the replayable responses of
idempotent requests.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a MultiFernet: the first key of
FAULTMAVEN_ENCRYPTION_KEYS encrypts, every key decrypts, so a key is rotated by putting the new one first
and keeping the old ones until `faultmaven keys rotate` has re-encrypted what they protect. A copied
database file then shows none of these originals in plain text.

The cipher is attached to a database's engines (`attach_cipher`) and used by the `EncryptedJSON`,
`EncryptedText` and `EncryptedBytes` column types, so services read and write plain values and never see
ciphertext. Values stored before encryption existed read as they are and are encrypted when next written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

ENVELOPE_FIELD = "fernet"
TOKEN_PREFIX = b"fernet:"
"""Marks an encrypted text or bytes value; with the head every Fernet token has, a plain value is never
taken for one."""
_TOKEN_HEAD = TOKEN_PREFIX + b"gAAAAA"
_CIPHER_ATTRIBUTE = "faultmaven_cipher"


class MissingKeyError(RuntimeError):
    pass


class FieldCipher:
    def __init__(self, keys: list[str]):
        if not keys:
            raise MissingKeyError("no encryption key")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as error:
            raise ValueError("an encryption key is not a Fernet key (32 url-safe base64 bytes)") from error

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def decrypt_json(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as error:
            raise MissingKeyError(
                "stored data was encrypted with a key that is not in FAULTMAVEN_ENCRYPTION_KEYS"
            ) from error

    def encrypt_bytes(self, value: bytes) -> bytes:
        return self._fernet.encrypt(value)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as error:
            raise MissingKeyError(
                "stored data was encrypted with a key that is not in FAULTMAVEN_ENCRYPTION_KEYS"
            ) from error

    def rotate(self, token: str) -> str:
        """The same plaintext under the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()


def local_key(path: Path) -> str:
    """The key in `path`, created (owner-only, 0600) on first use; safe when two processes race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        key = generate_key()
        file.write(key + "\n")
    return key


CipherSource = Callable[[], FieldCipher]


def attach_cipher(engines: list[AsyncEngine], source: CipherSource) -> None:
    """Every engine of a database gets the (lazily resolved) cipher its encrypted columns use."""
    for engine in engines:
        setattr(engine.sync_engine.dialect, _CIPHER_ATTRIBUTE, source)


def _cipher(dialect: Dialect) -> FieldCipher:
    source: CipherSource | None = getattr(dialect, _CIPHER_ATTRIBUTE, None)
    if source is None:
        raise MissingKeyError("this database has no encryption key attached")
    return source()


def is_encrypted(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENVELOPE_FIELD}


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored as `{"fernet": token}`. A value stored before encryption existed reads as it
    is and is encrypted when next written."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return {ENVELOPE_FIELD: _cipher(dialect).encrypt_json(value)}

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if is_encrypted(value):
            return _cipher(dialect).decrypt_json(value[ENVELOPE_FIELD])
        return value


class EncryptedBytes(TypeDecorator[bytes]):
    """Bytes stored as `fernet:<token>`; a value stored before encryption existed reads as it is."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return TOKEN_PREFIX + _cipher(dialect).encrypt_bytes(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is not None and bytes(value).startswith(_TOKEN_HEAD):
            return _cipher(dialect).decrypt_bytes(bytes(value)[len(TOKEN_PREFIX) :])
        return value


class EncryptedText(TypeDecorator[str]):
    """Text stored as `fernet:<token>`; a value stored before encryption existed reads as it is."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return (TOKEN_PREFIX + _cipher(dialect).encrypt_bytes(value.encode())).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and value.startswith(_TOKEN_HEAD.decode()):
            return _cipher(dialect).decrypt_bytes(value[len(TOKEN_PREFIX) :].encode()).decode()
        return value
