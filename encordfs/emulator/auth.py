"""Who is calling: Ed25519-signed requests checked against the registered keys, or a bearer token
issued to one of them (``GET user/bearer-token``), and their roles.

Roles: ``admin`` may do everything; ``viewer`` may only read (any other method is a 403).
Folders report ``userRole`` ``admin`` to admins and ``user`` to viewers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from encordfs.wire.enums import StorageUserRole
from encordfs.wire.signing import SignatureError, key_id, load_public_key, openssh_public_line, verify_request

from .api_errors import Forbidden, Unauthorised
from .store import Row, Store

log = logging.getLogger(__name__)

DEFAULT_OWNER = "user@emulator.local"


class Role(str, Enum):
    ADMIN = "admin"
    VIEWER = "viewer"


READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Principal:
    keyid: str
    role: Role
    owner: str

    @property
    def folder_role(self) -> StorageUserRole:
        return StorageUserRole.ADMIN if self.role is Role.ADMIN else StorageUserRole.USER

    def require_write(self) -> None:
        if self.role is not Role.ADMIN:
            raise Forbidden("this key is read-only (role viewer)")


def register_key(store: Store, public_key_file: Path, role: Role = Role.ADMIN, owner: str = DEFAULT_OWNER) -> str:
    """Register an OpenSSH ``ssh-ed25519`` public key; returns its keyid."""
    public_key = load_public_key(public_key_file.read_bytes())
    keyid = key_id(public_key)
    store.add_key(keyid, openssh_public_line(public_key), role.value, owner)
    return keyid


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def issue_token(store: Store, principal: Principal) -> str:
    """A new bearer token acting as ``principal``'s key (tokens do not expire): ``ID.SECRET``.
    The store keeps the id and a salted SHA-256 of the secret, never the token: a copy of the
    database does not let anyone in. (The secret is 256 random bits, so a fast hash is enough.)"""
    token_id, secret, salt = secrets.token_urlsafe(12), secrets.token_urlsafe(32), secrets.token_bytes(16)
    store.add_token(token_id, salt, _digest(salt, secret), principal.keyid)
    return f"{token_id}.{secret}"


def _token_row(store: Store, token: str) -> Row | None:
    token_id, dot, secret = token.partition(".")
    if not dot:
        return None
    row = store.token(token_id)
    if row is None or not hmac.compare_digest(row["token_digest"], _digest(row["token_salt"], secret)):
        return None
    return row


def _principal(row: Row, method: str) -> Principal:
    principal = Principal(keyid=row["keyid"], role=Role(row["role"]), owner=row["owner"])
    if method.upper() not in READ_METHODS:
        principal.require_write()
    return principal


def authenticate(store: Store, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> Principal:
    """Check one API request's bearer token or signature; a 401 for any failure, a 403 for a viewer's write."""
    authorization = headers.get("authorization", "")
    if authorization and "signature" not in headers:
        scheme, _, token = authorization.partition(" ")
        row = _token_row(store, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if row is None:
            raise Unauthorised("authentication failed: unknown bearer token")
        return _principal(row, method)

    def lookup(keyid: str) -> Ed25519PublicKey | None:
        row = store.key(keyid)
        return None if row is None else load_public_key(row["public_key"].encode())

    try:
        verified = verify_request(method, target, body, headers, lookup)
    except SignatureError as exc:
        log.info("refused %s %s: %s", method, target.split("?", 1)[0], exc)
        raise Unauthorised(f"authentication failed: {exc}") from None
    row = store.key(verified.keyid)
    if row is None:
        raise Unauthorised("authentication failed: unknown public key")
    return _principal(row, method)
