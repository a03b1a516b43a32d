"""Sealed identifiers (加密存储): ID and phone numbers are never stored in clear.

Each number is stored twice, neither readable without the key:

- a *lookup hash* — keyed BLAKE2b-256 of the normalised value, with the kind of number
  as personalisation — so equal values find each other (an index, a join) while the
  hash says nothing to anyone without the key;
- a *seal* — AES-256-GCM with a random 96-bit nonce and the kind as associated data —
  so the value can be read back by whoever holds the key, and a blob moved to another
  kind of field, altered, or opened with another key is refused.

Both sub-keys come from one 32-byte master key through HKDF-SHA256 with distinct
``info`` labels, so a leak of one sub-key reveals neither the other nor the master key.

Blob layout: ``version (1 byte) ‖ nonce (12) ‖ ciphertext ‖ GCM tag (16)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fangkong.errors import FangkongError, Problem

if TYPE_CHECKING:
    from fangkong.settings import Settings

__all__ = ["KEY_BYTES", "SealError", "Sealer", "load_or_create_key", "normalize_for_lookup"]

KEY_BYTES = 32
_VERSION = 1
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEADER = bytes([_VERSION])
_LOOKUP_INFO = b"fangkong/identity/lookup-hash/v1"
_SEAL_INFO = b"fangkong/identity/seal/v1"


class SealError(FangkongError):
    """A sealed value could not be opened, or the sealing key is unusable (exit 2)."""

    exit_code = 2


def normalize_for_lookup(value: str) -> str:
    """The form that is hashed: NFKC (full-width → ASCII), no surrounding space, upper case.

    Callers should pass values already normalised by their checker (18-character ID,
    E.164 phone); this is the safety net that keeps ``x``/``X`` and ``１``/``1`` together.
    """
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    return text.strip().upper()


class Sealer:
    """Lookup hashes and seals under one master key (see the module docstring)."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise SealError(_key_length_problem(len(master_key)))
        self._lookup_key = _derive(master_key, _LOOKUP_INFO)
        self._aead = AESGCM(_derive(master_key, _SEAL_INFO))
        self._hashers: dict[str, hashlib.blake2b] = {}

    def lookup_hash(self, kind: str, value: str) -> bytes:
        """32-byte keyed hash of the normalised value; equal values give equal hashes."""
        hasher = self._hasher(kind).copy()
        hasher.update(normalize_for_lookup(value).encode())
        return hasher.digest()

    def lookup_hash_many(self, kind: str, values: Sequence[str]) -> list[bytes]:
        """``lookup_hash`` for many values of one kind (the keyed state is set up once)."""
        base = self._hasher(kind)
        out: list[bytes] = []
        for value in values:
            hasher = base.copy()
            hasher.update(normalize_for_lookup(value).encode())
            out.append(hasher.digest())
        return out

    def seal(self, kind: str, value: str) -> bytes:
        """Encrypt ``value``; two seals of the same value differ (random nonce)."""
        nonce = os.urandom(_NONCE_BYTES)
        return _HEADER + nonce + self._aead.encrypt(nonce, value.encode(), _aad(kind))

    def seal_many(self, kind: str, values: Sequence[str]) -> list[bytes]:
        """``seal`` for many values of one kind, drawing all nonces in one system call."""
        nonces = os.urandom(_NONCE_BYTES * len(values))
        header, aad, encrypt = _HEADER, _aad(kind), self._aead.encrypt
        out: list[bytes] = []
        for i, value in enumerate(values):
            nonce = nonces[i * _NONCE_BYTES : (i + 1) * _NONCE_BYTES]
            out.append(header + nonce + encrypt(nonce, value.encode(), aad))
        return out

    def unseal(self, kind: str, blob: bytes) -> str:
        """Decrypt a blob sealed for ``kind``; ``SealError`` if altered, foreign or misfiled."""
        if len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES:
            raise SealError(_unseal_problem("数据太短", "the blob is too short"))
        if blob[0] != _VERSION:
            raise SealError(_unseal_problem(f"未知版本 {blob[0]}", f"unknown version {blob[0]}"))
        nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, body, _aad(kind))
        except InvalidTag as exc:
            raise SealError(
                _unseal_problem(
                    "数据被改动、密钥不对，或不属于此类字段",
                    "altered, sealed under another key, or for another kind of field",
                )
            ) from exc
        return plain.decode()

    def _hasher(self, kind: str) -> hashlib.blake2b:
        # The keyed BLAKE2b state is built once per kind and copied per value.
        hasher = self._hashers.get(kind)
        if hasher is None:
            hasher = hashlib.blake2b(
                key=self._lookup_key, digest_size=32, person=_personalisation(kind)
            )
            self._hashers[kind] = hasher
        return hasher


def load_or_create_key(settings: Settings) -> bytes:
    """The 32-byte master key: ``FANGKONG_SEAL_KEY`` if set, else the key file.

    A missing key file is created with 32 random bytes in base64, mode 0600, in a
    directory of mode 0700. A key that is not 32 bytes of base64 ends with ``SealError``.
    """
    if settings.seal_key:
        return _decode_key(settings.seal_key, "FANGKONG_SEAL_KEY")
    path = settings.key_path
    if not path.exists():
        _create_key_file(path)
    return _decode_key(path.read_text(encoding="ascii", errors="replace"), str(path))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # mkdir's mode is reduced by the umask
    text = base64.b64encode(os.urandom(KEY_BYTES)) + b"\n"
    try:
        # O_EXCL: if another process created the key meanwhile, keep theirs.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SealError(
            Problem(
                "seal.key_invalid",
                f"{source} 中的密钥不是有效的 base64",
                f"the key in {source} is not valid base64",
            )
        ) from exc
    if len(key) != KEY_BYTES:
        raise SealError(_key_length_problem(len(key), source))
    return key


def _derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
        master_key
    )


@lru_cache(maxsize=64)
def _personalisation(kind: str) -> bytes:
    # BLAKE2b takes at most 16 bytes of personalisation; hashing the kind keeps any
    # length of kind name and still separates the domains.
    return hashlib.blake2b(kind.encode(), digest_size=16).digest()


@lru_cache(maxsize=64)
def _aad(kind: str) -> bytes:
    return bytes([_VERSION]) + kind.encode()


def _key_length_problem(length: int, source: str = "key") -> Problem:
    return Problem(
        "seal.key_invalid",
        f"{source}：密钥应为32字节（base64编码），实为{length}字节",
        f"{source}: the sealing key must be 32 bytes (base64), got {length}",
    )


def _unseal_problem(reason_zh: str, reason_en: str) -> Problem:
    return Problem("seal.unseal_failed", f"无法解密：{reason_zh}", f"cannot unseal: {reason_en}")
