"""Encryption at rest for sensitive columns and keyed blind indexes for lookups."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _key_material(raw: str) -> bytes:
    """Accept a urlsafe-base64 Fernet key; anything else is stretched into one by HKDF."""
    try:
        key = base64.urlsafe_b64decode(raw.encode())
        if len(key) == 32:
            return raw.encode()
    except ValueError:
        pass
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"eldercare-data-key"
    ).derive(raw.encode())
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=8)
def _fernet_for(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(_key_material(k.strip())) for k in keys.split(",") if k.strip()])


@lru_cache(maxsize=8)
def _blind_key_for(explicit: str | None, data_keys: str) -> bytes:
    """The HMAC key of blind indexes, which must never change while indexes are stored.

    Without BLIND_INDEX_KEY it comes from the *oldest* data key (the last in the list): a
    rotation puts the new key in front, so the index stays valid. Before that oldest key is
    dropped from DATA_ENCRYPTION_KEY, it must be set as BLIND_INDEX_KEY (same derivation).
    """
    material = explicit or [k.strip() for k in data_keys.split(",") if k.strip()][-1]
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"eldercare-blind-index"
    ).derive(material.encode())


def _data_keys() -> str:
    keys = current_app.config.get("DATA_ENCRYPTION_KEY")
    if not keys:
        raise RuntimeError("DATA_ENCRYPTION_KEY is not configured")
    return keys


def encrypt(plaintext: str) -> str:
    return _fernet_for(_data_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet_for(_data_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("cannot decrypt a stored value: wrong DATA_ENCRYPTION_KEY?") from exc


def blind_index(value: str, purpose: str) -> str:
    """Keyed HMAC of a normalised value: equal inputs match, the value cannot be read back."""
    key = _blind_key_for(current_app.config.get("BLIND_INDEX_KEY"), _data_keys())
    msg = f"{purpose}:{value.strip().upper()}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """Digest of a high-entropy secret (API tokens): a plain SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


class EncryptedString(sa.types.TypeDecorator):
    """A text column whose value is Fernet-encrypted in the database."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return decrypt(value)
