"""The control channel: a real mount answers CLI requests over its owner-only Unix socket."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from encordfs import __version__
from encordfs.control import client, protocol
from encordfs.control.protocol import ControlError
from encordfs.control.registry import OPERATIONS, operation
from encordfs.control.server import ControlServer

from .cli_helpers import wait_for_control

pytestmark = pytest.mark.fuse


def test_ping_reaches_the_mount_serving_a_path(emulator: Any, fs_root: Any, mount_fs: Any) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    (mounted.path / "sub").mkdir()
    target = wait_for_control(mounted.path / "sub")
    assert target.mountpoint == mounted.path and target.relative == "sub"
    _, answer = client.call_at(mounted.path / "sub", "ping")
    assert answer["version"] == __version__ and answer["root"] == str(fs_root.uuid)
    assert answer["pid"] == mounted.process.pid
    assert answer["ino"] == os.stat(mounted.path / "sub").st_ino
    with pytest.raises(ControlError) as missing:
        client.call_at(mounted.path / "sub" / "nope", "ping")
    assert missing.value.errno == errno.ENOENT and "nope" in missing.value.message
    with pytest.raises(ControlError) as unknown:
        client.call(target.socket, "no-such-op", {})
    assert unknown.value.errno == errno.ENOSYS


def test_a_background_mount_answers_as_soon_as_mount_returns(emulator: Any, fs_root: Any, mount_fs: Any) -> None:
    """``encordfs mount`` (forking) returns once the mount answers; its control socket is up by then."""
    mounted = mount_fs(emulator, fs_root.uuid, daemon=True)
    target = client.find_mount(mounted.path)
    assert target.socket.exists()
    assert client.call(target.socket, "ping", {})["root"] == str(fs_root.uuid)


def test_the_socket_is_the_owners_only(emulator: Any, fs_root: Any, mount_fs: Any) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    target = wait_for_control(mounted.path)
    assert stat.S_IMODE(target.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.socket.parent.stat().st_mode) == 0o700
    if os.getuid() == 0:  # another user cannot even reach it
        probe = (f"import os, socket; os.setgid(65534); os.setuid(65534); s = socket.socket(socket.AF_UNIX);"
                 f"\ntry:\n s.connect({str(target.socket)!r}); print('connected')\nexcept OSError as e: print(e.errno)")
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
        assert result.stdout.strip() == str(errno.EACCES), result.stderr


def test_not_inside_a_mount_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="not inside an encordfs mount"):
        client.find_mount(tmp_path)


def test_the_longest_mount_point_wins_and_unregistered_mounts_say_so(tmp_path: Path) -> None:
    table = tmp_path / "mounts"
    table.write_text(f"encordfs {tmp_path}/a fuse.encordfs rw 0 0\nencordfs {tmp_path}/a/b\\040c fuse.encordfs rw 0 0\n")
    with pytest.raises(ControlError, match=r"mount on .*/a/b c has no control socket"):
        client.find_mount(tmp_path / "a" / "b c" / "d", table)
    with pytest.raises(ControlError, match=r"mount on .*/a has no control socket"):
        client.find_mount(tmp_path / "a" / "bc", table)


# --- the server in-process: streaming, refusal by peer uid, disconnects --------------------------


_stopped_at: list[int] = []


@operation("test-count")
async def _count(fs: Any, args: protocol.Json, emit: Any) -> Any:
    n = 0
    try:
        for n in range(int(args["to"])):
            await emit({"n": n})
            await trio.sleep(float(args.get("pause", 0)))
    finally:
        _stopped_at.append(n)
    return {"counted": int(args["to"]), "fs": fs}


def _short_socket(tmp_path: Path) -> Path:
    return Path(f"/tmp/encordfs-test-{os.getpid()}-{tmp_path.name[-20:]}") / "c.sock"


async def test_progress_streams_before_the_result(tmp_path: Path) -> None:
    path = _short_socket(tmp_path)
    async with trio.open_nursery() as nursery:
        assert await nursery.start(ControlServer("the-fs", path).serve) == path
        seen: list[int] = []
        result = await trio.to_thread.run_sync(lambda: client.call(path, "test-count", {"to": 3}, lambda p: seen.append(p["n"])))
        assert seen == [0, 1, 2] and result == {"counted": 3, "fs": "the-fs"}
        nursery.cancel_scope.cancel()
    assert not path.exists()
    path.parent.rmdir()


async def test_a_peer_of_another_uid_is_refused(tmp_path: Path) -> None:
    path = _short_socket(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(ControlServer("the-fs", path, owner_uid=os.getuid() + 1).serve)
        with pytest.raises(ControlError) as refused:
            await trio.to_thread.run_sync(lambda: client.call(path, "test-count", {"to": 1}))
        assert refused.value.errno == errno.EACCES
        nursery.cancel_scope.cancel()
    path.parent.rmdir()


async def test_a_client_that_leaves_cancels_its_request(tmp_path: Path) -> None:
    path = _short_socket(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(ControlServer("the-fs", path).serve)

        def leave_early() -> bytes:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(path))
                sock.sendall(protocol.request("test-count", {"to": 10_000, "pause": 0.001}))
                return sock.recv(100)

        _stopped_at.clear()
        assert b"progress" in await trio.to_thread.run_sync(leave_early)
        with trio.fail_after(5):
            while not _stopped_at:
                await trio.sleep(0.01)
        assert _stopped_at[0] < 5000  # stopped when the client left, not after 10,000 lines
        with trio.fail_after(5):  # the server is still fine and answers the next request
            answer = await trio.to_thread.run_sync(lambda: client.call(path, "test-count", {"to": 1}))
        assert answer["counted"] == 1
        nursery.cancel_scope.cancel()
    path.parent.rmdir()


def teardown_module() -> None:
    OPERATIONS.pop("test-count", None)
