"""The workspace master key and authenticated encryption of secrets at rest.

Datastore keys, service-principal secrets and endpoint keys are stored encrypted with
AES-256-GCM under one master key. Each ciphertext is bound to its ``context`` (the
secret's name or row identity) as associated data, so a value copied into another
secret's row does not decrypt there.

Token layout: ``version (1 byte) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes)``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from orchard.errors import PermissionDenied, ValidationError

MASTER_KEY_ENV = "ORCHARD_MASTER_KEY"
KEY_FILE_NAME = "master.key"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FORMAT_VERSION = 1
# Fixed, public salt: it only separates Orchard's derivation from other uses of the
# same passphrase; the passphrase itself is the secret.
_PASSPHRASE_SALT = b"orchard-master-key-v1"
# urlsafe base64 of exactly 32 bytes: 43 alphabet characters and optional padding.
# Checked by pattern because the decoder silently drops characters outside its alphabet.
_ENCODED_KEY = re.compile(r"^[A-Za-z0-9_-]{43}=?$")


def load_master_key(home: Path) -> bytes:
    """The 32-byte master key: from ``ORCHARD_MASTER_KEY``, else ``home/master.key``.

    The environment value is either urlsafe base64 of 32 bytes or a passphrase, which is
    stretched with HKDF-SHA256. The key file is created (mode 0600) on first use; one
    readable by group or others is refused.
    """
    configured = os.environ.get(MASTER_KEY_ENV, "").strip()
    if configured:
        return _key_from_text(configured)
    path = home / KEY_FILE_NAME
    if not os.path.lexists(path):
        _create_key_file(path)
    return _read_key_file(path)


def key_id(key: bytes) -> str:
    """A short fingerprint of ``key``, recorded beside each ciphertext for rotation."""
    return hashlib.sha256(key).hexdigest()[:16]


class SecretBox:
    """AES-256-GCM encryption with a random nonce and the secret's context bound in."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValidationError(f"a master key is {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        self.key_id = key_id(key)

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id!r})"

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, _associated_data(FORMAT_VERSION, context))
        return bytes([FORMAT_VERSION]) + nonce + sealed

    def decrypt(self, token: bytes, *, context: str) -> bytes:
        refused = PermissionDenied(
            f"cannot decrypt secret {context!r}: wrong master key or tampered value"
        )
        if len(token) < 1 + NONCE_BYTES + TAG_BYTES or token[0] != FORMAT_VERSION:
            raise refused
        nonce, sealed = token[1 : 1 + NONCE_BYTES], token[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, _associated_data(token[0], context))
        except InvalidTag:
            raise refused from None


def _associated_data(version: int, context: str) -> bytes:
    # The version is authenticated too, so a token cannot be replayed under another format.
    return bytes([version]) + b"\0" + context.encode("utf-8")


def _key_from_text(text: str) -> bytes:
    decoded = _decode_key(text)
    if decoded is not None:
        return decoded
    hkdf = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=_PASSPHRASE_SALT, info=b"master")
    return hkdf.derive(text.encode("utf-8"))


def _decode_key(text: str) -> bytes | None:
    if not _ENCODED_KEY.match(text):
        return None
    raw = base64.urlsafe_b64decode(text.rstrip("=") + "=")
    return raw if len(raw) == KEY_BYTES else None


def _create_key_file(path: Path) -> None:
    """Write a fresh key so that ``path`` appears complete or not at all.

    The key goes to a private temporary file first (``O_EXCL``, mode 0600) and is then
    hard-linked to ``path``; the link fails if another process got there first, and
    that process's key is the one every process then reads.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(os.urandom(KEY_BYTES)) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        # Losing the race is fine: the winner's key stands and the caller reads it.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_key_file(path: Path) -> bytes:
    mode = os.stat(path).st_mode & 0o777
    # Windows has no POSIX modes to check; its ACLs are the user's business there.
    if os.name != "nt" and mode & 0o077:
        raise ValidationError(
            f"master key file {path} has mode {mode:#o}; it must be 0600 (run: chmod 600 {path})",
            details={"file": str(path), "mode": f"{mode:#o}"},
        )
    key = _decode_key(path.read_text(encoding="ascii", errors="replace").strip())
    if key is None:
        raise ValidationError(
            f"master key file {path} does not hold a key (urlsafe base64 of {KEY_BYTES} bytes)"
        )
    return key
