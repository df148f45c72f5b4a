"""Local staging of written files and a crash-safe journal of uploads the server has not confirmed.

Layout under the cache dir (every directory 0700, every file 0600)::

    lock                 flock'ed while a Staging is open: one mount per cache dir
    data/<id>            the bytes written through the mount (a StagedFile)
    pending/<id>.new     the journal record file of a staged file not closed yet: made (empty) with
                         the staged file, so that journaling it at close creates no directory entry
    pending/<id>.json    a journal record: "upload data/<id> to this folder under this title"
    pending/*.tmp        a record being rewritten (removed on open: the old record stays valid)
    broken/              records (and their data) found unreadable or inconsistent on open, kept
                         for a human rather than deleted or retried

Staged files are made ahead by a thread (``_Spares``), with their empty record files, and their
directory entries are fsync'd in batches there, so a create costs no file creation and no fsync.
Durability protocol (``commit``), one fsync latency per close: write the record (naming the size
and the CRC-32 of the data) into ``pending/<id>.new``, fdatasync the data, fdatasync the record,
then rename it to ``<id>.json`` (no fsync: under either name it is a record). A big file is
fdatasync'd before its record is written instead of being checksummed. Only then may ``close()``
return success. At any crash point a record is either absent or empty (nothing was promised: the
writer's close() had not returned), or complete and pointing at complete data: a record whose data
is short or fails its CRC is set aside on open. ``done`` unlinks the record first, then the data;
a data file without a record is a write that never reached close() and is removed on open.

The class is synchronous and thread-safe; the filesystem calls it through ``trio.to_thread``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import stat
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from uuid import UUID

from encordfs.wire.enums import StorageItemType

log = logging.getLogger(__name__)

__all__ = [
    "NotPending",
    "PendingUpload",
    "StagedFile",
    "Staging",
    "StagingBusy",
    "StagingError",
    "StagingFull",
    "UploadTarget",
    "read_pending",
]

_RECORD_VERSION = 3  # 2 added crc32, 3 slot_item and failure; older records still load
_READABLE_VERSIONS = (1, 2, 3)
FORGET_SECONDS = 0.05  # records forgotten within this long share one directory sync
CHECKSUMMED_SIZE = 8 << 20  # files up to this size are checksummed; bigger ones are synced before their record
SPARE_FILES = 32  # staged files kept made ahead
_SIGNED_QUERY = re.compile(r"(https?://[^\s?#]+)\?\S*")


class StagingError(Exception):
    """The cache dir cannot be used (owned by someone else, unreadable journal, ...)."""


class StagingBusy(StagingError):
    """Another process (another mount) holds this cache dir."""


class NotPending(StagingError):
    """The record is no longer in the journal (its upload was confirmed or discarded meanwhile)."""


class StagingFull(OSError):
    """The disk holding the cache dir is full (errno ENOSPC): the write was not staged."""

    def __init__(self, root: Path, doing: str) -> None:
        super().__init__(errno.ENOSPC, f"no space left in the staging cache {root} while {doing}")


@dataclass(frozen=True)
class UploadTarget:
    """Where a staged file goes: the folder, the item title (its file name) and the item type."""

    folder_uuid: UUID
    title: str
    item_type: StorageItemType


@dataclass(frozen=True)
class PendingUpload:
    """A journal record: an upload promised to the user and not yet confirmed by the server."""

    id: str
    folder_uuid: UUID
    title: str
    item_type: StorageItemType
    size: int
    created: float
    attempts: int = 0
    last_error: str | None = None
    sha256: str | None = None
    replaces: str | None = None  # the item (uuid) this file overwrites: deleted once the upload is done
    supersedes: str | None = None  # an earlier record of the same file, dropped if a crash left it
    crc32: int | None = None  # of the data, when the record was written before the data was synced
    slot_item: str | None = None  # the upload slot's item (uuid), journaled before the upload registers it
    failure: str | None = None  # the server refused the upload for good: why (kept, not retried by itself)
    client_metadata: str | None = None  # JSON: what the new item carries over (the item it overwrites had it)

    @property
    def slot_uuid(self) -> UUID | None:
        return UUID(self.slot_item) if self.slot_item else None

    @property
    def replaced_item(self) -> UUID | None:
        return UUID(self.replaces) if self.replaces else None

    @property
    def target(self) -> UploadTarget:
        return UploadTarget(self.folder_uuid, self.title, self.item_type)

    def to_json(self) -> dict[str, object]:
        record = asdict(self)
        record.update(version=_RECORD_VERSION, folder_uuid=str(self.folder_uuid), item_type=self.item_type.value)
        return record

    @classmethod
    def from_json(cls, record: dict[str, object]) -> PendingUpload:
        if record.get("version") not in _READABLE_VERSIONS:
            raise ValueError(f"unknown journal record version {record.get('version')!r}")
        fields = {k: v for k, v in record.items() if k != "version"}
        fields["folder_uuid"] = UUID(str(fields["folder_uuid"]))
        fields["item_type"] = StorageItemType(fields["item_type"])
        return cls(**fields)  # type: ignore[arg-type]


class StagedFile:
    """A private (0600) local file holding what is written through the mount, before upload.

    Use ``fd`` directly with ``os.pwrite``/``os.pread``/``os.ftruncate``, or the methods here, which
    turn a full disk into ``StagingFull``. ``close()`` releases the fd; the data stays until
    ``Staging.done`` or ``Staging.discard``.
    """

    def __init__(self, root: Path, file_id: str, path: Path, fd: int, record_fd: int = -1) -> None:
        self._root = root
        self.id = file_id
        self.path = path
        self.fd = fd
        self.record_fd = record_fd  # its empty pending/<id>.new, open until the first commit fills it
        self.entries_durable = False  # its and its record file's directory entries are fsync'd

    def pwrite(self, data: bytes, offset: int) -> int:
        with _no_space(self._root, f"writing {len(data)} bytes"):
            return os.pwrite(self.fd, data, offset)

    def pread(self, size: int, offset: int) -> bytes:
        return os.pread(self.fd, size, offset)

    def truncate(self, length: int) -> None:
        with _no_space(self._root, f"truncating to {length} bytes"):
            os.ftruncate(self.fd, length)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self._close_record()

    def _close_record(self) -> None:
        if self.record_fd >= 0:
            os.close(self.record_fd)
            self.record_fd = -1


class Staging:
    """The staging area and upload journal rooted at ``root`` (see the module docstring).

    Opening it takes an exclusive lock on the cache dir (``StagingBusy`` if another mount has it),
    fixes or refuses unsafe permissions and removes leftovers of interrupted writes.
    """

    def __init__(self, root: Path, *, spare_files: int = SPARE_FILES) -> None:
        self.root = Path(root)
        self._data = self.root / "data"
        self._pending = self.root / "pending"
        self._mutex = threading.Lock()
        for directory in (self.root, self._data, self._pending):
            _private_dir(directory)
        self._lock_fd = _lock(self.root / "lock")
        self._data_sync = _DirSync(self._data)
        self._pending_sync = _DirSync(self._pending)
        self._recover()
        self._spares = _Spares(self._make_file, self._sync_dirs, self._remove, spare_files)
        self._forgetter = _Forgetter(self._pending_sync.sync, self._reuse_record_file)

    def close(self) -> None:
        """Release the cache dir lock. Staged files and records stay for the next open (spare
        staged files made ahead are removed)."""
        for spare in self._spares.close():
            self._remove(spare)
        self._forgetter.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- staged files --------------------------------------------------------------------------

    def new_file(self) -> StagedFile:
        """A new empty 0600 staged file, open read-write: one made ahead when there is one (no
        system call here), else made now (its directory entries are then synced at commit)."""
        spare = self._spares.take()
        if spare is not None:
            return spare
        return self._make_file()

    def _make_file(self, reused: StagedFile | None = None) -> StagedFile:
        """A staged file and its empty record file (``pending/<id>.new``, made first: a data file
        never lacks one while it is being made), both 0600; ``reused``: a record file to use
        (with its id), emptied by ``_reuse_record_file``."""
        file_id = reused.id if reused is not None else uuid.uuid4().hex
        path, record_path = self._data / file_id, self._new_record_path(file_id)
        fds: list[int] = [reused.record_fd] if reused is not None else []
        with _no_space(self.root, "creating a staged file"):
            try:
                for made in (record_path, path)[len(fds):]:
                    fds.append(os.open(made, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
                    os.fchmod(fds[-1], 0o600)
            except BaseException:
                for fd in fds:
                    os.close(fd)
                path.unlink(missing_ok=True)
                record_path.unlink(missing_ok=True)
                raise
        return StagedFile(self.root, file_id, path, fds[1], fds[0])

    def _sync_dirs(self) -> None:
        """Make the directory entries of files made so far durable (shared by concurrent callers)."""
        self._data_sync.sync()
        self._pending_sync.sync()

    def open_data(self, record: PendingUpload) -> StagedFile:
        """Reopen the data of a journaled upload (to upload it, or to read it back), read-write."""
        path = self.data_path(record)
        return StagedFile(self.root, record.id, path, os.open(path, os.O_RDWR | os.O_CLOEXEC))

    def data_path(self, record: PendingUpload | StagedFile) -> Path:
        return self._data / record.id

    # --- the journal ---------------------------------------------------------------------------

    def commit(
        self,
        staged: StagedFile,
        target: UploadTarget,
        *,
        sha256: str | None = None,
        replaces: UUID | None = None,
        supersedes: PendingUpload | None = None,
        client_metadata: str | None = None,
    ) -> PendingUpload:
        """Make ``staged`` durable and journal its upload; call BEFORE uploading, before close() returns.

        ``staged`` must still be open. Committing a file again (rewritten after a first commit)
        replaces its record. ``supersedes``: the record of an earlier version of the same file,
        not uploaded yet: it is forgotten once this one is journaled (and on the next open if a
        crash came in between), so one file never becomes two items. ``replaces``: the item
        this upload overwrites, deleted after it. The steps of ``begin_commit`` may also run
        apart: the quick ones in the caller's thread, ``sync`` in a worker thread.
        """
        commit = self.begin_commit(staged, target, sha256=sha256, replaces=replaces, supersedes=supersedes,
                                   client_metadata=client_metadata)
        commit.sync()
        return commit.publish()

    def begin_commit(
        self,
        staged: StagedFile,
        target: UploadTarget,
        *,
        sha256: str | None = None,
        replaces: UUID | None = None,
        supersedes: PendingUpload | None = None,
        client_metadata: str | None = None,
    ) -> Commit:
        """The first step of ``commit``: the record, written into the staged file's record file
        when the file is small enough to be checksummed (a few system calls, no sync)."""
        if staged.closed:
            raise ValueError(f"staged file {staged.id} is closed: commit it before closing it")
        with _no_space(self.root, f"journaling {target.title!r}"):
            size = staged.size()
            record = PendingUpload(
                id=staged.id,
                folder_uuid=target.folder_uuid,
                title=target.title,
                item_type=target.item_type,
                size=size,
                created=time.time(),
                sha256=sha256,
                replaces=str(replaces) if replaces else None,
                supersedes=supersedes.id if supersedes else None,
                crc32=_crc32(staged.fd, size) if size <= CHECKSUMMED_SIZE else None,
                client_metadata=client_metadata,
            )
            commit = Commit(self, staged, record, supersedes)
            if commit.in_place and record.crc32 is not None:
                commit.write_record()
        return commit

    def done(self, record: PendingUpload) -> None:
        """The server confirmed the upload: forget the record now, the data once that is durable.

        The directory sync is shared by the records forgotten within ``FORGET_SECONDS`` and runs
        in a thread of ours: a crash before it may upload these files again on the next mount
        (the window any upload has between the server's answer and this call, made wider)."""
        self._forget(record)

    def _forget(self, record: PendingUpload) -> None:
        """The record stops being one at once: its file is renamed to the ``.new`` of a future
        staged file (its content names another id: dropped on open if a crash leaves it), and is
        emptied and reused once that is durable: one file creation and one deletion less per
        upload (creating files where many were just deleted is costly on ext4)."""
        reuse: str | None = uuid.uuid4().hex
        with self._mutex:
            try:
                os.rename(self._record_path(record.id), self._new_record_path(str(reuse)))
            except FileNotFoundError:
                reuse = None
        self._forgetter.add(self.data_path(record), reuse)

    def _reuse_record_file(self, file_id: str) -> None:
        """An emptied record file for the next staged file made ahead (removed if none needs it)."""
        path = self._new_record_path(file_id)
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, 0)
        except OSError:
            os.close(fd)
            raise
        if not self._spares.reuse(StagedFile(self.root, file_id, self._data / file_id, -1, fd)):
            os.close(fd)
            path.unlink(missing_ok=True)

    def failed(self, record: PendingUpload, error: str) -> PendingUpload:
        """The upload failed: keep it pending for a retry, with one more attempt and the error."""
        return self.update(replace(record, attempts=record.attempts + 1, last_error=_redact(error)))

    def update(self, record: PendingUpload) -> PendingUpload:
        """Rewrite a record (durably) with new bookkeeping: attempts and error, the slot its upload
        uses, a failure; ``NotPending`` if it was forgotten meanwhile."""
        updated = replace(record, last_error=_redact(record.last_error) if record.last_error else None,
                          failure=_redact(record.failure) if record.failure else None)
        with self._mutex, _no_space(self.root, f"updating the journal record of {record.title!r}"):
            self._rewrite_record(updated)
        return updated

    def rename_target(
        self,
        record: PendingUpload,
        *,
        folder_uuid: UUID | None = None,
        title: str | None = None,
        item_type: StorageItemType | None = None,
        replaces: UUID | None = None,
    ) -> PendingUpload:
        """A pending file was renamed (or moved, or its type re-detected, or found to overwrite
        an item uploaded meanwhile): point the record there. A failure is forgotten: the new
        place may succeed."""
        updated = replace(
            record,
            failure=None,
            folder_uuid=folder_uuid or record.folder_uuid,
            title=title or record.title,
            item_type=item_type or record.item_type,
            replaces=str(replaces) if replaces else record.replaces,
        )
        with self._mutex, _no_space(self.root, f"renaming pending upload to {updated.title!r}"):
            self._rewrite_record(updated)
        return updated

    def discard(self, what: PendingUpload | StagedFile) -> None:
        """The file was deleted before its upload: forget it (closing a StagedFile's fd)."""
        if isinstance(what, StagedFile):
            what.close()
        self._remove(what)

    def pending(self) -> list[PendingUpload]:
        """Uploads journaled and not confirmed, oldest first: replay them on mount, show in status."""
        records = [self._read_record(path) for path in self._pending.glob("*.json")]
        return sorted((r for r in records if r is not None), key=lambda r: (r.created, r.id))

    # --- internals -----------------------------------------------------------------------------

    def _record_path(self, file_id: str) -> Path:
        return self._pending / f"{file_id}.json"

    def _new_record_path(self, file_id: str) -> Path:
        return self._pending / f"{file_id}.new"

    def _rewrite_record(self, record: PendingUpload) -> None:
        if not self._record_path(record.id).exists():
            raise NotPending(f"upload {record.id} of {record.title!r} is no longer pending")
        self._write_record(record)

    def _write_record(self, record: PendingUpload) -> None:
        """Atomically (re)write a record: temp + fsync + rename + fsync dir."""
        self._write_temp(record)
        self._publish(record)

    def _temp_path(self, file_id: str) -> Path:
        return self._pending / f"{file_id}.json.tmp"

    def _write_temp(self, record: PendingUpload) -> None:
        """The record's bytes, fsync'd, under its temp name (removed on open if never published)."""
        temp = self._temp_path(record.id)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, _payload(record))
            os.fsync(fd)
        except OSError:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)

    def _publish(self, record: PendingUpload) -> None:
        os.replace(self._temp_path(record.id), self._record_path(record.id))
        self._pending_sync.sync()

    def _read_record(self, path: Path) -> PendingUpload | None:
        try:
            return PendingUpload.from_json(json.loads(path.read_bytes()))
        except FileNotFoundError:
            return None  # done() by another thread while listing
        except (ValueError, KeyError, TypeError) as exc:
            raise StagingError(f"unreadable upload journal record {path}: {exc}") from exc

    def _remove(self, what: PendingUpload | StagedFile) -> None:
        """Forget a record (durably: it must not be replayed), then its data; or a staged file
        never journaled (nothing to make durable)."""
        if isinstance(what, StagedFile):
            what.close()
            self._new_record_path(what.id).unlink(missing_ok=True)
        record = self._record_path(what.id)
        with self._mutex:
            gone = record.exists()
            if gone:
                record.unlink()
        if gone:
            self._pending_sync.sync()
        self.data_path(what).unlink(missing_ok=True)

    def _recover(self) -> None:
        """Remove what a crash left half-made; set aside records that do not match their data."""
        for temp in self._pending.glob("*.tmp"):
            log.info("removing an interrupted journal write %s", temp.name)
            temp.unlink()
        for new in self._pending.glob("*.new"):
            content = new.read_bytes()
            if not content or _record_id(content) not in (None, new.stem):  # a file never closed (or a spare): nothing was promised
                new.unlink()
            else:  # journaled, not renamed yet: a record under either name
                os.replace(new, new.with_suffix(".json"))
        kept: set[str] = set()
        for path in self._pending.glob("*.json"):
            problem = self._check_record(path)
            if problem:
                self._set_aside(path, problem)
            else:
                kept.add(path.name.removesuffix(".json"))
        for superseded in self._superseded(kept):
            log.info("dropping journal record %s: a later version of the same file is journaled", superseded)
            self._record_path(superseded).unlink()
            kept.discard(superseded)
        for data in self._data.iterdir():
            if data.name not in kept:
                log.info("removing staged data %s of a file whose close() never completed", data.name)
                data.unlink()
        if kept:
            log.info("%d upload(s) pending from an earlier mount", len(kept))

    def _superseded(self, ids: set[str]) -> set[str]:
        """Records a later record of the same file names (a crash between journaling the later
        one and forgetting the earlier one)."""
        records = (self._read_record(self._record_path(i)) for i in ids)
        return {r.supersedes for r in records if r is not None and r.supersedes is not None and r.supersedes in ids}

    def _check_record(self, path: Path) -> str | None:
        """Why the record at ``path`` cannot be replayed, or None when it is complete and consistent."""
        try:
            record = self._read_record(path)
        except StagingError as exc:
            return str(exc)
        assert record is not None  # nothing else runs during recovery
        size = _size_or_none(self.data_path(record))
        if record.id != path.name.removesuffix(".json") or size != record.size:
            return f"record for {record.title!r} expects {record.size} bytes, found {size}"
        if record.crc32 is not None and _file_crc32(self.data_path(record)) != record.crc32:
            return f"the data of {record.title!r} does not match the record's checksum"
        return None

    def _set_aside(self, record_path: Path, problem: str) -> None:
        broken = self.root / "broken"
        _private_dir(broken)
        file_id = record_path.name.removesuffix(".json")
        log.error("upload journal record %s cannot be replayed (%s): moved to %s", file_id, problem, broken)
        os.replace(record_path, broken / record_path.name)
        if (self._data / file_id).exists():
            os.replace(self._data / file_id, broken / file_id)


