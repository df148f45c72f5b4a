"""Signature checks (401 in the SDK's shape) and roles (403)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_valid_signature_is_accepted(signed_api: Any) -> None:
    response = signed_api.call("GET", "storage/folders", params={"pageSize": 5, "desc": "False"})
    assert response.status_code == 200
    assert "results" in response.json()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda h: h.update(Signature=h["Signature"][:20] + ("A" if h["Signature"][20] != "A" else "B") + h["Signature"][21:]),
            "does not verify",
        ),
        (lambda h: h.update({"Content-Digest": "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"}), "Content-Digest"),
        (lambda h: h.pop("Signature"), "missing"),
        (lambda h: h.update({"Signature-Input": h["Signature-Input"].replace("encord-sig", "other")}), "label"),
    ],
)
def test_bad_signatures_are_401(signed_api: Any, tamper: Any, message: str) -> None:
    response = signed_api.call("POST", "storage/folders", json={"name": "never"}, tamper=tamper)
    assert response.status_code == 401
    assert message in response.json()["message"]


def test_stale_created_is_401(signed_api: Any) -> None:
    response = signed_api.call("GET", "storage/folders", created=int(time.time()) - 3600)
    assert response.status_code == 401 and "stale" in response.json()["message"]


def test_signature_covers_the_query(signed_api: Any) -> None:
    good = signed_api.call("GET", "storage/folders", params={"search": "a b/ü"})
    assert good.status_code == 200
    request = signed_api.client.build_request("GET", "/v2/public/storage/folders", params={"search": "other"})
    from encordfs.wire.signing import sign_headers

    request.headers.update(sign_headers("GET", "/v2/public/storage/folders?search=a", b"", signed_api.key))
    assert signed_api.client.send(request).status_code == 401


def test_unknown_key_is_401(emulator: Any, stranger_key_path: Any, make_signed_api: Any) -> None:
    response = make_signed_api(emulator, stranger_key_path).call("GET", "storage/folders")
    assert response.status_code == 401 and "unknown public key" in response.json()["message"]


def test_add_key_cli_and_viewer_role(emulator: Any, tmp_path: Any, make_keypair: Any, make_signed_api: Any, make_sdk_client: Any) -> None:
    from encord.exceptions import AuthorisationError

    private, public = make_keypair("viewer")
    result = subprocess.run(
        [sys.executable, "-m", "encordfs.cli", "emulator", "add-key", "--data", str(emulator.data_dir), str(public), "--role", "viewer"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "registered key" in result.stdout
    viewer = make_signed_api(emulator, private)
    assert viewer.call("GET", "storage/folders").status_code == 200
    refused = viewer.call("POST", "storage/folders", json={"name": "nope"})
    assert refused.status_code == 403 and "read-only" in refused.json()["message"]
    folders = list(make_sdk_client(emulator, private).list_storage_folders(page_size=1))
    assert all(f._orm_folder.user_role.value == "user" for f in folders)
    with pytest.raises(AuthorisationError):
        make_sdk_client(emulator, private).create_storage_folder("nope")


def test_add_key_refuses_non_ed25519(emulator: Any, tmp_path: Any) -> None:
    bad = tmp_path / "rsa.pub"
    bad.write_text("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx not a key\n")
    result = subprocess.run(
        [sys.executable, "-m", "encordfs.cli", "emulator", "add-key", "--data", str(emulator.data_dir), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 1 and "cannot register" in result.stderr
