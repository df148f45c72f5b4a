"""``--request-log FILE``: one JSON line per request (method, path, query, JSON body, status).

Signed-URL (``/blobs``) requests are logged without their query string or body: the query is the
capability and the body is file content. Elsewhere a ``sig=`` value (a signed URL passed along, on
any path) is written as ``sig=<redacted>``, in the query and in the body alike; ``RedactSignatures``
does the same for every log line of the emulator process.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]

_SIG = re.compile(r"(\bsig=)[^&\s\"'\\]+")
REDACTED = r"\1<redacted>"


def redact_signatures(text: str) -> str:
    return _SIG.sub(REDACTED, text)


class RedactSignatures(logging.Filter):
    """For a handler: each record's message with its ``sig=`` values redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "sig=" in message:
            record.msg, record.args = redact_signatures(message), None
        return True


def redact_every_log_line() -> None:
    """Install ``RedactSignatures`` on the root logger's handlers and uvicorn's own (which do not
    propagate); call again after uvicorn configured its logging."""
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    for handler in {h for logger in loggers for h in logger.handlers}:
        if not any(isinstance(f, RedactSignatures) for f in handler.filters):
            handler.addFilter(RedactSignatures())


class RequestLogMiddleware:
    def __init__(self, app: Any, path: Path) -> None:
        self.app = app
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_blob = scope["path"].startswith("/blobs/")
        chunks: list[bytes] = []
        status: list[int] = []

        async def tee_receive() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request" and not is_blob:
                chunks.append(message.get("body", b""))
            return message

        async def tee_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, tee_receive, tee_send)
        finally:
            self._write(scope, b"".join(chunks), status[0] if status else None, is_blob)

    def _write(self, scope: Scope, body: bytes, status: int | None, is_blob: bool) -> None:
        raw_query = "" if is_blob else redact_signatures(scope.get("query_string", b"").decode("latin-1"))
        try:
            parsed_body = json.loads(redact_signatures(body.decode("utf-8"))) if body else None
        except ValueError:
            parsed_body = None
        entry = {
            "method": scope["method"],
            "path": redact_signatures(scope["path"]),
            "query": raw_query,
            "query_list": [list(p) for p in parse_qsl(raw_query, keep_blank_values=True)],
            "body": parsed_body,
            "status": status,
        }
        with self._lock:
            self._file.write(json.dumps(entry) + "\n")
