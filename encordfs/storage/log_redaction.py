"""Keep signed URLs' query strings out of the logs.

httpx logs every request at INFO with its full URL, and a signed URL's query *is* its credential.
The filter rewrites URL arguments of httpx's log records to scheme, host and path only.
"""

from __future__ import annotations

import logging

import httpx

REDACTED_LOGGERS = ("httpx",)


def redact(url: httpx.URL) -> str:
    return str(url.copy_with(query=None, fragment=None)) + ("?<redacted>" if url.query else "")


class RedactUrlQueries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def install() -> None:
    """Attach the filter once to each logger that prints request URLs."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactUrlQueries) for f in logger.filters):
            logger.addFilter(RedactUrlQueries())
