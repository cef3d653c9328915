"""Field-level encryption of personal details (AES-256-GCM), with key rotation; and keyed fingerprints.

Keys come from settings as ``id:base64key`` pairs, the first being the one new data is encrypted with; older keys
stay listed until every row is re-encrypted. Each value is bound to its record and field (associated data), so a
ciphertext copied into another row or column does not decrypt. A fingerprint (of a submitted form, to spot a reused
idempotency key) is an HMAC under a key derived from the same keys: without the keys, nobody with the database can
test guesses of what a known person submitted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class FieldCipher:
    """Encrypts and decrypts single field values."""

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError("the active key must be one of the keys")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        # A separate key for fingerprints, so a MAC never uses the encryption key itself.
        self._mac_keys = {kid: hmac.digest(key, b"clinicflow intake fingerprint", "sha256")
                          for kid, key in keys.items()}
        self.active_key_id = active

    @classmethod
    def from_setting(cls, spec: str) -> FieldCipher:
        """Parse ``kid:base64key[,kid:base64key...]``; the first key is the active one."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            kid, _, encoded = item.partition(":")
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if not kid or len(key) != 32:
                raise ValueError("each encryption key is `id:base64` of 32 random bytes")
            keys[kid] = key
        if not keys:
            raise ValueError("no encryption key configured")
        return cls(keys, next(iter(keys)))

    @staticmethod
    def new_key_setting(key_id: str) -> str:
        """A fresh ``id:base64key`` entry, for local runs and rotation."""
        return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"

    def fingerprint(self, data: bytes) -> str:
        """``key id:HMAC-SHA256`` of ``data`` under the active key."""
        return f"{self.active_key_id}:{hmac.new(self._mac_keys[self.active_key_id], data, hashlib.sha256).hexdigest()}"

    def same_fingerprint(self, data: bytes, fingerprint: str) -> bool:
        """Whether ``fingerprint`` (made under any listed key) is that of ``data``."""
        kid, _, mac = fingerprint.partition(":")
        key = self._mac_keys.get(kid)
        return key is not None and hmac.compare_digest(hmac.new(key, data, hashlib.sha256).hexdigest(), mac)

    def encrypt(self, value: str | None, *, record: uuid.UUID, field: str) -> bytes | None:
        """``key id length · key id · nonce · ciphertext`` with the active key; None stays None."""
        if value is None:
            return None
        kid = self.active_key_id.encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.active_key_id].encrypt(nonce, value.encode(), f"{record}:{field}".encode())
        return bytes([len(kid)]) + kid + nonce + sealed

    def decrypt(self, blob: bytes | None, *, record: uuid.UUID, field: str) -> str | None:
        """The plaintext of a value written by :meth:`encrypt` with any configured key."""
        if blob is None:
            return None
        kid_length = blob[0]
        kid = blob[1 : 1 + kid_length].decode()
        nonce = blob[1 + kid_length : 1 + kid_length + _NONCE_BYTES]
        sealed = blob[1 + kid_length + _NONCE_BYTES :]
        return self._keys[kid].decrypt(nonce, sealed, f"{record}:{field}".encode()).decode()
