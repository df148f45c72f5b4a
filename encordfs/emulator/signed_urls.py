"""Capability URLs for blob bytes: ``/blobs/{key}?op=get|put&expires=UNIX&sig=HMAC``.

The HMAC-SHA256 covers the operation, the key and the expiry, so a download URL cannot be used to
upload, nor a URL changed to reach another blob or live longer. The secret lives in
``DATA/signing-secret`` so URLs survive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import secrets
import time
from enum import Enum
from pathlib import Path
from urllib.parse import urlencode


class BlobOp(str, Enum):
    GET = "get"
    PUT = "put"


class SignedUrlError(Exception):
    """The URL is forged, altered, for another operation, or expired."""


def load_secret(data_dir: Path) -> bytes:
    path = data_dir / "signing-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


class UrlSigner:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def _mac(self, op: BlobOp, key: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{op.value}\n{key}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url(self, base_url: str, key: str, op: BlobOp, now: float | None = None) -> str:
        expires = math.ceil((time.time() if now is None else now) + self.ttl_seconds)
        query = urlencode({"op": op.value, "expires": expires, "sig": self._mac(op, key, expires)})
        return f"{base_url.rstrip('/')}/blobs/{key}?{query}"

    def verify(self, key: str, expected: BlobOp, op: str | None, expires: str | None, sig: str | None, now: float | None = None) -> None:
        """Accept the URL's query values for ``expected`` on ``key``, or raise :class:`SignedUrlError`."""
        if op is None or expires is None or sig is None:
            raise SignedUrlError("not a signed URL")
        try:
            operation = BlobOp(op)
            expiry = int(expires)
        except ValueError:
            raise SignedUrlError("malformed signed URL") from None
        if operation is not expected:
            raise SignedUrlError(f"this URL is for {operation.value.upper()}, not {expected.value.upper()}")
        if not hmac.compare_digest(self._mac(operation, key, expiry), sig):
            raise SignedUrlError("signature does not match")
        if (time.time() if now is None else now) > expiry:
            raise SignedUrlError("signed URL has expired")
