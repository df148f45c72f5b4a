"""``encordfs info``, ``refresh``, ``--version`` and ``--help`` on real mounts of the emulator."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from encordfs import __version__
from encordfs.emulator import mediagen

from .cli_helpers import cli_fails, cli_json, cli_ok, wait_for_control

pytestmark = pytest.mark.fuse

PATH_COMMANDS = ("info", "refresh", "search", "access", "reencode", "import", "group")


def test_version_and_help_list_every_command() -> None:
    assert cli_ok("--version").strip() == f"encordfs {__version__}"
    listed = cli_ok("--help")
    for name in ("mount", "unmount", "status", "emulator", *PATH_COMMANDS):
        assert f"    {name} " in listed


def test_info_of_an_item_is_what_the_sdk_sees(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    cats = fs_root.create_subfolder("cats")
    photo = mediagen.jpeg(tmp_path / "tabby.jpg", width=40, height=30)
    uuid = cats.upload_image(photo, title="tabby.jpg", client_metadata={"colour": "orange"})
    emulator.link_datasets(uuid, 2)
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    item = cats.list_items().__iter__().__next__()

    answer = cli_json("info", str(mounted.path / "cats" / "tabby.jpg"))
    assert answer["path"] == str(mounted.path / "cats" / "tabby.jpg")
    assert answer["uuid"] == str(uuid) == str(item.uuid)
    assert answer["type"] == "image" and answer["size"] == item.file_size == photo.stat().st_size
    assert answer["mime_type"] == item.mime_type == "image/jpeg"
    assert answer["storage_location"] == item.storage_location.value
    assert answer["client_metadata"] == {"colour": "orange"} == item.client_metadata
    assert answer["media"] == {"width": 40, "height": 30}
    assert answer["dataset_links"]["count"] == 2

    plain = cli_ok("info", str(mounted.path / "cats" / "tabby.jpg")).splitlines()
    for line in (f"uuid: {uuid}", "type: image", f"size: {item.file_size}", "mime type: image/jpeg",
                 'client metadata: {"colour": "orange"}', "dataset links: 2", "width: 40", "height: 30"):
        assert line in plain


def test_info_of_a_folder_has_its_summary(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    fs_root.update(description="all the cats")
    fs_root.upload_image(mediagen.jpeg(tmp_path / "a.jpg"))
    fs_root.upload_text(mediagen.text(tmp_path / "b.txt"))
    fs_root.create_subfolder("sub")
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    answer = cli_json("info", str(mounted.path))
    summary = fs_root.get_summary()
    assert answer["kind"] == "folder" and answer["uuid"] == str(fs_root.uuid)
    assert answer["description"] == "all the cats"
    assert answer["summary"]["images"] == summary.images == 1
    assert answer["summary"]["plain_texts"] == summary.plain_texts == 1
    assert answer["summary"]["folders"] == summary.folders == 1
    assert answer["summary"]["total_size"] == summary.total_size
    plain = cli_ok("info", str(mounted.path)).splitlines()
    assert "  images: 1" in plain and "description: all the cats" in plain


def test_info_errors_say_what_and_why(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    missing = cli_fails("info", str(mounted.path / "nope.jpg"))
    assert missing.startswith("encordfs info: ") and "nope.jpg" in missing and "No such file" in missing
    outside = cli_fails("info", str(tmp_path))
    assert "not inside an encordfs mount" in outside


def test_refresh_shows_changes_made_elsewhere_at_once(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    inner = fs_root.create_subfolder("inner")
    fs_root.upload_text(mediagen.text(tmp_path / "old.txt"), title="old.txt")
    mounted = mount_fs(emulator, fs_root.uuid, "--dir-ttl", "600", "--attr-ttl", "600", "--negative-ttl", "600")
    wait_for_control(mounted.path)
    assert sorted(os.listdir(mounted.path)) == ["inner", "old.txt"]
    assert os.listdir(mounted.path / "inner") == []
    assert not (mounted.path / "new.txt").exists()  # now cached as missing, by us and the kernel

    fs_root.upload_text(mediagen.text(tmp_path / "new.txt", lines=("fresh",)), title="new.txt")
    inner.upload_text(mediagen.text(tmp_path / "deep.txt"), title="deep.txt")
    assert sorted(os.listdir(mounted.path)) == ["inner", "old.txt"]  # the TTLs hold

    answer = cli_json("refresh", str(mounted.path / "new.txt"))  # cached as missing: its folder is refreshed
    assert answer["refreshed"] >= 1
    assert (mounted.path / "new.txt").read_text() == "fresh\n"
    assert os.listdir(mounted.path / "inner") == []  # not recursive: the subfolder's listing stays

    assert "refreshed" in cli_ok("refresh", "--recursive", str(mounted.path))
    assert sorted(os.listdir(mounted.path)) == ["inner", "new.txt", "old.txt"]
    assert os.listdir(mounted.path / "inner") == ["deep.txt"]


def test_refresh_forgets_attributes_of_an_item_renamed_elsewhere(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    uuid = fs_root.upload_text(mediagen.text(tmp_path / "a.txt"), title="a.txt", client_metadata={"v": 1})
    mounted = mount_fs(emulator, fs_root.uuid, "--dir-ttl", "600", "--attr-ttl", "600", "--negative-ttl", "600")
    wait_for_control(mounted.path)
    assert os.listdir(mounted.path) == ["a.txt"]
    assert json.loads(os.getxattr(mounted.path / "a.txt", "user.encord.client_metadata")) == {"v": 1}
    item = next(iter(fs_root.list_items()))
    assert str(item.uuid) == str(uuid)
    item.update(name="b.txt", client_metadata={"v": 2})
    assert os.listdir(mounted.path) == ["a.txt"]
    assert json.loads(os.getxattr(mounted.path / "a.txt", "user.encord.client_metadata")) == {"v": 1}
    cli_ok("refresh", str(mounted.path))
    assert os.listdir(mounted.path) == ["b.txt"]
    assert json.loads(os.getxattr(mounted.path / "b.txt", "user.encord.client_metadata")) == {"v": 2}
