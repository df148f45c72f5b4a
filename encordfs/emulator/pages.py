"""Page envelopes and opaque page tokens (an offset, base64-wrapped so clients do not parse it)."""

from __future__ import annotations

import base64
from typing import Any, Sequence

from .api_errors import BadRequest


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, value = text.split(":", 1)
        offset = int(value)
    except ValueError:
        raise BadRequest(f"invalid pageToken {token!r}") from None
    if kind != "o" or offset < 0:
        raise BadRequest(f"invalid pageToken {token!r}")
    return offset


def page(results: Sequence[Any], offset: int, page_size: int, fetched_extra: bool) -> dict[str, Any]:
    """``results`` holds at most ``page_size`` entries; ``fetched_extra`` says whether more exist."""
    return {"results": list(results), "nextPageToken": encode_token(offset + page_size) if fetched_extra else None}


def single_page(results: Sequence[Any]) -> dict[str, Any]:
    return {"results": list(results), "nextPageToken": None}
