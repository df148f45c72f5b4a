"""The persistent content cache: items' bytes kept on local disk, within a byte bound, across remounts.

One file per entry under ``<cache dir>/content/<2 hex>/``: a whole small file, or one
``CHUNK_SIZE`` range of a big one (aligned with the Reader's chunks). The entry's name is its key,
built from the item's UUID, its last edit time and its size, and the chunk's index, so an item
changed elsewhere has new keys and is never served old bytes; its old entries age out.

Each file starts with a header (magic, length, CRC-32 of the payload): a torn or altered entry
(a crash mid-write, a disk error, a file truncated by hand) is detected on read, deleted and
reported as missing, so the bytes are fetched again. Files are written under a temporary name and
renamed into place, so a reader never sees half an entry under its real name; temporary files a
crash left behind are removed when the store is loaded.

The bound: the total of the entries' file sizes (reserved before an entry is written) never
exceeds ``limit``. Room is made before writing by deleting the least recently used entries (and
first those unused for ``ttl`` seconds). Deleting a file a reader has open is safe on POSIX (the
reader keeps its bytes), so eviction never waits. The order of use survives a remount through the
files' modification times (touched on each hit). The staging lock allows one mount per cache dir,
so the store is shared only by the threads of one process: one lock guards the index.

Every method does disk IO: call them from a worker thread (``trio.to_thread``), except ``has``.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import re
import shutil
import struct
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from pathlib import Path
from uuid import UUID

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
HEADER = struct.Struct("<4sQI")  # magic, payload length, CRC-32 of the payload
MAGIC = b"EFC1"
DIR_NAME = "content"
_NAME = re.compile(r"^[0-9a-f]{32}-\d+-\d+-\d+$")
_TEMP_MARK = ".tmp"
DEFAULT_SHARE = 0.10  # of the disk's free space (plus what the cache holds already)
DEFAULT_MAX = 10 << 30

Version = tuple[UUID, datetime | None, int]  # (item uuid, last edit, size), as in recent_reads.py


def entry_key(version: Version, index: int) -> str:
    """The name of chunk ``index`` of this version of an item."""
    uuid, edited, size = version
    edited_us = 0 if edited is None else round(edited.timestamp() * 1_000_000)
    return f"{uuid.hex}-{edited_us}-{size}-{index}"


class EntryState(enum.Enum):
    WRITING = "writing"  # room reserved, the bytes being written under a temporary name: not served
    READY = "ready"  # on disk under its key: served


@dataclass
class _Entry:
    state: EntryState
    size: int  # bytes on disk, header included: what counts against the bound
    used: float  # wall-clock time of the last use


class ContentStore:
    def __init__(self, root: Path, limit: int, ttl: float) -> None:
        self.root = root
        self._root = str(root)
        self.limit = limit
        self.ttl = ttl  # seconds an entry is kept unused; 0: until room is needed
        self.bytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        self._temp_names = count()

    @property
    def entries(self) -> int:
        return len(self._entries)

    def load(self) -> None:
        """Rebuild the index from the directory (oldest use first) and drop what is over the bound,
        expired, or a temporary file a crash left behind."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        found: list[tuple[float, str, int]] = []
        for path in self.root.glob("*/*"):
            try:
                if _TEMP_MARK in path.name:
                    path.unlink()
                elif _NAME.match(path.name):
                    stat = path.stat()
                    found.append((stat.st_mtime, path.name, stat.st_size))
            except FileNotFoundError:
                continue
        with self._lock:
            for used, key, size in sorted(found):
                self._entries[key] = _Entry(EntryState.READY, size, used)
                self.bytes += size
            self._make_room(0)
        log.info("content cache: %d entries, %d bytes (limit %d) in %s", len(self._entries), self.bytes, self.limit, self.root)

    def set_limit(self, limit: int) -> None:
        with self._lock:
            self.limit = limit
            self._make_room(0)

    def has(self, key: str) -> bool:
        """Whether the entry may be served (no IO: fine on the event loop)."""
        entry = self._entries.get(key)
        return entry is not None and entry.state is EntryState.READY

    def get(self, key: str) -> bytes | None:
        """The entry's bytes, or None when it is missing, being written, or torn (then deleted)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.state is not EntryState.READY:
                return None
            entry.used = time.time()
            self._entries.move_to_end(key)
        path = self._path(key)
        data = self._read_checked(path)
        if data is None:
            with self._lock:
                if self._entries.get(key) is entry:
                    self._forget(key)
            return None
        with contextlib.suppress(FileNotFoundError):  # evicted meanwhile: its bytes were read before
            os.utime(path)  # the order of use, for the next mount
        return data

    def put(self, key: str, data: bytes | memoryview) -> bool:
        """Keep ``data`` under ``key`` if it fits within the bound (making room first); whether it was kept."""
        size = HEADER.size + len(data)
        with self._lock:
            if key in self._entries or not self._make_room(size):
                return False
            entry = self._entries[key] = _Entry(EntryState.WRITING, size, time.time())
            self.bytes += size
        path = self._path(key)
        temp = f"{path}{_TEMP_MARK}{os.getpid()}-{next(self._temp_names)}"
        try:
            self._write(temp, data)
            os.replace(temp, path)
        except OSError as exc:
            log.warning("content cache: cannot keep %s: %s", key, exc)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
                    self.bytes -= size
            return False
        with self._lock:
            if self._entries.get(key) is entry:
                entry.state = EntryState.READY
            else:
                with contextlib.suppress(FileNotFoundError):  # cleared while being written
                    os.unlink(path)
        return True

    @staticmethod
    def _write(temp: str, data: bytes | memoryview) -> None:
        """Header and bytes in one ``writev`` (string paths and raw fds: this runs once per file read)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(temp, flags, 0o600)
        except FileNotFoundError:  # its subdirectory is made on first use
            os.makedirs(os.path.dirname(temp), mode=0o700, exist_ok=True)
            fd = os.open(temp, flags, 0o600)
        try:
            header = HEADER.pack(MAGIC, len(data), zlib.crc32(data))
            written = os.writev(fd, [header, data])
            if written != len(header) + len(data):  # a short write: finish it
                rest = (header + bytes(data))[written:]
                while rest:
                    rest = rest[os.write(fd, rest) :]
        finally:
            os.close(fd)

    def clear(self) -> None:
        """Delete every entry (not those being written: they finish and stay within the bound)."""
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.state is EntryState.READY]:
                self._forget(key)

    def _make_room(self, size: int) -> bool:
        """Evict expired entries, then least recently used ones until ``size`` more bytes fit."""
        if size > self.limit:
            return False
        deadline = time.time() - self.ttl if self.ttl > 0 else None
        victims, freed = [], 0
        for key, entry in self._entries.items():  # oldest first: stops at the first one kept
            expired = deadline is not None and entry.used < deadline
            if not expired and self.bytes - freed + size <= self.limit:
                break
            if entry.state is EntryState.READY:
                victims.append(key)
                freed += entry.size
        for key in victims:
            self._forget(key)
        return self.bytes + size <= self.limit

    def _forget(self, key: str) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def _path(self, key: str) -> str:
        return f"{self._root}/{key[:2]}/{key}"

    @staticmethod
    def _read_checked(path: str) -> bytes | None:
        try:
            with open(path, "rb") as source:
                raw = source.read()
        except FileNotFoundError:
            return None
        if len(raw) < HEADER.size:
            log.warning("content cache: torn entry %s (%d bytes): fetching it again", os.path.basename(path), len(raw))
            return None
        magic, length, crc = HEADER.unpack_from(raw)
        data = raw[HEADER.size :]
        if magic != MAGIC or length != len(data) or zlib.crc32(data) != crc:
            log.warning("content cache: torn entry %s: fetching it again", os.path.basename(path))
            return None
        return data


def open_store(cache_dir: Path, size: int | None, ttl: float) -> ContentStore | None:
    """The content cache of a mount's cache dir, loaded; None when ``size`` is 0 (turned off).
    ``size`` None: ``DEFAULT_SHARE`` of the disk's free space counting the cache's own bytes as
    free (so it does not shrink as it fills), at most ``DEFAULT_MAX``."""
    if size == 0:
        return None
    store = ContentStore(cache_dir / DIR_NAME, DEFAULT_MAX if size is None else size, ttl)
    store.load()
    if size is None:
        store.set_limit(min(DEFAULT_MAX, int((shutil.disk_usage(store.root).free + store.bytes) * DEFAULT_SHARE)))
    return store
