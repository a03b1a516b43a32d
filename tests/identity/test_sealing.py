"""Sealed identifiers: lookup hashes, AES-GCM seals, the key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.identity.sealing import Sealer, SealError, load_or_create_key
from fangkong.settings import Settings, load_settings

KEY = bytes(range(32))
ID = "11010519491231002X"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY)


def settings_for(home: Path, seal_key: str = "") -> Settings:
    return load_settings({"FANGKONG_HOME": str(home), "FANGKONG_SEAL_KEY": seal_key})


def test_round_trip(sealer: Sealer) -> None:
    assert sealer.unseal("resident_id", sealer.seal("resident_id", ID)) == ID
    assert sealer.unseal("name", sealer.seal("name", "欧阳娜娜")) == "欧阳娜娜"


@given(st.text(max_size=50))
def test_round_trip_any_text(value: str) -> None:
    sealer = Sealer(KEY)
    assert sealer.unseal("k", sealer.seal("k", value)) == value


def test_wrong_key_fails(sealer: Sealer) -> None:
    blob = sealer.seal("resident_id", ID)
    with pytest.raises(SealError) as caught:
        Sealer(bytes(32)).unseal("resident_id", blob)
    assert caught.value.code == "seal.unseal_failed"
    assert caught.value.problem.message_zh.startswith("无法解密")


@pytest.mark.parametrize("position", [0, 1, 12, 13, -1])
def test_tampered_blob_fails(sealer: Sealer, position: int) -> None:
    blob = bytearray(sealer.seal("resident_id", ID))
    blob[position] ^= 0x01
    with pytest.raises(SealError):
        sealer.unseal("resident_id", bytes(blob))


def test_truncated_blob_fails(sealer: Sealer) -> None:
    with pytest.raises(SealError):
        sealer.unseal("resident_id", sealer.seal("resident_id", ID)[:20])


def test_wrong_kind_fails(sealer: Sealer) -> None:
    blob = sealer.seal("resident_id", ID)
    with pytest.raises(SealError):
        sealer.unseal("phone", blob)


def test_ciphertext_does_not_contain_the_plaintext(sealer: Sealer) -> None:
    blob = sealer.seal("resident_id", ID)
    assert ID.encode() not in blob
    assert b"19491231" not in blob
    assert len(blob) == 1 + 12 + len(ID) + 16


def test_seals_differ_while_lookup_hashes_agree(sealer: Sealer) -> None:
    assert sealer.seal("resident_id", ID) != sealer.seal("resident_id", ID)
    first = sealer.lookup_hash("resident_id", ID)
    assert first == sealer.lookup_hash("resident_id", ID)
    assert first == sealer.lookup_hash("resident_id", " 11010519491231002x ")
    assert len(first) == 32


def test_lookup_hashes_separate_kinds_and_keys(sealer: Sealer) -> None:
    base = sealer.lookup_hash("resident_id", ID)
    assert base != sealer.lookup_hash("passport", ID)
    assert base != Sealer(bytes(32)).lookup_hash("resident_id", ID)
    assert base != sealer.lookup_hash("resident_id", "11010519491231001X")
    long_kind = "a kind name longer than sixteen bytes"
    assert sealer.lookup_hash(long_kind, ID) != sealer.lookup_hash(long_kind + "!", ID)


def test_batches_match_single_calls(sealer: Sealer) -> None:
    values = [ID, "13812341234", "", "欧阳娜娜"]
    assert sealer.lookup_hash_many("k", values) == [sealer.lookup_hash("k", v) for v in values]
    blobs = sealer.seal_many("k", values)
    assert [sealer.unseal("k", b) for b in blobs] == values
    assert len({b[1:13] for b in blobs}) == len(values)  # every nonce differs


def test_master_key_must_be_32_bytes() -> None:
    with pytest.raises(SealError) as caught:
        Sealer(b"short")
    assert caught.value.code == "seal.key_invalid"


def test_key_file_is_created_private_and_reread(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "home")
    key = load_or_create_key(settings)
    assert len(key) == 32
    path = settings.key_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert base64.b64decode(path.read_text()) == key
    assert load_or_create_key(settings) == key


def test_key_from_the_setting(tmp_path: Path) -> None:
    key = os.urandom(32)
    settings = settings_for(tmp_path, base64.b64encode(key).decode())
    assert load_or_create_key(settings) == key
    assert not settings.key_path.exists()


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"16 bytes, not 32").decode()])
def test_bad_key_setting_is_a_clear_error(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SealError) as caught:
        load_or_create_key(settings_for(tmp_path, bad))
    assert caught.value.code == "seal.key_invalid"
    assert "FANGKONG_SEAL_KEY" in caught.value.problem.message_en
    assert "FANGKONG_SEAL_KEY" in caught.value.problem.message_zh


def test_bad_key_file_is_a_clear_error(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.key_path.parent.mkdir(parents=True)
    settings.key_path.write_text("c2hvcnQ=\n")
    with pytest.raises(SealError) as caught:
        load_or_create_key(settings)
    assert caught.value.code == "seal.key_invalid"
    assert str(settings.key_path) in caught.value.problem.message_en