def read_pending(root: Path) -> list[PendingUpload]:
    """The journal of a cache dir, read without taking it (a mount may hold it), oldest first;
    records being written or unreadable are skipped. For ``encordfs status``."""
    records = []
    for path in Path(root, "pending").glob("*.json"):
        try:
            records.append(PendingUpload.from_json(json.loads(path.read_bytes())))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(records, key=lambda r: (r.created, r.id))


@contextmanager
def _no_space(root: Path, doing: str) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT into ``StagingFull``, naming the cache dir and what was being done, and log it."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, StagingFull) or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        full = StagingFull(root, doing)
        log.error("%s", full.strerror)
        raise full from exc


def _private_dir(path: Path) -> None:
    """Create ``path`` 0700, or check an existing one: ours, and readable by no one else (fixed if so)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise StagingError(f"staging cache {path} is not a directory")
    if info.st_uid != os.getuid():
        raise StagingError(f"staging cache {path} belongs to uid {info.st_uid}, not to this user")
    if info.st_mode & 0o077:
        log.warning("staging cache %s was readable by others (mode %o): making it 0700", path, info.st_mode & 0o777)
        os.chmod(path, 0o700)


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise StagingBusy(f"staging cache {path.parent} is in use by another mount") from exc
    return fd


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _record_id(content: bytes) -> str | None:
    """The id a record's bytes name (None if they are not a record)."""
    try:
        record = json.loads(content)
    except ValueError:
        return None
    return record.get("id") if isinstance(record, dict) else None


