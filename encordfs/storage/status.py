"""Turn an HTTP failure into one of the specific ``encordfs.storage.errors`` exceptions.

Messages name the operation, the URL path (never its query: signed URLs carry credentials
there) and the status, plus the server's own message when it sent one.
"""

from __future__ import annotations

import json
import re

import httpx

from encordfs.storage import errors
from encordfs.storage.retry import parse_retry_after

_BY_STATUS: dict[int, type[errors.StorageError]] = {
    400: errors.InvalidArgument,
    401: errors.Unauthenticated,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
}

MAX_SERVER_MESSAGE = 300
_URL_QUERY = re.compile(r"(https?://[^\s?#\"']+)\?[^\s\"']*")


def server_message(response: httpx.Response) -> str:
    """The ``message`` (or FastAPI ``detail``) of a JSON error body, shortened; '' otherwise."""
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    text = body.get("message") or body.get("detail") or ""
    if not isinstance(text, str):
        text = json.dumps(text)
    return _URL_QUERY.sub(r"\1?<redacted>", text)[:MAX_SERVER_MESSAGE]


def describe(operation: str, url: httpx.URL, detail: str) -> str:
    return f"{operation} {url.scheme}://{url.netloc.decode('ascii')}{url.path}: {detail}"


def error_for_response(operation: str, response: httpx.Response) -> errors.StorageError:
    status = response.status_code
    message = server_message(response)
    text = describe(operation, response.request.url, f"HTTP {status}" + (f": {message}" if message else ""))
    if status == 429:
        return errors.RateLimited(text, operation=operation, retry_after=parse_retry_after(response.headers.get("retry-after")))
    cls = _BY_STATUS.get(status, errors.ServerError)
    return cls(text, operation=operation, status=status)


def error_for_exception(operation: str, url: httpx.URL, exc: httpx.HTTPError) -> errors.StorageError:
    """A transport failure (after retries). ``str(exc)`` may contain the URL, so it is not used."""
    if isinstance(exc, httpx.TimeoutException):
        return errors.StorageTimeout(describe(operation, url, f"timed out ({type(exc).__name__})"), operation=operation)
    return errors.TransportError(describe(operation, url, f"connection failed ({type(exc).__name__})"), operation=operation)
