"""``encordfs group create``: multi-file items from files, read back through the mount."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from encordfs.control import client
from encordfs.control.protocol import ControlError
from encordfs.emulator import mediagen

from .cli_helpers import cli_fails, cli_json, cli_ok, wait_for_control

pytestmark = pytest.mark.fuse


def test_a_dicom_series_reads_back_byte_for_byte(emulator: Any, fs_root: Any, mount_fs: Any, sdk_user: Any, tmp_path: Path) -> None:
    slices = mediagen.dicom_series(tmp_path / "ct", count=4)
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    os.listdir(mounted.path)  # cached: the new item must show at once anyway
    out = cli_ok("group", "create", str(mounted.path / "scan"), "--dicom-series", *map(str, slices))
    assert out.startswith(f"created dicomSeries {mounted.path / 'scan'} (4 files, uuid ")

    [item] = list(fs_root.list_items())
    assert (item.name, item.item_type.value, item.frame_count) == ("scan", "dicomSeries", 4)
    assert os.listdir(mounted.path) == ["scan"] and (mounted.path / "scan").is_dir()
    assert sorted(os.listdir(mounted.path / "scan")) == sorted(p.name for p in slices)
    for original in slices:
        assert (mounted.path / "scan" / original.name).read_bytes() == original.read_bytes()
    with pytest.raises(OSError):
        (mounted.path / "scan" / "extra.dcm").write_bytes(b"x")  # read-only
    assert cli_json("info", str(mounted.path / "scan"))["frames"][0]["name"] == slices[0].name
    frame = cli_json("info", str(mounted.path / "scan" / slices[0].name))
    assert frame["type"] == "dicomFile" and frame["size"] == slices[0].stat().st_size
    assert frame["media"]["dicom_series_uid"] == cli_json("info", str(mounted.path / "scan"))["media"]["dicom_series_uid"]


def test_image_groups_and_sequences_from_files_in_the_mount(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    frames = [mediagen.png(tmp_path / f"p{i}.png", seed=i) for i in range(3)]
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    (mounted.path / "src").mkdir()
    for frame in frames:
        shutil.copyfile(frame, mounted.path / "src" / frame.name)
    in_mount = [str(mounted.path / "src" / f.name) for f in frames]
    answer = cli_json("group", "create", str(mounted.path / "src" / "strip"), "--image-sequence", *in_mount)
    assert answer["type"] == "imageSequence" and answer["frames"] == 3
    group = cli_json("group", "create", str(mounted.path / "mixed"), "--image-group", str(frames[0]), in_mount[1])
    assert group["type"] == "imageGroup"
    types = {i.name: i.item_type.value for i in fs_root.list_items()}
    assert types == {"mixed": "imageGroup"}
    assert sorted(os.listdir(mounted.path / "src" / "strip")) == ["p0.png", "p1.png", "p2.png"]
    assert (mounted.path / "src" / "strip" / "p2.png").read_bytes() == frames[2].read_bytes()
    assert (mounted.path / "mixed" / "p1.png").read_bytes() == frames[1].read_bytes()


def test_group_create_errors(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    frame = mediagen.png(tmp_path / "p.png")
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    (mounted.path / "taken").mkdir()
    assert "taken: already exists" in cli_fails("group", "create", str(mounted.path / "taken"), "--image-group", str(frame))
    assert "no such file" in cli_fails("group", "create", str(mounted.path / "g"), "--image-group", str(tmp_path / "nope.png"))
    assert "No such file" in cli_fails("group", "create", str(mounted.path / "no" / "g"), "--image-group", str(frame))
    failed = cli_fails("group", "create", str(mounted.path / "bad"), "--dicom-series", str(frame))
    assert failed.startswith("encordfs group create: ") and "upload job" in failed
    assert not (mounted.path / "bad").exists()


def test_the_mount_never_reads_through_itself(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    """A request naming a file inside the mount itself is refused (reading it would deadlock)."""
    mounted = mount_fs(emulator, fs_root.uuid)
    target = wait_for_control(mounted.path)
    shutil.copyfile(mediagen.png(tmp_path / "p.png"), mounted.path / "p.png")
    with pytest.raises(ControlError, match="inside this mount"):
        client.call(target.socket, "group-create", {"path": "g", "kind": "image-group", "files": [str(mounted.path / "p.png")]})
