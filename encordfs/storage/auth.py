"""Credentials for the Encord API: an Ed25519 signing key (as the SDK uses) or a bearer token.

A :class:`Credentials` object turns into an ``httpx.Auth`` that signs each API request after httpx
has built it, so the signature covers exactly the bytes and request target that go on the wire.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from encordfs.storage.errors import CredentialsError
from encordfs.wire.signing import key_id, load_private_key, sign_headers

ENV_SSH_KEY = "ENCORD_SSH_KEY"
ENV_SSH_KEY_FILE = "ENCORD_SSH_KEY_FILE"

__all__ = ["ENV_SSH_KEY", "ENV_SSH_KEY_FILE", "Credentials", "CredentialsError", "load_credentials", "read_bearer_token_file"]


@dataclass(frozen=True)
class Credentials:
    """Exactly one of a signing key or a bearer token (the constructor functions guarantee it)."""

    private_key: Ed25519PrivateKey | None = None
    bearer_token: str | None = None

    def __post_init__(self) -> None:
        if (self.private_key is None) == (self.bearer_token is None):
            raise CredentialsError("credentials need exactly one of a private key or a bearer token")

    def __repr__(self) -> str:  # never print key material or tokens
        return f"Credentials({self.description})"

    @property
    def description(self) -> str:
        """A safe, loggable description: the public keyid or 'bearer token'."""
        if self.private_key is not None:
            return f"ed25519 keyid={key_id(self.private_key.public_key())}"
        return "bearer token"

    def httpx_auth(self) -> httpx.Auth:
        if self.private_key is not None:
            return SignatureAuth(self.private_key)
        return BearerAuth(self.bearer_token or "")


class SignatureAuth(httpx.Auth):
    """Encord's ``encord-sig`` Ed25519 signature over method, raw target and body digest."""

    requires_request_body = True

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")
        request.headers.update(sign_headers(request.method, target, request.content, self._private_key))
        yield request


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def load_credentials(
    *,
    ssh_key_file: str | Path | None = None,
    bearer_token: str | None = None,
    password: bytes | None = None,
) -> Credentials:
    """Explicit arguments first, else ``ENCORD_SSH_KEY_FILE`` (wins) or ``ENCORD_SSH_KEY``."""
    if bearer_token is not None and ssh_key_file is not None:
        raise CredentialsError("give either an SSH key file or a bearer token, not both")
    if bearer_token is not None:
        if not bearer_token.strip():
            raise CredentialsError("the bearer token is empty")
        return Credentials(bearer_token=bearer_token.strip())
    if ssh_key_file is not None:
        return Credentials(private_key=_key_from_file(Path(ssh_key_file), password))
    env_file = os.environ.get(ENV_SSH_KEY_FILE)
    if env_file:
        return Credentials(private_key=_key_from_file(Path(env_file), password, source=ENV_SSH_KEY_FILE))
    env_key = os.environ.get(ENV_SSH_KEY)
    if env_key is not None:
        if not env_key.strip():
            raise CredentialsError(f"{ENV_SSH_KEY} is set but empty")
        return Credentials(private_key=_parse_key(env_key.encode(), password, source=ENV_SSH_KEY))
    raise CredentialsError(
        f"no Encord credentials: pass an SSH key file or a bearer token, or set {ENV_SSH_KEY_FILE} or {ENV_SSH_KEY}"
    )


def _read_private_file(path: Path, what: str, origin: str) -> bytes:
    """The bytes of a secret file, refused (like ssh does) if its group or others may access it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CredentialsError(f"{what} {origin} does not exist") from None
    except OSError as exc:
        raise CredentialsError(f"cannot read {what} {origin}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"permissions {stat.S_IMODE(mode):04o} for {what} {origin} are too open: "
            f"it must not be accessible by others (chmod 600 {path})"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"cannot read {what} {origin}: {exc.strerror}") from None


def read_bearer_token_file(path: Path) -> str:
    """The bearer token in ``path`` (surrounding whitespace dropped); the file must be private."""
    try:
        return _read_private_file(path, "bearer token file", str(path)).decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CredentialsError(f"bearer token file {path} is not text") from None


def _key_from_file(path: Path, password: bytes | None, source: str | None = None) -> Ed25519PrivateKey:
    origin = f"{path} (from {source})" if source else str(path)
    return _parse_key(_read_private_file(path, "SSH key file", origin), password, source=origin)


def _parse_key(data: bytes, password: bytes | None, source: str) -> Ed25519PrivateKey:
    try:
        return load_private_key(data, password)
    except TypeError as exc:  # cryptography: password missing or given for an unencrypted key
        raise CredentialsError(f"the private key in {source} cannot be loaded: {exc}") from None
    except ValueError as exc:
        if "Ed25519" in str(exc):
            raise CredentialsError(f"the private key in {source} is not Ed25519 (use ssh-keygen -t ed25519)") from None
        raise CredentialsError(f"the private key in {source} is not a valid OpenSSH/PEM private key") from None
    except UnsupportedAlgorithm as exc:
        if "bcrypt" in str(exc):
            raise CredentialsError(
                f"the private key in {source} is passphrase-protected in OpenSSH format, which needs the "
                "'bcrypt' package; install it or use an unencrypted (chmod 600) or PEM-encrypted key"
            ) from None
        raise CredentialsError(f"the private key in {source} uses an unsupported algorithm") from None