def _payload(record: PendingUpload) -> bytes:
    return json.dumps(record.to_json(), sort_keys=True).encode()


def _crc32(fd: int, size: int) -> int:
    return zlib.crc32(os.pread(fd, size, 0)) if size else 0


def _file_crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as data:
        while chunk := data.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


class Commit:
    """One commit in three steps (see ``Staging.begin_commit``): ``sync`` makes the data and the
    record durable (the only step that waits for the disk: run it in a worker thread); ``publish``
    renames the record to its final name, forgets the superseded record and returns the record."""

    def __init__(self, staging: Staging, staged: StagedFile, record: PendingUpload, superseded: PendingUpload | None) -> None:
        self._staging = staging
        self._staged = staged
        self.record = record
        self._superseded = superseded
        self.in_place = staged.record_fd >= 0  # its first commit: into the record file made with it
        self._written = False

    def _no_space(self) -> AbstractContextManager[None]:
        return _no_space(self._staging.root, f"journaling {self.record.title!r}")

    def write_record(self) -> None:
        try:
            os.pwrite(self._staged.record_fd, _payload(self.record), 0)
        except OSError:
            self._unwrite()
            raise
        self._written = True

    def sync(self) -> None:
        """Data and record durable, one sync each (a big file's data before its record is written:
        a small file's record names its checksum instead). A file made at create (no spare was
        ready) also syncs the directory entries."""
        staged, staging = self._staged, self._staging
        with self._no_space():
            if not self.in_place:  # committed before: its record is replaced atomically
                os.fdatasync(staged.fd)
                with staging._mutex:
                    staging._write_record(self.record)
                return
            try:
                os.fdatasync(staged.fd)
                if not self._written:
                    self.write_record()
                os.fdatasync(staged.record_fd)
                if not staged.entries_durable:
                    staging._sync_dirs()
            except OSError:
                self._unwrite()
                raise

    def publish(self) -> PendingUpload:
        record, staging = self.record, self._staging
        if self.in_place:
            self._staged._close_record()
            os.rename(staging._new_record_path(record.id), staging._record_path(record.id))  # durable under either name
        if self._superseded is not None:
            staging._forget(self._superseded)  # the later record names it: dropped on open if a crash keeps it
        log.debug("journaled upload %s (%d bytes) as %s", record.id, record.size, record.item_type.value)
        return record

    def _unwrite(self) -> None:
        """Not promised: an empty record file is an unfinished file."""
        if self.in_place and self._staged.record_fd >= 0:
            os.ftruncate(self._staged.record_fd, 0)
        self._written = False


