"""Encryption at rest for the secrets the state store keeps (refresh tokens, realm ids from `connect`).

AES-256-GCM from `cryptography` (authenticated: a changed byte or a wrong key fails
loudly instead of yielding garbage). The key comes from `PAIRSYNC_SECRET_KEY` or,
when that is unset, from a key file created on first use beside a SQLite state
file with mode 0600. Each value is bound to its account and key name (associated
data), so a ciphertext copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.errors import UserError
from engine.state.database import sqlite_path

KEY_VARIABLE = "PAIRSYNC_SECRET_KEY"
PREFIX = "v1:"
NONCE_BYTES = 12


class SecretKeyError(UserError):
    """The stored secrets cannot be read with the key at hand: the user reconnects or restores the key."""


@dataclass(frozen=True)
class KeySource:
    """Where the key came from, for messages (`connect` says where it lives)."""

    description: str
    created: bool = False


class SecretBox:
    """Encrypts and decrypts short secrets under one 256-bit key."""

    def __init__(self, key: bytes, source: KeySource) -> None:
        self._cipher = AESGCM(key)
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(source={self.source.description!r})"

    def seal(self, value: str, context: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, value.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, context: str, fix: str) -> str:
        """The plaintext; SecretKeyError naming `fix` when the key is not the one it was sealed with."""
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode())
        try:
            return self._cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except InvalidTag:
            raise SecretKeyError(
                f"cannot decrypt the saved credentials with the key from {self.source.description}: "
                f"the key changed or is missing; {fix}"
            ) from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def _derive(material: str) -> bytes:
    """A 256-bit key from the configured text (a random token is expected; see docs/connecting.md)."""
    return hashlib.sha256(b"pairsync-secret-key\0" + material.encode()).digest()


def key_file_for(state_url: str) -> Path | None:
    """The key file beside a SQLite state file; None for in-memory and server databases."""
    if not state_url.startswith(("sqlite:///", "sqlite+pysqlite:///")):
        return None
    path = sqlite_path(state_url)
    return Path(path).with_name(Path(path).name + ".key") if path else None


def load_box(state_url: str, environ: dict[str, str] | None = None) -> SecretBox:
    """The box for a state store: the environment's key, else the key file (created 0600 when missing)."""
    env = os.environ if environ is None else environ
    material = env.get(KEY_VARIABLE)
    if material:
        return SecretBox(_derive(material), KeySource(f"${KEY_VARIABLE}"))
    path = key_file_for(state_url)
    if path is None:
        if state_url in {"sqlite://", "sqlite:///:memory:"}:
            return SecretBox(AESGCM.generate_key(256), KeySource("a key kept in memory for this process"))
        raise SecretKeyError(
            f"set {KEY_VARIABLE} to keep credentials in a database server's state: every process that runs "
            "syncs needs the same key (for example the output of `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    created = _create_key_file(path)
    return SecretBox(_derive(path.read_text().strip()), KeySource(f"key file {path}", created=created))


def _create_key_file(path: Path) -> bool:
    """Write a new random key readable by its owner only; False when the file exists already."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return True
