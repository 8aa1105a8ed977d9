"""Page tokens: opaque to clients, an offset inside."""

from __future__ import annotations

import base64
import json

from orchard.errors import ValidationError


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise ValidationError(f"Invalid page token, could not base64-decode: {token!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"Invalid page token: {token!r}")
    return offset
