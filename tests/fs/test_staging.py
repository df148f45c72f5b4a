"""Write staging and the upload journal: permissions, atomicity at every crash point, replay, rename, discard."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from encordfs.fs.staging import (
    NotPending,
    PendingUpload,
    StagedFile,
    Staging,
    StagingBusy,
    StagingError,
    StagingFull,
    UploadTarget,
)
from encordfs.wire.enums import StorageItemType

FOLDER = UUID("11111111-2222-4333-8444-555555555555")
OTHER_FOLDER = UUID("66666666-7777-4888-9999-000000000000")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def staging(root: Path) -> Staging:
    with Staging(root) as opened:
        yield opened


def stored(root: Path) -> list[str]:
    """The staged data in the cache dir, leaving out files made ahead for files not created yet."""
    data = [p.name for p in (root / "data").iterdir()]  # listed first: a record file is made before its data
    ahead = {p.name.removesuffix(".new") for p in (root / "pending").glob("*.new")}
    return sorted(name for name in data if name not in ahead)


def stage(staging: Staging, content: bytes, title: str = "photo.jpg") -> tuple[StagedFile, PendingUpload]:
    staged = staging.new_file()
    staged.pwrite(content, 0)
    record = staging.commit(staged, UploadTarget(FOLDER, title, StorageItemType.IMAGE))
    staged.close()
    return staged, record


def test_cache_dir_and_files_are_private(root: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not leak the user's data
    try:
        with Staging(root) as staging:
            _staged, record = stage(staging, b"secret")
            assert mode(root) == 0o700
            assert mode(root / "data") == 0o700
            assert mode(root / "pending") == 0o700
            assert mode(staging.data_path(record)) == 0o600
            assert mode(root / "pending" / f"{record.id}.json") == 0o600
    finally:
        os.umask(old_umask)


def test_a_cache_dir_others_can_read_is_fixed(root: Path) -> None:
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    Staging(root).close()
    assert mode(root) == 0o700


def test_a_cache_dir_owned_by_someone_else_is_refused(root: Path) -> None:
    root.mkdir()
    os.chown(root, 12345, 12345)
    with pytest.raises(StagingError, match="belongs to uid 12345"):
        Staging(root)


def test_a_cache_dir_in_use_by_another_mount_is_refused(staging: Staging, root: Path) -> None:
    with pytest.raises(StagingBusy):
        Staging(root)
    staging.close()
    Staging(root).close()


def test_staged_file_supports_pwrite_pread_truncate(staging: Staging) -> None:
    staged = staging.new_file()
    staged.pwrite(b"hello world", 0)
    staged.pwrite(b"W", 6)
    assert staged.pread(100, 0) == b"hello World"
    staged.truncate(5)
    assert staged.size() == 5
    staged.truncate(8)
    assert staged.pread(100, 0) == b"hello\0\0\0"
    staged.close()
    assert staged.closed


def test_commit_journals_the_target_and_the_size(staging: Staging) -> None:
    _staged, record = stage(staging, b"x" * 1000)
    assert (record.folder_uuid, record.title, record.item_type, record.size) == (
        FOLDER,
        "photo.jpg",
        StorageItemType.IMAGE,
        1000,
    )
    assert record.attempts == 0 and record.last_error is None
    on_disk = json.loads((staging.root / "pending" / f"{record.id}.json").read_text())
    assert on_disk["folder_uuid"] == str(FOLDER) and on_disk["item_type"] == "image"
    assert staging.pending() == [record]
    assert staging.open_data(record).pread(2000, 0) == b"x" * 1000


def _journal_events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the system calls that make a commit durable, naming the files they act on."""
    events: list[str] = []

    def traced(name: str, real, naming):  # type: ignore[no-untyped-def]
        def call(*args):  # type: ignore[no-untyped-def]
            events.append(f"{name}:{naming(*args)}")
            return real(*args)

        return call

    def fd_name(fd: int, *rest: object) -> str:
        return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fsync", traced("fsync", os.fsync, fd_name))
    monkeypatch.setattr(os, "fdatasync", traced("fdatasync", os.fdatasync, fd_name))
    monkeypatch.setattr(os, "pwrite", traced("pwrite", os.pwrite, fd_name))
    monkeypatch.setattr(os, "rename", traced("rename", os.rename, lambda src, dst: f"{Path(src).name}->{Path(dst).name}"))
    monkeypatch.setattr(os, "replace", traced("replace", os.replace, lambda src, dst: f"{Path(src).name}->{Path(dst).name}"))
    return events


