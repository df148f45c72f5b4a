"""Encord's Ed25519 request signatures (an RFC 9421 profile with the label ``encord-sig``).

Both sides live here because they are one scheme: the client signs with :func:`sign_headers`,
the emulator checks with :func:`verify_request`. The signature covers the method, the raw request
target (path and query exactly as sent) and a SHA-256 digest of the raw body bytes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LABEL = "encord-sig"
COMPONENTS = ("@method", "@request-target", "content-digest")
DEFAULT_MAX_SKEW_SECONDS = 300


class SignatureError(Exception):
    """A request's signature headers are missing, malformed, stale or do not verify."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """The keyid Encord uses: lowercase hex of the 32-byte raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def load_private_key(data: bytes, password: bytes | None = None) -> Ed25519PrivateKey:
    """Load an OpenSSH (or PEM) Ed25519 private key; any other key type is a ValueError."""
    key: object
    if b"OPENSSH PRIVATE KEY" in data:
        key = serialization.load_ssh_private_key(data, password=password)
    else:
        key = serialization.load_pem_private_key(data, password=password)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("Encord keys must be Ed25519 (ssh-keygen -t ed25519)")
    return key


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """Load an OpenSSH public key line (``ssh-ed25519 AAAA... comment``)."""
    key = serialization.load_ssh_public_key(data.strip())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("Encord keys must be Ed25519 (ssh-ed25519 ...)")
    return key


def openssh_public_line(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def content_digest(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def signature_params(created: int, keyid: str) -> str:
    covered = " ".join(f'"{c}"' for c in COMPONENTS)
    return f'({covered});created={created};keyid="{keyid}";alg="ed25519"'


def signature_base(method: str, target: str, digest: str, params: str) -> str:
    """The signed text: four lines, no trailing newline. ``target`` is path[?query] as sent."""
    return "\n".join(
        [
            f'"@method": {method.upper()}',
            f'"@request-target": {target}',
            f'"content-digest": {digest}',
            f'"@signature-params": {params}',
        ]
    )


def sign_headers(
    method: str, target: str, body: bytes, private_key: Ed25519PrivateKey, created: int | None = None
) -> dict[str, str]:
    """The three headers that sign one request."""
    digest = content_digest(body)
    params = signature_params(int(time.time()) if created is None else created, key_id(private_key.public_key()))
    signature = private_key.sign(signature_base(method, target, digest, params).encode("utf-8"))
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params}",
        "Signature": f"{LABEL}=:{base64.b64encode(signature).decode('ascii')}:",
    }


@dataclass(frozen=True)
class VerifiedSignature:
    keyid: str
    created: int


_PARAM = re.compile(r';(created|keyid|alg)=("([^"]*)"|(\d+))')


def _parse_params(params: str) -> dict[str, str]:
    expected_prefix = "(" + " ".join(f'"{c}"' for c in COMPONENTS) + ")"
    if not params.startswith(expected_prefix):
        raise SignatureError("Signature-Input must cover @method, @request-target and content-digest")
    found = {m.group(1): m.group(3) if m.group(3) is not None else m.group(4) for m in _PARAM.finditer(params)}
    for name in ("created", "keyid", "alg"):
        if name not in found:
            raise SignatureError(f"Signature-Input has no {name}")
    if found["alg"] != "ed25519":
        raise SignatureError("unsupported signature algorithm")
    return found


def verify_request(
    method: str,
    target: str,
    body: bytes,
    headers: Mapping[str, str],
    lookup: Callable[[str], Ed25519PublicKey | None],
    now: float | None = None,
    max_skew: int = DEFAULT_MAX_SKEW_SECONDS,
) -> VerifiedSignature:
    """Check a signed request; ``headers`` must be case-insensitive (as httpx's and Starlette's are)."""
    sig_input = headers.get("signature-input")
    sig_header = headers.get("signature")
    digest_header = headers.get("content-digest")
    if not sig_input or not sig_header or not digest_header:
        raise SignatureError("missing signature headers")
    if not sig_input.startswith(f"{LABEL}=") or not sig_header.startswith(f"{LABEL}=:") or not sig_header.endswith(":"):
        raise SignatureError(f"signature label must be {LABEL}")
    params = sig_input[len(LABEL) + 1 :]
    fields = _parse_params(params)
    if content_digest(body) != digest_header:
        raise SignatureError("Content-Digest does not match the body")
    created = int(fields["created"])
    current = time.time() if now is None else now
    if abs(current - created) > max_skew:
        raise SignatureError("signature is stale (check the clock)")
    public_key = lookup(fields["keyid"])
    if public_key is None:
        raise SignatureError("unknown public key")
    try:
        signature = base64.b64decode(sig_header[len(LABEL) + 2 : -1], validate=True)
        public_key.verify(signature, signature_base(method, target, digest_header, params).encode("utf-8"))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("signature does not verify") from exc
    return VerifiedSignature(keyid=fields["keyid"], created=created)
