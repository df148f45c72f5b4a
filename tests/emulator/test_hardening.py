"""The emulator keeps its secrets: a private data dir, hashed bearer tokens, no working signature
in any log line, and no partial blob left by a crash."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import httpx

from encordfs.emulator.request_log import RedactSignatures


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_is_private_and_partial_blobs_go_at_start_up(emulator_factory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "blobs").mkdir(parents=True)
    data.chmod(0o755)
    (data / "blobs" / "slot.1234.part").write_bytes(b"half an upload")
    server = emulator_factory(data_dir=data)
    assert mode(data) == 0o700
    for name in ("emulator.sqlite3", "emulator.sqlite3-wal", "emulator.sqlite3-shm"):
        if (data / name).exists():
            assert mode(data / name) == 0o600, name
    assert list((data / "blobs").glob("*.part")) == []
    server.stop()
    assert f"removed 1 partial upload(s) an earlier run left in {data / 'blobs'}" in server.log_path.read_text()


def test_bearer_tokens_are_kept_as_salted_hashes(emulator_factory, make_signed_api) -> None:
    server = emulator_factory()
    api = make_signed_api(server)
    tokens = [api.ok("GET", "user/bearer-token")["token"] for _ in range(2)]
    stored = b"".join(p.read_bytes() for p in server.data_dir.glob("emulator.sqlite3*"))
    for token in tokens:
        token_id, secret = token.split(".")
        assert secret.encode() not in stored and token_id.encode() in stored
        answer = httpx.get(f"{server.url}/v2/public/storage/folders", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        forged = httpx.get(f"{server.url}/v2/public/storage/folders", headers={"Authorization": f"Bearer {token_id}.{'A' * len(secret)}"})
        assert forged.status_code == 401 and forged.json()["message"] == "authentication failed: unknown bearer token"


def test_the_request_log_never_keeps_a_signature(emulator_factory, make_signed_api, tmp_path: Path) -> None:
    log_path = tmp_path / "requests.jsonl"
    server = emulator_factory("--request-log", str(log_path))
    api = make_signed_api(server)
    api.call("GET", "storage/folders", params={"search": "x", "sig": "SECRETSIG1"})
    api.call("POST", "storage/folders", json={"name": "n", "description": "http://h/blobs/k?op=get&sig=SECRETSIG2"})
    folder = api.create_folder("f")
    item = api.upload(folder, b"hello", "a.txt")
    signed = api.signed_url(item)
    assert "sig=" in signed and httpx.get(signed).status_code == 200
    server.stop()
    text = log_path.read_text()
    assert "SECRETSIG" not in text and signed.split("sig=")[1] not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(line["query"] == "search=x&sig=<redacted>" for line in lines)
    assert any((line["body"] or {}).get("description") == "http://h/blobs/k?op=get&sig=<redacted>" for line in lines)


def test_every_log_line_has_its_signatures_redacted() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "fetch %s failed", ("http://h/blobs/k?op=get&sig=abc123&e=1",), None)
    RedactSignatures().filter(record)
    assert record.getMessage() == "fetch http://h/blobs/k?op=get&sig=<redacted>&e=1 failed"
