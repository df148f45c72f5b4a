"""``encordfs mount`` checks before it forks: each user mistake is exit 1 with its reason."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient

from .conftest import encordfs, unmount

pytestmark = pytest.mark.fuse


def _mount(emulator: Any, tmp_path: Path, *extra: str, domain: str | None = None, key: Path | None = None) -> Any:
    mountpoint = tmp_path / "m"
    mountpoint.mkdir(exist_ok=True)
    args = ["mount", str(mountpoint), "--domain", domain or emulator.url, "--cache-dir", str(tmp_path / "c")]
    if "--bearer-token-file" not in extra:
        args += ["--ssh-key", str(key or emulator.key_path)]
    started = time.monotonic()
    result = encordfs(*args, *extra)
    result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    if os.path.ismount(mountpoint):
        unmount(mountpoint)
    return result


def test_an_unknown_key_is_exit_1_with_the_reason(emulator, stranger_key_path, tmp_path) -> None:
    result = _mount(emulator, tmp_path, key=stranger_key_path)
    assert result.returncode == 1
    assert f"{emulator.url} refused the credentials (ed25519 keyid=" in result.stderr
    assert "an unknown key, a bad or expired bearer token" in result.stderr


def test_a_garbage_bearer_token_is_exit_1(emulator, tmp_path) -> None:
    token = tmp_path / "token"
    token.write_text("garbage\n")
    token.chmod(0o600)
    result = _mount(emulator, tmp_path, "--bearer-token-file", str(token))
    assert result.returncode == 1
    assert f"{emulator.url} refused the credentials (bearer token)" in result.stderr


def test_a_world_readable_token_file_is_refused_like_a_key(emulator, tmp_path) -> None:
    token = tmp_path / "token"
    token.write_text("whatever\n")
    token.chmod(0o644)
    result = _mount(emulator, tmp_path, "--bearer-token-file", str(token))
    assert result.returncode == 1
    assert f"permissions 0644 for bearer token file {token} are too open" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_exit_1_quickly(emulator, tmp_path) -> None:
    domain = f"http://127.0.0.1:{_free_port()}"
    result = _mount(emulator, tmp_path, domain=domain)
    assert result.returncode == 1
    assert f"cannot reach {domain}: list folders {domain}/v2/public/storage/folders: connection failed (ConnectError)" in result.stderr
    assert result.elapsed < 8


@pytest.fixture
def other_server() -> Iterator[str]:
    """Some unrelated web server on loopback: 200 with an HTML page for every path."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_is_not_encord_is_exit_1(emulator, other_server, tmp_path) -> None:
    result = _mount(emulator, tmp_path, domain=other_server)
    assert result.returncode == 1
    assert f"{other_server} does not answer like the Encord API (is --domain right?)" in result.stderr


def test_a_failing_server_is_exit_1(emulator, tmp_path) -> None:
    with emulator.faults(error_rate=1.0, scope="api"):
        result = _mount(emulator, tmp_path)
    assert result.returncode == 1
    assert f"{emulator.url} is failing (try again later): list folders {emulator.url}/v2/public/storage/folders: HTTP 5" in result.stderr


def test_a_root_without_permission_is_exit_1(emulator, tmp_path) -> None:
    root = str(uuid.uuid4())
    result = _mount(emulator, tmp_path, "--root", root)
    assert result.returncode == 1
    assert f"cannot open --root {root!r}: no such folder, or no permission for ed25519 keyid=" in result.stderr


def test_an_already_mounted_point_is_refused_and_a_non_empty_one_warned(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid, daemon=True)
    result = encordfs("mount", str(mounted.path), "--domain", emulator.url, "--ssh-key", str(emulator.key_path),
                      "--cache-dir", str(tmp_path / "other-cache"), "--root", str(fs_root.uuid))
    assert result.returncode == 1
    assert f"{mounted.path} is already a mount point (fuse.encordfs from encordfs): unmount it first" in result.stderr
    status = encordfs("status").stdout
    assert f"mounted: {mounted.path} (cache dir {mounted.cache_dir})" in status

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("hidden while mounted")
    result = encordfs("mount", str(busy), "--domain", emulator.url, "--ssh-key", str(emulator.key_path),
                      "--cache-dir", str(tmp_path / "busy-cache"), "--root", str(fs_root.uuid))
    try:
        assert result.returncode == 0, result.stderr
        assert f"mount point {busy} is not empty: its 1 entries are hidden while encordfs is mounted there" in result.stderr
    finally:
        unmount(busy)
    assert (busy / "mine.txt").read_text() == "hidden while mounted"


def test_a_relative_key_file_in_the_environment_works_in_the_background(emulator, fs_root, tmp_path) -> None:
    (tmp_path / "keys").mkdir()
    key = tmp_path / "keys" / "id"
    key.write_bytes(emulator.key_path.read_bytes())
    key.chmod(0o600)
    mountpoint = tmp_path / "m"
    mountpoint.mkdir()
    env = {"ENCORD_SSH_KEY_FILE": "keys/id"}
    result = encordfs("mount", "m", "--domain", emulator.url, "--cache-dir", "c", "--root", str(fs_root.uuid), cwd=tmp_path, env=env)
    try:
        assert result.returncode == 0, result.stderr
        assert os.listdir(mountpoint) == []
    finally:
        unmount(mountpoint)


def test_a_relative_bearer_token_file_works_in_the_background(emulator, fs_root, tmp_path) -> None:
    async def issue() -> str:
        async with StorageClient(load_credentials(ssh_key_file=emulator.key_path), emulator.url) as client:
            return await client.issue_bearer_token()

    (tmp_path / "token").write_text(trio.run(issue))
    (tmp_path / "token").chmod(0o600)
    (tmp_path / "m").mkdir()
    result = encordfs("mount", "m", "--domain", emulator.url, "--cache-dir", "c", "--root", str(fs_root.uuid),
                      "--bearer-token-file", "token", cwd=tmp_path)
    try:
        assert result.returncode == 0, result.stderr
        assert os.listdir(tmp_path / "m") == []
    finally:
        unmount(tmp_path / "m")
