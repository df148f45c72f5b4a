"""Credential loading: explicit file, environment variables, unsafe files and wrong key types."""

from __future__ import annotations

import os
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from encordfs.storage.auth import ENV_SSH_KEY, ENV_SSH_KEY_FILE, CredentialsError, load_credentials
from encordfs.wire.signing import key_id


def openssh(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())


def write_key(path, key, mode=0o600):
    path.write_bytes(openssh(key))
    os.chmod(path, mode)
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv(ENV_SSH_KEY, raising=False)
    monkeypatch.delenv(ENV_SSH_KEY_FILE, raising=False)


def keyid_of(credentials) -> str:
    return key_id(credentials.private_key.public_key())


def test_explicit_key_file(tmp_path):
    key = Ed25519PrivateKey.generate()
    credentials = load_credentials(ssh_key_file=write_key(tmp_path / "k", key))
    assert keyid_of(credentials) == key_id(key.public_key())
    assert "PRIVATE" not in repr(credentials) and key_id(key.public_key()) in repr(credentials)


def test_env_file_wins_over_env_key_text(tmp_path, monkeypatch):
    file_key, text_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    monkeypatch.setenv(ENV_SSH_KEY_FILE, str(write_key(tmp_path / "k", file_key)))
    monkeypatch.setenv(ENV_SSH_KEY, openssh(text_key).decode())
    assert keyid_of(load_credentials()) == key_id(file_key.public_key())
    monkeypatch.delenv(ENV_SSH_KEY_FILE)
    assert keyid_of(load_credentials()) == key_id(text_key.public_key())


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_readable_by_others_is_refused(tmp_path, mode):
    path = write_key(tmp_path / "k", Ed25519PrivateKey.generate(), mode)
    with pytest.raises(CredentialsError, match="too open"):
        load_credentials(ssh_key_file=path)


def test_non_ed25519_key_is_refused(tmp_path):
    path = write_key(tmp_path / "rsa", rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(CredentialsError, match="not Ed25519"):
        load_credentials(ssh_key_file=path)


def test_missing_file_garbage_and_no_credentials_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(CredentialsError, match="does not exist"):
        load_credentials(ssh_key_file=tmp_path / "nope")
    garbage = tmp_path / "g"
    garbage.write_text("hello")
    os.chmod(garbage, 0o600)
    with pytest.raises(CredentialsError, match="not a valid"):
        load_credentials(ssh_key_file=garbage)
    with pytest.raises(CredentialsError, match=ENV_SSH_KEY_FILE):
        load_credentials()
    monkeypatch.setenv(ENV_SSH_KEY, " ")
    with pytest.raises(CredentialsError, match="empty"):
        load_credentials()


def test_bearer_token():
    credentials = load_credentials(bearer_token="s3cr3t")
    assert credentials.bearer_token == "s3cr3t" and "s3cr3t" not in repr(credentials)
    with pytest.raises(CredentialsError):
        load_credentials(bearer_token="  ")


def test_password_protected_key(tmp_path):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "enc"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw"))
    )
    os.chmod(path, 0o600)
    assert keyid_of(load_credentials(ssh_key_file=path, password=b"pw")) == key_id(key.public_key())
    with pytest.raises(CredentialsError):
        load_credentials(ssh_key_file=path)
    with pytest.raises(CredentialsError):
        load_credentials(ssh_key_file=path, password=b"wrong")


def test_passphrase_openssh_key_loads_or_says_what_is_missing(tmp_path):
    path = tmp_path / "ssh_enc"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pw", "-f", str(path)], check=True)
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        with pytest.raises(CredentialsError, match="bcrypt"):
            load_credentials(ssh_key_file=path, password=b"pw")
    else:
        assert load_credentials(ssh_key_file=path, password=b"pw").private_key is not None
