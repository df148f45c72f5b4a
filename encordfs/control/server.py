"""The mount process's side of the control channel: a Unix socket only its own user may use.

The socket lives in a 0700 directory and is itself 0600; on top of that every connection's peer
uid (``SO_PEERCRED``) must be the mount's, so root's or another user's process is refused even if
the permissions are loosened. One request per connection; requests run concurrently, each in its
own task, and a client that goes away cancels its request at its next progress line.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

import encordfs.control.ops  # noqa: F401  (registers the operations)
from encordfs.control import protocol
from encordfs.control.protocol import ControlError, Json
from encordfs.control.registry import OPERATIONS
from encordfs.fs.errors import FsError, errno_for
from encordfs.storage.errors import StorageError

log = logging.getLogger(__name__)

_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_uid(sock: trio.socket.SocketType) -> int:
    _pid, uid, _gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    return uid


async def _read_line(stream: trio.SocketStream) -> bytes:
    data = b""
    while b"\n" not in data:
        if len(data) > protocol.MAX_LINE:
            raise ControlError("control request too long", errno.EMSGSIZE)
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ControlError("connection closed before a whole request", errno.EPROTO)
        data += chunk
    return data.split(b"\n", 1)[0]


def _error_line(exc: Exception, op: str) -> bytes:
    if isinstance(exc, ControlError):
        return protocol.encode(exc.to_wire())
    if isinstance(exc, (FsError, StorageError, OSError)):
        return protocol.encode(ControlError(str(exc), errno_for(exc, f"control {op}")).to_wire())
    log.exception("control %s: unexpected error", op, exc_info=exc)
    return protocol.encode(ControlError(f"internal error: {type(exc).__name__}: {exc}").to_wire())


class ControlServer:
    """Serves ``OPERATIONS`` for one mount's ``fs`` on ``socket_path``; ``owner_uid`` is who may ask."""

    def __init__(self, fs: Any, socket_path: Path, owner_uid: int | None = None) -> None:
        self.fs = fs
        self.socket_path = socket_path
        self.owner_uid = os.getuid() if owner_uid is None else owner_uid

    def _prepare(self) -> trio.socket.SocketType:
        directory = self.socket_path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        try:
            self.socket_path.unlink()  # a crashed mount's socket (this mount point is ours now)
        except FileNotFoundError:
            pass
        return trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled (``nursery.start`` it: it starts with the socket's path, or None
        when the socket cannot be made; the mount then serves on without it, with a WARNING).
        The socket file is removed on the way out."""
        try:
            sock = self._prepare()
            await sock.bind(str(self.socket_path))
            os.chmod(self.socket_path, 0o600)
            sock.listen(64)
        except OSError as exc:
            log.warning("no control channel (encordfs commands cannot reach this mount): %s: %s", self.socket_path, exc)
            task_status.started(None)
            return
        try:
            async with trio.open_nursery() as nursery:
                task_status.started(self.socket_path)
                while True:
                    conn, _ = await sock.accept()
                    nursery.start_soon(self._connection, trio.SocketStream(conn))
        finally:
            sock.close()
            self.socket_path.unlink(missing_ok=True)

    async def _connection(self, stream: trio.SocketStream) -> None:
        async with stream:
            try:
                await self._answer(stream)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                log.debug("control client went away")

    async def _answer(self, stream: trio.SocketStream) -> None:
        uid = peer_uid(stream.socket)
        if uid != self.owner_uid:
            log.warning("control: refused a connection from uid %d (the mount is uid %d's)", uid, self.owner_uid)
            await stream.send_all(protocol.encode(ControlError("permission denied: not the mount's owner", errno.EACCES).to_wire()))
            return
        op = "?"
        try:
            message = protocol.decode(await _read_line(stream))
            op, args = str(message.get("op")), message.get("args") or {}
            handler = OPERATIONS.get(op)
            if handler is None:
                raise ControlError(f"unknown operation {op!r} (is the mount an older encordfs?)", errno.ENOSYS)
            if not isinstance(args, dict):
                raise ControlError("args must be a JSON object", errno.EINVAL)
            log.debug("control %s %s", op, args)
            value = await handler(self.fs, args, self._emitter(stream))
            line = protocol.result(value)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise
        except Exception as exc:  # every failure goes back to the caller, never into the mount
            line = _error_line(exc, op)
        await stream.send_all(line)

    @staticmethod
    def _emitter(stream: trio.SocketStream) -> Callable[[Json], Awaitable[None]]:
        """``emit`` for one request; a lock keeps lines whole if a handler emits from several tasks."""
        lock = trio.Lock()

        async def emit(payload: Json) -> None:
            async with lock:
                await stream.send_all(protocol.progress(payload))

        return emit