def _made_ahead(staging: Staging) -> StagedFile:
    staged = staging.new_file()
    deadline = time.monotonic() + 5
    while not staged.entries_durable:  # the first files of a fresh cache dir may not be ready yet
        staging.discard(staged)
        assert time.monotonic() < deadline, "no staged file was made ahead"
        time.sleep(0.01)
        staged = staging.new_file()
    return staged


def test_commit_costs_one_sync_of_the_data_and_one_of_the_record(staging: Staging, monkeypatch: pytest.MonkeyPatch) -> None:
    staged = _made_ahead(staging)
    staged.pwrite(b"data", 0)
    events = _journal_events(monkeypatch)
    record = staging.commit(staged, UploadTarget(FOLDER, "a.jpg", StorageItemType.IMAGE))
    i = staged.id
    # the record (with the data's checksum) goes into the record file made with the staged file;
    # no file is created and no directory synced: those entries were made durable ahead
    assert events == [f"pwrite:{i}.new", f"fdatasync:{i}", f"fdatasync:{i}.new", f"rename:{i}.new->{i}.json"]
    assert record.crc32 == zlib.crc32(b"data")
    assert staging.pending() == [record]


def test_a_big_file_is_synced_before_its_record_is_written(staging: Staging, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("encordfs.fs.staging.CHECKSUMMED_SIZE", 3)
    staged = _made_ahead(staging)
    staged.pwrite(b"big file", 0)
    events = _journal_events(monkeypatch)
    record = staging.commit(staged, UploadTarget(FOLDER, "a.jpg", StorageItemType.IMAGE))
    i = staged.id
    assert events == [f"fdatasync:{i}", f"pwrite:{i}.new", f"fdatasync:{i}.new", f"rename:{i}.new->{i}.json"]
    assert record.crc32 is None


def test_a_file_made_at_create_has_its_directory_entries_synced_at_commit(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Staging(root, spare_files=0) as staging:
        staged = staging.new_file()
        staged.pwrite(b"data", 0)
        events = _journal_events(monkeypatch)
        staging.commit(staged, UploadTarget(FOLDER, "a.jpg", StorageItemType.IMAGE))
        i = staged.id
        assert events == [f"pwrite:{i}.new", f"fdatasync:{i}", f"fdatasync:{i}.new", "fsync:data", "fsync:pending",
                          f"rename:{i}.new->{i}.json"]


def test_the_journal_alone_replays_a_committed_file(root: Path) -> None:
    """What close() promised survives without anything else of the process: a fresh Staging over
    the same directory finds the record and its bytes (the commit's rename may not have happened)."""
    with Staging(root) as staging:
        _staged, record = stage(staging, b"promised")
        (root / "pending" / f"{record.id}.json").rename(root / "pending" / f"{record.id}.new")  # crash before the rename
    with Staging(root) as reopened:
        assert reopened.pending() == [record]
        assert reopened.open_data(record).pread(100, 0) == b"promised"


def test_data_that_does_not_match_its_record_checksum_is_set_aside(root: Path) -> None:
    with Staging(root) as staging:
        _, good = stage(staging, b"good")
        _, torn = stage(staging, b"torn")
        staging.data_path(torn).write_bytes(b"\0\0\0\0")  # same size, not the bytes journaled
    with Staging(root) as reopened:
        assert reopened.pending() == [good]
        assert sorted(p.name for p in (root / "broken").iterdir()) == sorted([f"{torn.id}.json", torn.id])


def test_commit_refuses_a_closed_staged_file(staging: Staging) -> None:
    staged = staging.new_file()
    staged.close()
    with pytest.raises(ValueError, match="closed"):
        staging.commit(staged, UploadTarget(FOLDER, "a.jpg", StorageItemType.IMAGE))


def test_recommitting_a_rewritten_file_replaces_its_record(staging: Staging) -> None:
    staged = staging.new_file()
    staged.pwrite(b"first", 0)
    staging.commit(staged, UploadTarget(FOLDER, "a.txt", StorageItemType.PLAIN_TEXT))
    staged.pwrite(b"second version", 0)
    record = staging.commit(staged, UploadTarget(FOLDER, "a.txt", StorageItemType.PLAIN_TEXT))
    assert staging.pending() == [record] and record.size == len(b"second version")


def test_done_forgets_the_record_at_once_and_the_data_once_that_is_durable(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = Staging(root, spare_files=0)  # no thread making files ahead (and syncing) meanwhile
    records = [stage(staging, bytes([i]) * 10)[1] for i in range(5)]
    syncs: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (syncs.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd))[1])
    for record in records:
        staging.done(record)
        assert record not in staging.pending()
    assert staging.pending() == [] and syncs == []  # no sync on the caller's path
    deadline = time.monotonic() + 5
    while any(staging.data_path(r).exists() for r in records):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert syncs == [str(staging.root / "pending")]  # one shared sync, before the data went
    staging.close()


def test_failed_keeps_it_pending_with_the_error_and_counts_attempts(staging: Staging) -> None:
    _, record = stage(staging, b"abc")
    once = staging.failed(record, "PUT https://bucket.example/obj?X-Signature=abc123 answered 503")
    twice = staging.failed(once, "timeout")
    assert "X-Signature" not in once.last_error and "https://bucket.example/obj?<redacted>" in once.last_error
    assert (twice.attempts, twice.last_error) == (2, "timeout")
    assert staging.pending() == [twice]


def test_rename_target_rewrites_the_record(staging: Staging) -> None:
    _, record = stage(staging, b"abc", title=".photo.jpg.Xy12Zq")
    renamed = staging.rename_target(record, folder_uuid=OTHER_FOLDER, title="photo.jpg")
    assert (renamed.folder_uuid, renamed.title, renamed.item_type) == (OTHER_FOLDER, "photo.jpg", StorageItemType.IMAGE)
    retyped = staging.rename_target(renamed, item_type=StorageItemType.VIDEO)
    assert staging.pending() == [retyped]
    assert retyped.target == UploadTarget(OTHER_FOLDER, "photo.jpg", StorageItemType.VIDEO)


def test_updating_a_record_no_longer_pending_is_refused(staging: Staging) -> None:
    _, record = stage(staging, b"abc")
    staging.done(record)
    with pytest.raises(NotPending):
        staging.failed(record, "late failure")
    with pytest.raises(NotPending):
        staging.rename_target(record, title="b.jpg")
    assert staging.pending() == []


def test_discard_a_pending_upload_or_an_uncommitted_file(staging: Staging) -> None:
    _, record = stage(staging, b"abc")
    staging.discard(record)
    uncommitted = staging.new_file()
    uncommitted.pwrite(b"half", 0)
    staging.discard(uncommitted)
    assert uncommitted.closed
    assert staging.pending() == []
    assert stored(staging.root) == []


def test_pending_survives_reopening_oldest_first(root: Path) -> None:
    with Staging(root) as staging:
        records = [stage(staging, bytes([i]) * (i + 1), title=f"{i}.jpg")[1] for i in range(3)]
        staging.failed(records[1], "boom")
    with Staging(root) as reopened:
        replay = reopened.pending()
        assert [r.title for r in replay] == ["0.jpg", "1.jpg", "2.jpg"]
        assert replay[1].attempts == 1 and replay[1].last_error == "boom"
        assert [reopened.open_data(r).pread(10, 0) for r in replay] == [b"\0", b"\1\1", b"\2\2\2"]


# --- crash points --------------------------------------------------------------------------------


def test_crash_before_commit_promises_nothing_and_leaves_nothing(root: Path) -> None:
    with Staging(root) as staging:
        staged = staging.new_file()
        staged.pwrite(b"never closed", 0)
    with Staging(root) as reopened:
        assert reopened.pending() == []
        assert stored(root) == []


def test_crash_while_writing_the_record_drops_the_temp_and_keeps_complete_records(root: Path) -> None:
    with Staging(root) as staging:
        _, complete = stage(staging, b"kept")
        staged = staging.new_file()
        staged.pwrite(b"interrupted", 0)
        (root / "pending" / f"{staged.id}.json.tmp").write_bytes(b'{"version": 1, "id": "')  # torn write
        # an interrupted rewrite of a complete record: the old complete record stays authoritative
        (root / "pending" / f"{complete.id}.json.tmp").write_bytes(b"{")
    with Staging(root) as reopened:
        assert reopened.pending() == [complete]
        assert sorted(p.name for p in (root / "pending").glob("*.json*")) == [f"{complete.id}.json"]
        assert stored(root) == [complete.id]


def test_crash_between_record_delete_and_data_delete_in_done(root: Path) -> None:
    with Staging(root) as staging:
        _, record = stage(staging, b"uploaded")
        (root / "pending" / f"{record.id}.json").unlink()
    with Staging(root) as reopened:
        assert reopened.pending() == []
        assert not reopened.data_path(record).exists()


CRASHING_WRITER = """
import os, sys, uuid
from pathlib import Path
from encordfs.fs.staging import Staging, UploadTarget
from encordfs.wire.enums import StorageItemType
staging = Staging(Path(sys.argv[1]))
promised = staging.new_file()
promised.pwrite(b"promised bytes", 0)
staging.commit(promised, UploadTarget(uuid.UUID(sys.argv[2]), "kept.png", StorageItemType.IMAGE))
unfinished = staging.new_file()
unfinished.pwrite(b"close() never returned", 0)
os._exit(9)  # killed: no close(), no cleanup, the lock released only by the kernel
"""


def test_a_killed_process_leaves_its_promises_for_the_next_mount(root: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    crashed = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(root), str(FOLDER)], cwd=repo, timeout=30)
    assert crashed.returncode == 9
    with Staging(root) as reopened:
        [record] = reopened.pending()
        assert (record.title, record.folder_uuid, record.size) == ("kept.png", FOLDER, len(b"promised bytes"))
        assert reopened.open_data(record).pread(100, 0) == b"promised bytes"
        assert stored(root) == [record.id]


