"""Metadata by key, folder descriptions and storage locations on a real mount, checked with the SDK
and the emulator's request log (one PATCH per change)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from encordfs.emulator import mediagen

pytestmark = pytest.mark.fuse

META = "user.encord.meta."


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


class RequestLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _lines(self) -> list[str]:
        """Complete lines once the log stops growing (the server writes after answering)."""
        size = -1
        while size != self.path.stat().st_size:
            size = self.path.stat().st_size
            time.sleep(0.05)
        return self.path.read_text().split("\n")[:-1]

    def during(self, action: Any) -> list[dict[str, Any]]:
        before = len(self._lines())
        action()
        return [json.loads(line) for line in self._lines()[before:]]


def patches(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["method"] == "PATCH"]


def test_each_metadata_key_is_an_xattr_changed_by_one_patch(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    sdk = make_sdk_client(server)
    folder = sdk.create_storage_folder("meta")
    uuid = folder.upload_text(mediagen.text(tmp_path / "n.txt"), title="n.txt", client_metadata={"keep": True, "cam": {"id": 3}})
    mnt = mount_fs(server, folder.uuid).path
    note = mnt / "n.txt"

    dump = sh("getfattr", "-d", str(note))
    assert f'{META}keep="true"' in dump.stdout and f'{META}cam="{{\\"id\\": 3}}"' in dump.stdout, dump.stdout
    assert 'user.encord.storage_location="ENCORD"' in dump.stdout

    requests = log.during(lambda: sh("setfattr", "-n", META + "split", "-v", '"train"', str(note)))
    assert len(patches(requests)) == 1 and patches(requests)[0]["body"]["clientMetadata"]["split"] == "train", requests
    assert sdk.get_storage_item(uuid).client_metadata == {"keep": True, "cam": {"id": 3}, "split": "train"}
    assert os.getxattr(note, META + "split") == b'"train"'

    os.setxattr(note, META + "count", b"5")
    removed = log.during(lambda: sh("setfattr", "-x", META + "cam", str(note)))
    assert len(patches(removed)) == 1 and sdk.get_storage_item(uuid).client_metadata == {"keep": True, "split": "train", "count": 5}
    assert META + "cam" not in os.listxattr(note) and META + "count" in os.listxattr(note)
    gone = sh("getfattr", "-n", META + "cam", str(note))
    assert gone.returncode != 0 and "No such attribute" in gone.stderr

    bad = sh("setfattr", "-n", META + "x", "-v", "{broken", str(note))
    assert bad.returncode != 0 and "Invalid argument" in bad.stderr
    whole = sh("setfattr", "-n", "user.encord.client_metadata", "-v", '{"only": 1}', str(note))
    assert whole.returncode == 0 and sdk.get_storage_item(uuid).client_metadata == {"only": 1}


def test_descriptions_of_folders_are_writable_items_have_none(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    log = RequestLog(tmp_path / "requests.jsonl")
    server = emulator_factory("--request-log", str(log.path))
    sdk = make_sdk_client(server)
    top = sdk.create_storage_folder("described")
    sub = top.create_subfolder("day")
    top.upload_text(mediagen.text(tmp_path / "n.txt"), title="n.txt")
    mnt = mount_fs(server, top.uuid).path

    requests = log.during(lambda: sh("setfattr", "-n", "user.encord.description", "-v", "cars by day", str(mnt / "day")))
    assert [r["body"] for r in patches(requests)] == [{"description": "cars by day"}]
    assert sdk.get_storage_folder(sub.uuid).description == "cars by day"
    assert sh("getfattr", "--only-values", "-n", "user.encord.description", str(mnt / "day")).stdout == "cars by day"
    os.setxattr(mnt / "day", META + "owner", b'"ana"')
    assert sdk.get_storage_folder(sub.uuid).client_metadata == {"owner": "ana"}
    refused = sh("setfattr", "-n", "user.encord.description", "-v", "x", str(mnt / "n.txt"))
    assert refused.returncode != 0 and "not supported" in refused.stderr


def test_private_data_items_show_where_they_live(emulator, sdk_user, fs_root, mount_fs, tmp_path) -> None:
    (emulator.bucket_dir / "cams").mkdir(exist_ok=True)
    (emulator.bucket_dir / "cams" / "theirs.txt").write_bytes(b"in the customer's bucket\n")
    job = fs_root.add_private_data_to_folder_start(
        emulator.integration_hash, {"text": [{"objectUrl": "s3://bkt/cams/theirs.txt", "title": "theirs.txt"}]}
    )
    assert fs_root.add_private_data_to_folder_get_result(job, timeout_seconds=10).status.value == "DONE"
    fs_root.upload_text(mediagen.text(tmp_path / "mine.txt"), title="mine.txt")
    mnt = mount_fs(emulator, fs_root.uuid).path
    assert os.getxattr(mnt / "theirs.txt", "user.encord.storage_location") == b"S3 s3://bkt/cams/theirs.txt"
    assert os.getxattr(mnt / "mine.txt", "user.encord.storage_location") == b"ENCORD"
    assert (mnt / "theirs.txt").read_bytes() == b"in the customer's bucket\n"


def _import_private(emulator: Any, folder: Any, title: str) -> None:
    (emulator.bucket_dir / "cams").mkdir(exist_ok=True)
    (emulator.bucket_dir / "cams" / title).write_bytes(b"in the customer's bucket\n")
    job = folder.add_private_data_to_folder_start(
        emulator.integration_hash, {"text": [{"objectUrl": f"s3://bkt/cams/{title}", "title": title}]}
    )
    assert folder.add_private_data_to_folder_get_result(job, timeout_seconds=10).status.value == "DONE"


def test_private_data_can_be_renamed_moved_and_deleted(emulator, fs_root, mount_fs) -> None:
    _import_private(emulator, fs_root, "moved.txt")
    _import_private(emulator, fs_root, "gone.txt")
    mnt = mount_fs(emulator, fs_root.uuid, "-o", "allow_private_data_copy").path  # the option is accepted
    (mnt / "sub").mkdir()
    os.rename(mnt / "moved.txt", mnt / "sub" / "renamed.txt")
    os.unlink(mnt / "gone.txt")
    assert os.listdir(mnt) == ["sub"] and os.listdir(mnt / "sub") == ["renamed.txt"]
    (sub,) = fs_root.list_subfolders()
    assert [(i.name, i.storage_location.value) for i in sub.list_items()] == [("renamed.txt", "s3")]
    assert list(fs_root.list_items()) == []
    assert (emulator.bucket_dir / "cams" / "gone.txt").exists()  # deleting the item leaves the bucket alone


def test_writing_to_private_data_is_refused_unless_allowed(emulator, fs_root, mount_fs) -> None:
    _import_private(emulator, fs_root, "theirs.txt")
    mounted = mount_fs(emulator, fs_root.uuid)
    try:
        with open(mounted.path / "theirs.txt", "a") as handle:
            handle.write("more\n")
    except OSError as exc:
        refused: OSError | None = exc
    else:
        refused = None
    assert refused is not None and refused.errno == errno.EROFS, "a write to private data went through"
    assert "is private data" in mounted.log()
    copying = mount_fs(emulator, fs_root.uuid, "--allow-private-data-copy").path
    with open(copying / "theirs.txt", "a") as handle:
        handle.write("more\n")
    deadline = time.monotonic() + 15
    while [i.storage_location.value for i in fs_root.list_items()] != ["encord"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [i.storage_location.value for i in fs_root.list_items()] == ["encord"]
