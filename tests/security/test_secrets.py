"""Master key loading and AES-GCM secret boxes."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from orchard.errors import PermissionDenied, ValidationError
from orchard.security.secrets import (
    FORMAT_VERSION,
    KEY_FILE_NAME,
    MASTER_KEY_ENV,
    NONCE_BYTES,
    SecretBox,
    key_id,
    load_master_key,
)

PLAINTEXT = b'{"account_key": "super-secret"}'


# --- load_master_key --------------------------------------------------------------------


def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = load_master_key(home)
    path = home / KEY_FILE_NAME
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.urlsafe_b64decode(path.read_text().strip()) == key
    assert load_master_key(home) == key  # read back, not replaced
    assert os.listdir(home) == [KEY_FILE_NAME]  # no temporary file left


def test_each_home_gets_its_own_random_key(tmp_path: Path) -> None:
    assert load_master_key(tmp_path / "a") != load_master_key(tmp_path / "b")


@pytest.mark.parametrize("wide", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_a_key_file_readable_by_others_is_refused(tmp_path: Path, wide: int) -> None:
    load_master_key(tmp_path)
    path = tmp_path / KEY_FILE_NAME
    path.chmod(wide)
    with pytest.raises(ValidationError) as caught:
        load_master_key(tmp_path)
    assert caught.value.message == (
        f"master key file {path} has mode {wide:#o}; it must be 0600 (run: chmod 600 {path})"
    )


def test_a_key_file_without_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text("not a key")
    path.chmod(0o600)
    with pytest.raises(ValidationError, match=f"master key file {path} does not hold a key"):
        load_master_key(tmp_path)


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    start = threading.Barrier(8)
    keys: list[bytes] = []

    def load() -> None:
        start.wait()
        keys.append(load_master_key(home))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert os.listdir(home) == [KEY_FILE_NAME]


def test_env_key_in_base64_is_used_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = bytes(range(32))
    monkeypatch.setenv(MASTER_KEY_ENV, base64.urlsafe_b64encode(raw).decode())
    assert load_master_key(tmp_path) == raw
    assert not (tmp_path / KEY_FILE_NAME).exists()  # the environment wins; no file made


def test_env_key_without_padding_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = bytes(range(100, 132))
    monkeypatch.setenv(MASTER_KEY_ENV, base64.urlsafe_b64encode(raw).decode().rstrip("="))
    assert load_master_key(tmp_path) == raw


def test_a_passphrase_is_stretched_to_a_stable_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, "correct horse battery staple")
    first = load_master_key(tmp_path)
    assert len(first) == 32
    assert first != b"correct horse battery staple".ljust(32, b"\0")
    assert load_master_key(tmp_path / "elsewhere") == first  # same passphrase, same key
    monkeypatch.setenv(MASTER_KEY_ENV, "correct horse battery stapler")
    assert load_master_key(tmp_path) != first


def test_base64_of_the_wrong_length_counts_as_a_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = base64.urlsafe_b64encode(bytes(16)).decode()
    monkeypatch.setenv(MASTER_KEY_ENV, short)
    key = load_master_key(tmp_path)
    assert len(key) == 32 and key != bytes(32)


def test_an_empty_env_value_falls_back_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, "   ")
    key = load_master_key(tmp_path)
    assert (tmp_path / KEY_FILE_NAME).exists()
    assert load_master_key(tmp_path) == key


# --- SecretBox --------------------------------------------------------------------------


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))


def test_round_trip(box: SecretBox) -> None:
    token = box.encrypt(PLAINTEXT, context="ws1/datastore/blob")
    assert box.decrypt(token, context="ws1/datastore/blob") == PLAINTEXT
    assert box.decrypt(box.encrypt(b"", context="c"), context="c") == b""


def test_token_layout_and_fresh_nonces(box: SecretBox) -> None:
    one = box.encrypt(PLAINTEXT, context="c")
    two = box.encrypt(PLAINTEXT, context="c")
    assert one[0] == FORMAT_VERSION
    assert len(one) == 1 + NONCE_BYTES + len(PLAINTEXT) + 16
    assert one[1 : 1 + NONCE_BYTES] != two[1 : 1 + NONCE_BYTES]
    assert one != two
    assert PLAINTEXT not in one


def test_a_wrong_key_is_refused(box: SecretBox) -> None:
    token = box.encrypt(PLAINTEXT, context="ws1/secret")
    with pytest.raises(PermissionDenied) as caught:
        SecretBox(os.urandom(32)).decrypt(token, context="ws1/secret")
    assert caught.value.message == (
        "cannot decrypt secret 'ws1/secret': wrong master key or tampered value"
    )
    assert "super-secret" not in str(caught.value)


@pytest.mark.parametrize("position", [0, 1, NONCE_BYTES, NONCE_BYTES + 1, -1])
def test_a_tampered_token_is_refused(box: SecretBox, position: int) -> None:
    token = bytearray(box.encrypt(PLAINTEXT, context="c"))
    token[position] ^= 0x01
    with pytest.raises(PermissionDenied, match="wrong master key or tampered value"):
        box.decrypt(bytes(token), context="c")


@pytest.mark.parametrize("length", [0, 1, NONCE_BYTES, NONCE_BYTES + 16])
def test_a_truncated_token_is_refused(box: SecretBox, length: int) -> None:
    token = box.encrypt(PLAINTEXT, context="c")
    with pytest.raises(PermissionDenied, match="wrong master key or tampered value"):
        box.decrypt(token[:length], context="c")


def test_a_token_moved_to_another_secret_is_refused(box: SecretBox) -> None:
    token = box.encrypt(PLAINTEXT, context="ws1/datastore/blob")
    with pytest.raises(PermissionDenied, match="cannot decrypt secret 'ws1/datastore/other'"):
        box.decrypt(token, context="ws1/datastore/other")


def test_a_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValidationError, match="a master key is 32 bytes, not 16"):
        SecretBox(bytes(16))


def test_repr_shows_only_the_key_id() -> None:
    key = bytes(range(32))
    assert repr(SecretBox(key)) == f"SecretBox(key_id={key_id(key)!r})"
    assert key.hex() not in repr(SecretBox(key))


def test_key_id_is_a_short_stable_fingerprint() -> None:
    key = bytes(32)
    assert key_id(key) == "66687aadf862bd77"  # first 16 hex of sha256 of 32 zero bytes
    assert key_id(key) != key_id(bytes(31) + b"\x01")
    assert SecretBox(key).key_id == key_id(key)
