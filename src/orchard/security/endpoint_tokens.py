"""Scoring tokens of `auth_mode: aml_token` online endpoints: short-lived, for one endpoint.

A token is `<claims>.<signature>`, both base64url: the claims name the endpoint and when
the token expires; the signature is an HMAC-SHA256 of the claims under a key derived from
the endpoint's primary key, so regenerating that key revokes every token issued with it,
and nothing but the store that holds the key can issue one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

TOKEN_SECONDS = 3600  # Azure's aml_token lasts an hour; clients refresh after half of it
_PURPOSE = b"orchard online endpoint aml_token v1"


def issue_token(primary_key: str, endpoint: str, now: float) -> tuple[str, int]:
    """A token for scoring `endpoint`, and when it expires (epoch seconds)."""
    expires = int(now) + TOKEN_SECONDS
    claims = _encode(json.dumps({"endpoint": endpoint, "exp": expires}, sort_keys=True).encode())
    return f"{claims}.{_encode(_sign(primary_key, claims))}", expires


def token_valid(primary_key: str, endpoint: str, token: str, now: float) -> bool:
    """Signed under this key, for this endpoint, and not expired."""
    claims, dot, signature = token.partition(".")
    if not dot:
        return False
    try:
        expected = _sign(primary_key, claims)
        if not hmac.compare_digest(base64.urlsafe_b64decode(_padded(signature)), expected):
            return False
        body = json.loads(base64.urlsafe_b64decode(_padded(claims)))
    except (binascii.Error, ValueError):
        return False
    if not isinstance(body, dict) or body.get("endpoint") != endpoint:
        return False
    expires = body.get("exp")
    return isinstance(expires, int) and now < expires


def _sign(primary_key: str, claims: str) -> bytes:
    key = hmac.new(primary_key.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, claims.encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _padded(text: str) -> bytes:
    return (text + "=" * (-len(text) % 4)).encode()
