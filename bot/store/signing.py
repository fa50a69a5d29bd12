"""Ed25519 signatures on chain heads, so that a chain re-hashed by someone holding only the file fails.

The private key lives in its own file (named in the settings, created on first start with 0600
permissions), never in the database; the public key is written beside it (`<key>.pub`) for
`python -m bot verify --public-key`, and into the database so that an export can carry it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

_CONTEXT = b"roundtable chain head v1\n"


def head_message(guild_id: int, stream: str, seq: int, head: str) -> bytes:
    """What a signature covers: the head and where it sits.

    The guild is part of it because an event's `guild_id` column is not in its hash (the hash
    format predates it and existing chains must keep verifying): a signed head pins its guild.
    """
    return _CONTEXT + f"{int(guild_id)}\n{stream}\n{int(seq)}\n{head}".encode()


def key_id(public_key: bytes) -> str:
    """A short fingerprint that names a key in reports and exports."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def encode_public_key(public_key: bytes) -> str:
    return base64.b64encode(public_key).decode()


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key. Signing is thread-safe, so the store signs on its connection's thread."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode()

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        """The key in `path`, made (0600, never overwritten) when the file does not exist yet."""
        path = Path(path)
        if path.exists():
            return cls.load(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        signer = cls.generate()
        pem = signer.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # O_EXCL: two starts racing never both write a key; 0600 from the first byte, not after a chmod.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        public = path.with_name(path.name + ".pub")
        public.write_text(public_pem(signer.public_key))
        log.warning("created a new signing key %s (public key %s, id %s)", path, public, signer.key_id)
        return signer

    @classmethod
    def load(cls, path: Path) -> Signer:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)


def public_pem(public_key: bytes) -> str:
    return (
        Ed25519PublicKey.from_public_bytes(public_key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_public_key(path: Path) -> bytes:
    """A public key file: PEM (as written beside the private key) or the raw key in base64."""
    data = Path(path).read_bytes().strip()
    if data.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = base64.b64decode(data, validate=True)
    if len(raw) != 32:
        raise ValueError(f"{path} is not an Ed25519 public key")
    return raw


def signature_valid(public_key: bytes, message: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
