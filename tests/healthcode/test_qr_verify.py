"""The scan path checks QR signatures with libsodium; keys and signing are cryptography's.
The two Ed25519 implementations must give the same answer on every input: genuine
signatures, single flipped bits, random signatures, messages and keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.errors import FangkongError
from fangkong.healthcode.qr import QrKeys, issue_token, signature_check, verify_token

KEYS = QrKeys.generate()
OTHER = QrKeys.generate()
NOW = datetime(2022, 6, 1, 2, 0, tzinfo=UTC)


def _openssl_accepts(keys: QrKeys, signature: bytes, message: bytes) -> bool:
    try:
        keys.public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _sodium_accepts(keys: QrKeys, signature: bytes, message: bytes) -> bool:
    try:
        signature_check(keys.public_raw, signature, message)
    except InvalidSignature:
        return False
    return True


def _signed(message: bytes) -> bytes:
    assert KEYS.private is not None
    return KEYS.private.sign(message)


@given(message=st.binary(max_size=64), flip=st.integers(min_value=-1, max_value=(96 * 8) - 1))
@settings(max_examples=300, deadline=None)
def test_both_verifiers_agree_on_genuine_and_altered_signatures(message: bytes, flip: int) -> None:
    signature = bytearray(_signed(message))
    data = bytearray(message)
    if flip >= 0:  # flip one bit of the signature or of the message
        if flip < 64 * 8:
            signature[flip // 8] ^= 1 << (flip % 8)
        elif data:
            at = (flip - 64 * 8) // 8 % len(data)
            data[at] ^= 1 << (flip % 8)
    for keys in (KEYS, OTHER):
        expected = _openssl_accepts(keys, bytes(signature), bytes(data))
        assert _sodium_accepts(keys, bytes(signature), bytes(data)) == expected
    genuine = flip < 0 or (flip >= 64 * 8 and not message)
    assert _sodium_accepts(KEYS, bytes(signature), bytes(data)) == genuine


@given(signature=st.binary(min_size=0, max_size=80), message=st.binary(max_size=32))
@settings(max_examples=200, deadline=None)
def test_both_verifiers_refuse_random_signatures(signature: bytes, message: bytes) -> None:
    assert _sodium_accepts(KEYS, signature, message) == _openssl_accepts(KEYS, signature, message)
    assert not _sodium_accepts(KEYS, signature, message)


def test_tokens_verify_and_an_altered_one_is_forged() -> None:
    token = issue_token(KEYS, b"r" * 16, NOW)
    assert verify_token(KEYS, token, NOW, validity_s=60, skew_s=5).ref == b"r" * 16
    with pytest.raises(FangkongError) as caught:
        verify_token(OTHER, token, NOW, validity_s=60, skew_s=5)
    assert caught.value.code == "scan.token_forged"
    last = "A" if token[-2] != "A" else "B"
    with pytest.raises(FangkongError) as caught:
        verify_token(KEYS, token[:-2] + last + token[-1], NOW, validity_s=60, skew_s=5)
    assert caught.value.code in {"scan.token_forged", "scan.malformed"}
