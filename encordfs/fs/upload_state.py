"""The life of a file written through the mount, from its first write until the server has it.

One ``PendingFile`` per inode with local content. Its ``state`` is exactly one of:

    Local       nothing journaled yet: a new file being written, or an empty media placeholder
    Journaled   the newest version is in the journal and waits for its upload: until the file's
                last writer closes it, and (after a transient failure) until ``retry_at``
    Uploading   an upload of ``record`` runs; ``newer``: a later version journaled meanwhile
                (uploaded once this one lands, replacing it); ``unlinked``: deleted meanwhile
                (the item it makes is deleted when it lands)
    Failed      the server refused it for good (``reason``): kept, listed, readable, never
                retried by itself (a rename, a rewrite or ``encordfs sync --retry`` tries again)
    Landed      the server has the newest version (``item``); nothing local is left
    Gone        deleted before an upload made anything: nothing was, or will be, uploaded

Separately, while the file is open for writing it may have a working copy (``working``): the staged
file the writes go to, and whether it holds changes the journal does not have yet.

``target`` is where the user's last namespace operation put the file (folder, title). A rename or
unlink never races an upload: both are transitions here, and an upload in flight has its item moved,
renamed or deleted when it lands (rclone's deferred rename), so the server always ends as the last
operation said. Every transition is a synchronous method (no I/O): it changes the state and returns
what the caller must do with the journal and the server, so the rules live in this module only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import Enum
from uuid import UUID

import trio

from encordfs.fs.inodes import Node
from encordfs.fs.staging import PendingUpload, StagedFile
from encordfs.wire.models import StorageItem

RETRY_BASE_SECONDS = 2.0  # the first retry after a transient failure, doubled each time...
RETRY_MAX_SECONDS = 600.0  # ... up to this (with full jitter)


class Phase(Enum):
    """The state's name, for status lines, xattrs and logs."""

    LOCAL = "local"
    JOURNALED = "journaled"
    RETRY_WAIT = "waiting to retry"
    UPLOADING = "uploading"
    FAILED = "failed"
    LANDED = "landed"
    GONE = "gone"


@dataclass(frozen=True)
class Target:
    folder: UUID
    title: str


@dataclass(frozen=True)
class Local:
    pass


@dataclass(frozen=True)
class Journaled:
    record: PendingUpload
    retry_at: float = 0.0  # trio time; 0: at once
    last_error: str | None = None

    @property
    def attempts(self) -> int:
        return self.record.attempts


@dataclass(frozen=True)
class Uploading:
    record: PendingUpload
    newer: PendingUpload | None = None
    unlinked: bool = False


@dataclass(frozen=True)
class Failed:
    record: PendingUpload
    reason: str


@dataclass(frozen=True)
class Landed:
    item: StorageItem


@dataclass(frozen=True)
class Gone:
    pass


State = Local | Journaled | Uploading | Failed | Landed | Gone


@dataclass
class Working:
    """The staged file an open-for-writing file's writes go to. ``dirty``: it holds changes the
    journal does not have (a commit journals it and then it belongs to the journal)."""

    staged: StagedFile
    dirty: bool = True
    lost: str | None = None  # a write failed (a full cache disk): what the copy holds is not what was written


@dataclass(frozen=True)
class Landing:
    """What to do once an upload has landed (and its item was moved to ``follow_for``'s target):
    delete ``delete_item`` (the file was unlinked while uploading: nothing else), or delete
    ``replaced`` (the item this version overwrites) and upload ``next`` (a newer version, which then
    replaces ``item``)."""

    item: StorageItem
    delete_item: bool = False
    replaced: UUID | None = None
    next: PendingUpload | None = None


@dataclass(frozen=True)
class FailureOutcome:
    """What a failed upload leads to: records to drop from the journal, the record to rewrite
    (attempts, error, failure), and whether the file is failed for good now (logged once at
    WARNING) or waits ``retry_in`` seconds for its next try."""

    discard: tuple[PendingUpload, ...] = ()
    journal: PendingUpload | None = None
    failed_for_good: bool = False
    retry_in: float | None = None