def test_inconsistent_records_are_set_aside_not_replayed_nor_deleted(root: Path) -> None:
    with Staging(root) as staging:
        _, good = stage(staging, b"good")
        _, truncated = stage(staging, b"was longer")
        _, missing = stage(staging, b"gone")
        staging.data_path(truncated).write_bytes(b"short")
        staging.data_path(missing).unlink()
        (root / "pending" / "garbage.json").write_bytes(b"not json")
    with Staging(root) as reopened:
        assert reopened.pending() == [good]
        broken = sorted(p.name for p in (root / "broken").iterdir())
        assert broken == sorted([f"{truncated.id}.json", truncated.id, f"{missing.id}.json", "garbage.json"])
        assert mode(root / "broken") == 0o700


def test_concurrent_commits_and_dones_from_threads(staging: Staging) -> None:
    def worker(i: int) -> None:
        _, record = stage(staging, bytes([i]) * 10, title=f"{i}.jpg")
        if i % 2:
            staging.done(record)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.title for r in staging.pending()) == sorted(f"{i}.jpg" for i in range(0, 16, 2))


# --- a full disk ---------------------------------------------------------------------------------


def _enospc(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_on_write_raises_a_clear_enospc(staging: Staging, monkeypatch: pytest.MonkeyPatch) -> None:
    staged = staging.new_file()
    monkeypatch.setattr(os, "pwrite", _enospc)
    with pytest.raises(StagingFull) as info:
        staged.pwrite(b"x", 0)
    assert info.value.errno == errno.ENOSPC
    assert str(staging.root) in str(info.value)


def test_a_full_disk_on_create_raises_a_clear_enospc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Staging(tmp_path / "no-spares", spare_files=0) as staging:  # a spare made ahead would need no open()
        monkeypatch.setattr(os, "open", _enospc)
        with pytest.raises(StagingFull, match="creating a staged file"):
            staging.new_file()


def test_a_full_disk_while_journaling_leaves_no_record(staging: Staging, monkeypatch: pytest.MonkeyPatch) -> None:
    staged = staging.new_file()
    staged.pwrite(b"x", 0)
    monkeypatch.setattr(os, "pwrite", _enospc)
    with pytest.raises(StagingFull, match=r"journaling 'a.jpg'"):
        staging.commit(staged, UploadTarget(FOLDER, "a.jpg", StorageItemType.IMAGE))
    monkeypatch.undo()
    assert staging.pending() == []
    assert list((staging.root / "pending").glob("*.json*")) == []
    staging.discard(staged)  # the writer's close() failed: it drops the file
    assert stored(staging.root) == []


def test_record_round_trips_through_json() -> None:
    record = PendingUpload(
        id=uuid4().hex,
        folder_uuid=FOLDER,
        title="scan.nii.gz",
        item_type=StorageItemType.NIFTI,
        size=7,
        created=1.5,
        attempts=3,
        last_error="x",
        sha256="ab" * 32,
    )
    assert PendingUpload.from_json(json.loads(json.dumps(record.to_json()))) == record
    with pytest.raises(ValueError, match="version"):
        PendingUpload.from_json({**record.to_json(), "version": 99})



def test_a_later_version_supersedes_the_earlier_record_of_the_same_file(root: Path) -> None:
    item = uuid4()
    with Staging(root) as staging:
        first, record = stage(staging, b"v1")
        staged = staging.new_file()
        staged.pwrite(b"version 2", 0)
        later = staging.commit(staged, UploadTarget(FOLDER, "photo.jpg", StorageItemType.IMAGE), replaces=item, supersedes=record)
        staged.close()
        assert [r.id for r in staging.pending()] == [later.id]
        assert later.replaced_item == item and later.supersedes == record.id
    assert not (root / "data" / first.id).exists()  # once the record's removal is durable
    with Staging(root) as reopened:
        assert reopened.pending() == [later]


def test_a_crash_between_journaling_and_forgetting_the_earlier_version_keeps_only_the_later(root: Path) -> None:
    with Staging(root) as staging:
        _, record = stage(staging, b"v1")
        _, later = stage(staging, b"version 2")
    path = root / "pending" / f"{later.id}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "supersedes": record.id}))
    with Staging(root) as reopened:
        assert [r.id for r in reopened.pending()] == [later.id]
        assert not (root / "data" / record.id).exists()


def test_records_written_before_replaces_existed_still_load(root: Path) -> None:
    with Staging(root) as staging:
        _, record = stage(staging, b"old")
    path = root / "pending" / f"{record.id}.json"
    fields = json.loads(path.read_text())
    del fields["replaces"], fields["supersedes"]
    path.write_text(json.dumps(fields))
    with Staging(root) as reopened:
        assert reopened.pending() == [record]


def test_read_pending_lists_the_journal_without_taking_the_cache_dir(root: Path) -> None:
    from encordfs.fs.staging import read_pending

    with Staging(root) as staging:  # held, as by a running mount
        _, first = stage(staging, b"one", "a.jpg")
        _, second = stage(staging, b"two", "b.jpg")
        (root / "pending" / "half.json.tmp").write_text("{")
        assert read_pending(root) == [first, second]


def test_a_forgotten_record_file_is_reused_for_a_later_staged_file(root: Path) -> None:
    with Staging(root, spare_files=4) as staging:
        records = [stage(staging, bytes([i]) * 10, title=f"{i}.jpg")[1] for i in range(4)]
        inodes = {(root / "pending" / f"{r.id}.json").stat().st_ino for r in records}
        for record in records:
            staging.done(record)
        deadline = time.monotonic() + 5
        reused: set[int] = set()
        while not reused and time.monotonic() < deadline:  # once the forgetting is durable
            staged = staging.new_file()
            reused |= {os.fstat(staged.record_fd).st_ino} & inodes
            staging.discard(staged)
            time.sleep(0.01)
        assert reused, "no record file was reused"
        assert staging.pending() == []


def test_a_record_file_renamed_for_reuse_is_not_replayed(root: Path) -> None:
    """A crash after done() renamed the record file to a later staged file's name, before it was
    emptied: the record names another id, so it is dropped with no data kept."""
    with Staging(root) as staging:
        _, record = stage(staging, b"uploaded")
        _, kept = stage(staging, b"still pending")
    later = uuid4().hex
    os.rename(root / "pending" / f"{record.id}.json", root / "pending" / f"{later}.new")
    (root / "data" / later).write_bytes(b"")
    with Staging(root) as reopened:
        assert reopened.pending() == [kept]
        assert later not in stored(root) and record.id not in stored(root)
        assert not (root / "broken").exists()
