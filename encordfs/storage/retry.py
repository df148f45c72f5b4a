"""When and how long to wait before trying a request again.

Exponential backoff with full jitter (a random delay in [0, min(cap, base * 2**attempt)]), a
server's ``Retry-After`` honoured as a lower bound, and both the number of attempts and the total
time bounded, so a throttling server slows us down without hanging the filesystem forever.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 120.0
    """Give up once this many seconds have passed since the first attempt (sleeps included)."""
    max_retry_after: float = 60.0
    """A longer ``Retry-After`` than this is not waited for: the call fails with RateLimited."""
    job_settle_time: float = 20.0
    """After an ambiguous upload-job start: how long to watch for its items before resubmitting."""
    job_settle_poll: float = 1.0

    def backoff(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """The delay before attempt ``attempt + 1`` (``attempt`` counts from 0)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        delay = (rng or random).uniform(0.0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header in either form (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