@dataclass(eq=False)
class PendingFile:
    """One file with local content (see the module docstring). Methods named for events are the
    transitions; the lock serialises them with the awaits around them (journal and server calls)."""

    node: Node
    target: Target
    state: State = field(default_factory=Local)
    working: Working | None = None
    replaces: UUID | None = None  # the server item this file's next version overwrites
    metadata: str | None = None  # client metadata (JSON) its versions carry over from the item they succeed
    mtime_ns: int | None = None  # of the last write or truncate through the mount
    writers: int = 0  # open file handles that may write
    readers: int = 0  # open read-only handles
    data: StagedFile | None = None  # an open fd of the newest version's bytes, for reads
    lock: trio.Lock = field(default_factory=trio.Lock)
    upload_ended: trio.Event = field(default_factory=trio.Event)  # set (and replaced) whenever an upload ends

    # --- queries -----------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        state = self.state
        if isinstance(state, Journaled):
            return Phase.RETRY_WAIT if state.last_error else Phase.JOURNALED
        return _PHASES[type(state)]

    @property
    def newest(self) -> PendingUpload | None:
        """The newest journaled version (what reads show once the working copy is committed)."""
        state = self.state
        if isinstance(state, Uploading):
            return state.newer or (None if state.unlinked else state.record)
        if isinstance(state, (Journaled, Failed)):
            return state.record
        return None

    @property
    def superseded_by_commit(self) -> PendingUpload | None:
        """The journaled version a new commit makes obsolete (not one being uploaded)."""
        state = self.state
        if isinstance(state, Uploading):
            return state.newer
        if isinstance(state, (Journaled, Failed)):
            return state.record
        return None

    @property
    def listed(self) -> bool:
        """Shown in its folder as a local entry (its item, if any, is not there yet)."""
        state = self.state
        if isinstance(state, Uploading):
            return not state.unlinked
        return isinstance(state, (Local, Journaled, Failed))

    @property
    def upload_error(self) -> str | None:
        state = self.state
        if isinstance(state, Failed):
            return state.reason
        if isinstance(state, Journaled):
            return state.last_error
        return None

    @property
    def unlinked_here(self) -> bool:
        """The user deleted it (fds still open read it): no link is left."""
        state = self.state
        return isinstance(state, Gone) or (isinstance(state, Uploading) and state.unlinked)

    @property
    def upload_coming(self) -> bool:
        """An upload runs, or will start by itself soon (closed, journaled, not failed before)."""
        state = self.state
        if isinstance(state, Uploading):
            return not state.unlinked
        return isinstance(state, Journaled) and not state.last_error and not self.writers

    @property
    def finished(self) -> bool:
        """Nothing local is left to keep: the server has it, or it is gone."""
        return isinstance(self.state, (Landed, Gone)) and self.working is None

    @property
    def opens(self) -> int:
        return self.writers + self.readers

    def ended_upload(self) -> None:
        """Wake whoever waits for the upload in flight (fsync, sync mode, rmdir, xattrs)."""
        self.upload_ended.set()
        self.upload_ended = trio.Event()

    def pending_bytes(self) -> int:
        """Bytes still to upload (the newest version, plus one in flight)."""
        state = self.state
        if isinstance(state, Uploading):
            return (0 if state.unlinked else state.record.size) + (state.newer.size if state.newer else 0)
        if isinstance(state, Journaled):
            return state.record.size
        return 0

    # --- transitions -------------------------------------------------------------------------

    def committed(self, record: PendingUpload) -> None:
        """The working copy was journaled as ``record`` (superseding ``superseded_by_commit``);
        its staged file is the journal's now."""
        state = self.state
        if isinstance(state, Uploading):
            self.state = replace(state, newer=record)
        else:
            self.state = Journaled(record)
        self.working = None

    def begin_upload(self) -> PendingUpload | None:
        """Start uploading the journaled version (the caller checked it may: the file is closed
        and the retry time has come); None when there is nothing to upload."""
        state = self.state
        if not isinstance(state, Journaled):
            return None
        self.state = Uploading(state.record)
        return state.record

    def retargeted(self, record: PendingUpload) -> None:
        """The journal record now names the file's target (a rename before its upload began)."""
        state = self.state
        if isinstance(state, Journaled):
            self.state = replace(state, record=record)
        elif isinstance(state, Failed):
            self.state = Journaled(record)  # a new place may succeed: try again
        elif isinstance(state, Uploading) and state.newer is not None:
            self.state = replace(state, newer=record)

    def upload_failed(self, error: str, *, permanent: bool, limit: int) -> FailureOutcome:
        """The upload of the version in flight failed: retried after a backoff with full jitter
        when the failure is transient and fewer than ``limit`` tries failed, else failed for good."""
        state = self.state
        assert isinstance(state, Uploading), state
        if state.unlinked:
            self.state = Gone()
            return FailureOutcome(discard=(state.record,))
        if state.newer is not None:  # the newer version replaces this one anyway
            self.state = Journaled(state.newer)
            return FailureOutcome(discard=(state.record,))
        attempts = state.record.attempts + 1
        if permanent or attempts >= limit:
            reason = error if permanent else f"gave up after {attempts} attempts: {error}"
            record = replace(state.record, attempts=attempts, last_error=error, failure=reason)
            self.state = Failed(record, reason)
            return FailureOutcome(journal=record, failed_for_good=True)
        record = replace(state.record, attempts=attempts, last_error=error)
        delay = max(RETRY_BASE_SECONDS / 2, random.uniform(0, min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1))))
        self.state = Journaled(record, retry_at=trio.current_time() + delay, last_error=error)
        return FailureOutcome(journal=record, retry_in=delay)

    def slot_journaled(self, record: PendingUpload) -> None:
        """The version in flight was rewritten in the journal (its slot, or its new target)."""
        state = self.state
        if isinstance(state, Uploading) and state.record.id == record.id:
            self.state = replace(state, record=record)

    def deferred(self, until: float) -> None:
        """Hold the journaled version back until ``until`` (a temp name's grace for its rename)."""
        state = self.state
        if isinstance(state, Journaled) and state.retry_at < until:
            self.state = replace(state, retry_at=until)

    def upload_landed(self, item: StorageItem) -> Landing:
        """The version in flight is on the server as ``item``."""
        state = self.state
        assert isinstance(state, Uploading), state
        if state.unlinked:
            self.state = Gone()
            return Landing(item, delete_item=True)
        replaced = self.replaces if self.replaces != item.uuid else None
        self.replaces = item.uuid  # the next version overwrites what this one made
        if state.newer is not None:
            self.state = Journaled(state.newer)
            return Landing(item, replaced=replaced, next=state.newer)
        self.state = Landed(item)
        return Landing(item, replaced=replaced)

    def follow_for(self, item: StorageItem) -> Target | None:
        """Where the item the upload in flight made must go before it lands: the file's target,
        when a rename or move happened meanwhile (None when it is in place, or unlinked)."""
        state = self.state
        if not isinstance(state, Uploading) or state.unlinked:
            return None
        return None if (item.parent, item.name) == (self.target.folder, self.target.title) else self.target

    def followed(self, item: StorageItem) -> None:
        """The landed item was moved or renamed to the file's target."""
        if isinstance(self.state, Landed):
            self.state = Landed(item)

    def renamed(self, target: Target) -> PendingUpload | None:
        """The user renamed or moved the file; the record to point at the new target now (a
        version waiting in the journal), if any. One in flight follows when it lands."""
        self.target = target
        state = self.state
        if isinstance(state, Uploading):
            return state.newer
        if isinstance(state, (Journaled, Failed)):
            return state.record
        return None

    def unlinked(self) -> tuple[PendingUpload, ...]:
        """The user deleted the file: the journaled versions to drop. An upload in flight deletes
        its item when it lands (see ``upload_landed``)."""
        state = self.state
        if isinstance(state, Uploading):
            self.state = Uploading(state.record, unlinked=True)
            return (state.newer,) if state.newer is not None else ()
        self.state = Gone()
        if isinstance(state, (Journaled, Failed)):
            return (state.record,)
        return ()

    def refused(self) -> bool:
        """A commit was refused (a type Encord cannot store): the working copy's changes are
        dropped and the file is what it was before them; True if that is nothing (a new file)."""
        self.working = None
        if isinstance(self.state, Local):
            self.state = Gone()
            return True
        return False

    def retry(self) -> PendingUpload | None:
        """``encordfs sync --retry``: a failed file, or one waiting for its next try, goes back to
        the journal to be uploaded at once; the record to rewrite (failure and attempts cleared)."""
        state = self.state
        if isinstance(state, Failed) or (isinstance(state, Journaled) and state.retry_at):
            record = replace(state.record, attempts=0, failure=None, last_error=None)
            self.state = Journaled(record)
            return record
        return None


_PHASES: dict[type, Phase] = {
    Local: Phase.LOCAL,
    Journaled: Phase.JOURNALED,
    Uploading: Phase.UPLOADING,
    Failed: Phase.FAILED,
    Landed: Phase.LANDED,
    Gone: Phase.GONE,
}
