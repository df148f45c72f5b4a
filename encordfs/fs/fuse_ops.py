"""The pyfuse3 adapter: decode requests, call ``Filesystem``, encode replies, map errors to errno.

Every name a request carries is decoded here, once (``_name``): a name over 255 bytes is
ENAMETOOLONG and one that is not UTF-8 is EINVAL (Encord titles are text), whatever the operation.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

import pyfuse3
import trio

from encordfs import metrics
from encordfs.fs import names
from encordfs.fs.attrs import Attrs
from encordfs.fs.core import Filesystem
from encordfs.fs.errors import FsError, errno_for
from encordfs.fs.refusals import RefusalLog

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
DOTS = (".", "..")


def _name(raw: bytes) -> str:
    """A name from the kernel as text, or the errno that refuses it."""
    if len(raw) > names.NAME_MAX:
        raise FsError(errno.ENAMETOOLONG, f"a name of {len(raw)} bytes (at most {names.NAME_MAX})")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FsError(errno.EINVAL, f"{raw!r} is not UTF-8: Encord titles are text") from None


# Operations whose first two arguments are a directory inode and a name in it.
_ENTRY_OPERATIONS = frozenset({"lookup", "mkdir", "rmdir", "unlink", "create", "rename"})
# Operations whose first argument is a file handle; the others' is an inode (statfs has none).
_HANDLE_OPERATIONS = frozenset({"readdir", "releasedir", "read", "write", "flush", "fsync", "release"})


def _errors(
    method: Callable[Concatenate[FuseOperations, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[FuseOperations, P], Coroutine[Any, Any, T]]:
    """Turn whatever escapes an operation into a FUSEError through the one errno mapping."""
    operation = method.__name__
    observe = metrics.FUSE_OPERATIONS.labels(operation).observe

    @functools.wraps(method)
    async def wrapper(self: FuseOperations, /, *args: P.args, **kwargs: P.kwargs) -> T:
        started = time.perf_counter()
        try:
            return await method(self, *args, **kwargs)
        except pyfuse3.FUSEError as exc:
            metrics.FUSE_ERRORS.labels(operation, errno.errorcode.get(exc.errno, str(exc.errno))).inc()
            raise
        except Exception as exc:
            code = errno_for(exc, operation, self._subject(operation, args), self.refusals)
            metrics.FUSE_ERRORS.labels(operation, errno.errorcode.get(code, str(code))).inc()
            raise pyfuse3.FUSEError(code) from None
        finally:
            observe(time.perf_counter() - started)

    return wrapper


class KernelNotifier:
    """Invalidations through pyfuse3, sent asynchronously so a handler never waits on itself.
    Inode invalidations run in ``nursery`` (set once the mount's nursery is open)."""

    def __init__(self) -> None:
        self.nursery: trio.Nursery | None = None

    def entry_changed(self, parent: int, name: str) -> None:
        try:
            pyfuse3.invalidate_entry_async(parent, os.fsencode(name), ignore_enoent=True)
        except Exception as exc:  # the kernel may not know the entry: nothing to drop
            log.debug("invalidate_entry %s/%s: %s", parent, name, exc)

    def inode_changed(self, ino: int) -> None:
        async def invalidate() -> None:
            try:
                await trio.to_thread.run_sync(pyfuse3.invalidate_inode, ino, False)
            except OSError as exc:
                log.debug("invalidate_inode %s: %s", ino, exc)

        if self.nursery is not None:
            self.nursery.start_soon(invalidate)


class FuseOperations(pyfuse3.Operations):
    supports_dot_lookup = False
    enable_writeback_cache = False
    enable_acl = False

    def __init__(self, fs: Filesystem, refusals: RefusalLog | None = None) -> None:
        super().__init__()
        self.fs = fs
        self.refusals = refusals
        self._ttl = fs.options.attr_ttl

    def _subject(self, operation: str, args: tuple[Any, ...]) -> str:
        """The path an operation was about, for its log line and refusal record."""
        if operation == "statfs" or not args or not isinstance(args[0], int):
            return ""
        if operation in _HANDLE_OPERATIONS:
            return self.fs.path_of_handle(args[0])
        if operation in _ENTRY_OPERATIONS and len(args) > 1 and isinstance(args[1], bytes):
            return self.fs.path_of(args[0], args[1].decode("utf-8", "backslashreplace"))
        return self.fs.path_of(args[0])

    def _entry(self, attrs: Attrs) -> pyfuse3.EntryAttributes:
        entry = pyfuse3.EntryAttributes()
        entry.st_ino = attrs.ino
        entry.generation = 0
        entry.entry_timeout = self._ttl
        entry.attr_timeout = self._ttl
        entry.st_mode = attrs.mode
        entry.st_nlink = attrs.nlink
        entry.st_uid = attrs.uid
        entry.st_gid = attrs.gid
        entry.st_rdev = 0
        entry.st_size = attrs.size
        entry.st_blksize = 4096
        entry.st_blocks = attrs.blocks
        entry.st_atime_ns = attrs.atime_ns
        entry.st_mtime_ns = attrs.mtime_ns
        entry.st_ctime_ns = attrs.ctime_ns
        return entry

    # --- metadata ----------------------------------------------------------------------------

    @_errors
    async def lookup(self, parent_inode: int, name: bytes, ctx: Any = None) -> pyfuse3.EntryAttributes:
        """A missing name is answered with inode 0, which the kernel keeps as a negative entry for
        ``negative_ttl`` (an ENOENT error it would ask again for every time: GIO looks up
        ``.Trash`` and ``.Trash-<uid>`` for every file it shows). The mount's own creations replace
        or invalidate these entries."""
        try:
            return self._entry(await self.fs.lookup(parent_inode, _name(name)))
        except FsError as exc:
            if exc.errno != errno.ENOENT:
                raise
            metrics.NEGATIVE_LOOKUPS.inc()
            return self._missing()

    def _missing(self) -> pyfuse3.EntryAttributes:
        entry = pyfuse3.EntryAttributes()
        entry.st_ino = 0
        entry.entry_timeout = self.fs.options.negative_ttl
        return entry

    async def forget(self, inode_list: Sequence[tuple[int, int]]) -> None:
        self.fs.forget(inode_list)

    @_errors
    async def getattr(self, inode: int, ctx: Any = None) -> pyfuse3.EntryAttributes:
        return self._entry(await self.fs.getattr(inode))

    @_errors
    async def setattr(self, inode: int, attr: Any, fields: Any, fh: int | None, ctx: Any) -> pyfuse3.EntryAttributes:
        size = attr.st_size if fields.update_size else None
        return self._entry(await self.fs.setattr(inode, size, fh))

    @_errors
    async def statfs(self, ctx: Any) -> pyfuse3.StatvfsData:
        stats = await self.fs.statfs()
        data = pyfuse3.StatvfsData()
        data.f_bsize = data.f_frsize = stats.block_size
        data.f_blocks = stats.blocks
        data.f_bfree = data.f_bavail = stats.blocks_free
        data.f_files = stats.files
        data.f_ffree = data.f_favail = stats.files_free
        data.f_namemax = stats.name_max
        return data

    @_errors
    async def listxattr(self, inode: int, ctx: Any) -> list[bytes]:
        return [name.encode() for name in await self.fs.listxattr(inode)]

    @_errors
    async def getxattr(self, inode: int, name: bytes, ctx: Any) -> bytes:
        return await self.fs.getxattr(inode, os.fsdecode(name))

    @_errors
    async def setxattr(self, inode: int, name: bytes, value: bytes, ctx: Any) -> None:
        await self.fs.setxattr(inode, os.fsdecode(name), value)

    @_errors
    async def removexattr(self, inode: int, name: bytes, ctx: Any) -> None:
        await self.fs.removexattr(inode, os.fsdecode(name))

    # --- directories -------------------------------------------------------------------------

    @_errors
    async def opendir(self, inode: int, ctx: Any) -> int:
        return await self.fs.opendir(inode)

    @_errors
    async def readdir(self, fh: int, start_id: int, token: pyfuse3.ReaddirToken) -> None:
        """Offsets 1 and 2 are ``.`` and ``..``; the listing's entry i has offset i + 3. The kernel
        takes a reference to every entry but the two dots (readdirplus)."""
        dots = self.fs.dot_entries(fh) if start_id < len(DOTS) else []
        for offset, (entry, attrs) in enumerate(dots[start_id:], start_id + 1):
            if not pyfuse3.readdir_reply(token, os.fsencode(entry.name), self._entry(attrs), offset):
                return
        index = max(start_id - len(DOTS), 0)
        while True:
            found = await self.fs.readdir(fh, index)
            if found is None:
                return
            entry, attrs = found
            index += 1
            if not pyfuse3.readdir_reply(token, os.fsencode(entry.name), self._entry(attrs), index + len(DOTS)):
                return
            self.fs.remember(attrs.ino)

    @_errors
    async def releasedir(self, fh: int) -> None:
        await self.fs.releasedir(fh)

    @_errors
    async def mkdir(self, parent_inode: int, name: bytes, mode: int, ctx: Any) -> pyfuse3.EntryAttributes:
        return self._entry(await self.fs.mkdir(parent_inode, _name(name)))

    @_errors
    async def rmdir(self, parent_inode: int, name: bytes, ctx: Any) -> None:
        await self.fs.rmdir(parent_inode, _name(name))

    @_errors
    async def unlink(self, parent_inode: int, name: bytes, ctx: Any) -> None:
        await self.fs.unlink(parent_inode, _name(name))

    @_errors
    async def rename(self, parent_old: int, name_old: bytes, parent_new: int, name_new: bytes, flags: int, ctx: Any) -> None:
        await self.fs.rename(
            parent_old,
            _name(name_old),
            parent_new,
            _name(name_new),
            noreplace=bool(flags & pyfuse3.RENAME_NOREPLACE),
            exchange=bool(flags & pyfuse3.RENAME_EXCHANGE),
        )

    # --- files -------------------------------------------------------------------------------

    @_errors
    async def open(self, inode: int, flags: int, ctx: Any) -> pyfuse3.FileInfo:
        fh, keep_cache = await self.fs.open(inode, flags, ctx.pid if ctx is not None else None)
        return pyfuse3.FileInfo(fh=fh, keep_cache=keep_cache)

    @_errors
    async def create(self, parent_inode: int, name: bytes, mode: int, flags: int, ctx: Any) -> tuple[pyfuse3.FileInfo, pyfuse3.EntryAttributes]:
        fh, attrs = await self.fs.create(parent_inode, _name(name), flags)
        return pyfuse3.FileInfo(fh=fh), self._entry(attrs)

    @_errors
    async def read(self, fh: int, off: int, size: int) -> bytes | memoryview:  # type: ignore[override]
        """A memoryview of a cached block saves a copy per read; pyfuse3 sends any buffer."""
        data = await self.fs.read(fh, off, size)
        metrics.READ_BYTES.inc(len(data))
        return data

    @_errors
    async def write(self, fh: int, off: int, buf: bytes) -> int:
        written = await self.fs.write(fh, off, buf)
        metrics.WRITTEN_BYTES.inc(written)
        return written

    @_errors
    async def flush(self, fh: int) -> None:
        await self.fs.flush(fh)

    @_errors
    async def fsync(self, fh: int, datasync: bool) -> None:
        await self.fs.fsync(fh)

    @_errors
    async def release(self, fh: int) -> None:
        await self.fs.release(fh)
