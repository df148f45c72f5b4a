"""The signing scheme against the protocol reference's test vectors, and verification failures."""

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from encordfs.wire import signing

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYID = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
GET_TARGET = (
    "/v2/public/storage/folders/11111111-1111-4111-8111-111111111111/items"
    "?search=a+b&itemTypes=image&itemTypes=video&desc=False&pageSize=100"
)
POST_BODY = b'{"name": "my folder", "parent": "11111111-1111-4111-8111-111111111111"}'


def lookup(keyid: str):
    return KEY.public_key() if keyid == KEYID else None


def test_keyid_and_openssh_line():
    assert signing.key_id(KEY.public_key()) == KEYID
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
    assert signing.key_id(signing.load_public_key(line.encode())) == KEYID
    assert signing.openssh_public_line(KEY.public_key()) == line


def test_get_vector():
    headers = signing.sign_headers("GET", GET_TARGET, b"", KEY, created=1700000000)
    assert headers["Content-Digest"] == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    assert headers["Signature-Input"] == (
        f'encord-sig=("@method" "@request-target" "content-digest");created=1700000000;keyid="{KEYID}";alg="ed25519"'
    )
    assert headers["Signature"] == ("encord-sig=:3kWqNLqavqjDT4BLbB5u1W2uXBihaIQ6Q+aIq7dbpp5+4R8C/hjp7lN0urFcCVNUA2lGPF3aRmd8f0OmfzBFAQ==:")


def test_post_vector():
    headers = signing.sign_headers("POST", "/v2/public/storage/folders", POST_BODY, KEY, created=1700000000)
    assert headers["Content-Digest"] == "sha-256=:R2auD0eKTr1nwvYBRIrgAh+sJPekCEJgFemiEOTa7dE=:"
    assert headers["Signature"] == ("encord-sig=:GCtkY/df4YVAU1iQbb70mLpzec/utC+1iUMPFe3xLfCTP7hGKUZRL8QYEFcxp0YxCs+cVqoTtrNsnNX88G9+Dw==:")


def verify(method="POST", target="/v2/public/storage/folders", body=POST_BODY, headers=None, now=1700000000):
    headers = headers or signing.sign_headers("POST", "/v2/public/storage/folders", POST_BODY, KEY, created=1700000000)
    return signing.verify_request(method, target, body, httpx.Headers(headers), lookup, now=now)


def test_verify_accepts_own_signature():
    assert verify().keyid == KEYID


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(body=b'{"name": "other"}'), "Content-Digest"),
        (dict(target="/v2/public/storage/folders?x=1"), "does not verify"),
        (dict(method="PUT"), "does not verify"),
        (dict(now=1700000000 + 3600), "stale"),
        (dict(headers={"Signature": "x"}), "missing"),
    ],
)
def test_verify_rejects(change, reason):
    with pytest.raises(signing.SignatureError, match=reason):
        verify(**change)


def test_verify_rejects_unknown_key():
    other = Ed25519PrivateKey.generate()
    headers = signing.sign_headers("GET", "/v2/public/x", b"", other, created=1700000000)
    with pytest.raises(signing.SignatureError, match="unknown public key"):
        signing.verify_request("GET", "/v2/public/x", b"", httpx.Headers(headers), lookup, now=1700000000)


def test_non_ed25519_key_is_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        signing.load_private_key(pem)