class _DirSync:
    """fsync of one directory shared by concurrent callers (group commit): a caller returns once
    an fsync that began after its call has finished, so N threads cost one or two fsyncs, not N."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._cond = threading.Condition()
        self._asked = 0  # tickets handed out
        self._covered = 0  # every ticket up to this one is durable
        self._running = False

    def sync(self) -> None:
        with self._cond:
            self._asked += 1
            ticket = self._asked
            while self._covered < ticket:
                if self._running:
                    self._cond.wait()
                    continue
                self._running, covers = True, self._asked
                self._cond.release()
                try:
                    _fsync_dir(self._path)
                finally:
                    self._cond.acquire()
                    self._running = False
                    self._cond.notify_all()
                self._covered = max(self._covered, covers)


class _Spares:
    """Staged files made ahead by a thread, their directory entries fsync'd once per batch, handed
    out by ``take`` without a system call. A failure to make them (a full disk) is logged and
    retried later; meanwhile ``Staging.new_file`` makes its own (and reports the failure)."""

    RETRY_SECONDS = 1.0

    def __init__(
        self,
        make: Callable[[StagedFile | None], StagedFile],
        sync: Callable[[], None],
        discard: Callable[[StagedFile], None],
        target: int,
    ) -> None:
        self._make, self._sync, self._discard, self._target = make, sync, discard, target
        self._ready: deque[StagedFile] = deque()
        self._reused: deque[StagedFile] = deque()  # record files of forgotten records, emptied
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        if target > 0:
            self._thread = threading.Thread(target=self._run, name="staging-spares", daemon=True)
            self._thread.start()

    def reuse(self, record_file: StagedFile) -> bool:
        """Keep an emptied record file (a StagedFile without data) for a file made later; False
        when enough are kept or spares are no longer made."""
        with self._cond:
            if self._closed or self._thread is None or len(self._reused) >= self._target:
                return False
            self._reused.append(record_file)
        return True

    def take(self) -> StagedFile | None:
        with self._cond:
            spare = self._ready.popleft() if self._ready else None
            if len(self._ready) <= self._target // 2:
                self._cond.notify()
        return spare

    def close(self) -> list[StagedFile]:
        """Stop making spares; the ones not taken, for the caller to remove."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
        with self._cond:
            left, self._ready = list(self._ready) + list(self._reused), deque()
            self._reused = deque()
        return left

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._ready) > self._target // 2:
                    self._cond.wait()
                if self._closed:
                    return
                wanted = self._target - len(self._ready)
            try:
                self._add(wanted)
            except OSError as exc:
                log.warning("cannot make staged files ahead: %s", exc)
                with self._cond:
                    self._cond.wait(self.RETRY_SECONDS)

    def _add(self, count: int) -> None:
        made: list[StagedFile] = []
        try:
            for _ in range(count):
                with self._cond:
                    reused = self._reused.popleft() if self._reused else None
                made.append(self._make(reused))
            self._sync()
        except BaseException:
            for staged in made:  # not handed out: made again later
                self._discard(staged)
            raise
        for staged in made:
            staged.entries_durable = True
        with self._cond:
            self._ready.extend(made)


