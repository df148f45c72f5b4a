"""A per-item cache of signed download URLs, each kept with the time it stops working.

The expiry is read from the URL's own query (S3 ``X-Amz-Date``+``X-Amz-Expires``, GCS
``X-Goog-Date``+``X-Goog-Expires``, ``Expires=<epoch>``, Azure ``se=<ISO time>``, the emulator's
``expires=<epoch>``); a URL with no readable expiry is trusted for ``default_ttl`` seconds. A URL is
refreshed ``margin`` seconds before it expires, and at once when a download answers 403.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit
from uuid import UUID

from cachetools import LRUCache

from encordfs.wire.models import parse_datetime


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: float  # wall-clock epoch seconds


def url_expiry(url: str, fetched_at: float, default_ttl: float) -> float:
    """When ``url`` stops working, as an epoch time, from its query; else fetched_at + default_ttl."""
    query = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    for date_key, ttl_key in (("x-amz-date", "x-amz-expires"), ("x-goog-date", "x-goog-expires")):
        if date_key in query and ttl_key in query:
            try:
                signed = datetime.strptime(query[date_key], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                return signed.timestamp() + float(query[ttl_key])
            except ValueError:
                break
    if "expires" in query:
        try:
            return float(query["expires"])
        except ValueError:
            pass
    if "se" in query:
        try:
            return parse_datetime(query["se"]).timestamp()
        except ValueError:
            pass
    return fetched_at + default_ttl


class SignedUrlCache:
    def __init__(
        self,
        *,
        maxsize: int = 10_000,
        margin: float = 60.0,
        default_ttl: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries: LRUCache[UUID, SignedUrl] = LRUCache(maxsize=maxsize)
        self._margin = margin
        self._default_ttl = default_ttl
        self._clock = clock

    def get(self, item: UUID) -> str | None:
        """A URL still comfortably valid, or None when it must be (re)fetched."""
        entry = self._entries.get(item)
        if entry is None or entry.expires_at - self._margin <= self._clock():
            return None
        return entry.url

    def put(self, item: UUID, url: str) -> None:
        now = self._clock()
        self._entries[item] = SignedUrl(url, url_expiry(url, now, self._default_ttl))

    def invalidate(self, item: UUID, url: str | None = None) -> None:
        """Forget the item's URL (only if it is still ``url``, when given: a newer one stays)."""
        entry = self._entries.get(item)
        if entry is not None and (url is None or entry.url == url):
            del self._entries[item]
