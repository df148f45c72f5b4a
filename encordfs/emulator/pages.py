"""Page envelopes and opaque page tokens.

A token is the cursor where the previous page ended (the last row's sort value and rowid),
base64-wrapped JSON so clients treat it as opaque; it is only valid for the same sort order.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from .api_errors import BadRequest
from .store import ITEM_ORDER, Cursor, Row


def encode_token(order: str, row: Row) -> str:
    payload = json.dumps([order, row[ITEM_ORDER[order]], row["_rowid"]]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str | None, order: str) -> Cursor | None:
    if token is None:
        return None
    try:
        kind, value, rowid = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise BadRequest(f"invalid pageToken {token!r}") from None
    if kind != order or not isinstance(rowid, int) or not isinstance(value, (str, int, float)):
        raise BadRequest(f"pageToken {token!r} does not belong to this listing (order {order})")
    return value, rowid


def page(results: Sequence[Any], rows: Sequence[Row], page_size: int, order: str) -> dict[str, Any]:
    """``rows`` were fetched with a limit of ``page_size + 1``: an extra row means another page."""
    more = len(rows) > page_size
    return {"results": list(results), "nextPageToken": encode_token(order, rows[page_size - 1]) if more else None}


def single_page(results: Sequence[Any]) -> dict[str, Any]:
    return {"results": list(results), "nextPageToken": None}