class _Forgetter:
    """Deletes the data of uploads the server confirmed once their records' deletion is durable:
    one sync of ``pending/`` for every record forgotten within ``FORGET_SECONDS``, in a thread."""

    def __init__(self, sync: Callable[[], None], reuse: Callable[[str], None]) -> None:
        self._sync = sync
        self._reuse = reuse
        self._queue: list[tuple[Path, str | None]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="staging-forget", daemon=True)
        self._thread.start()

    def add(self, data: Path, record_file: str | None) -> None:
        """Delete ``data`` and reuse the record file (the ``.new`` id) once the journal is synced."""
        with self._cond:
            self._queue.append((data, record_file))
            self._cond.notify()

    def close(self) -> None:
        """Forget what is queued now, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                gathered_by = time.monotonic() + FORGET_SECONDS  # the records forgotten meanwhile join
                while not self._closed and (left := gathered_by - time.monotonic()) > 0:
                    self._cond.wait(left)
                batch, self._queue = self._queue, []
                closed = self._closed
            if batch:
                self._forget(batch)
            if closed:
                return

    def _forget(self, batch: list[tuple[Path, str | None]]) -> None:
        try:
            self._sync()
        except OSError as exc:  # the records stay forgotten; their files are removed on the next open
            log.warning("syncing the upload journal failed: %s", exc)
            return
        for data, record_file in batch:
            data.unlink(missing_ok=True)
            if record_file is not None:
                try:
                    self._reuse(record_file)
                except OSError as exc:  # removed on the next open
                    log.warning("cannot reuse a journal record file: %s", exc)


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _redact(error: str) -> str:
    """Drop signed URLs' query strings from an error message before it is stored or shown."""
    return _SIGNED_QUERY.sub(r"\1?<redacted>", error)
