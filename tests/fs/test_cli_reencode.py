"""``encordfs reencode``: a re-encoding started from the mount, checked through the official SDK."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from encord.orm.storage import JobStatus

from encordfs.emulator import mediagen

from .cli_helpers import cli, cli_fails, cli_json, cli_ok, wait_for_control

pytestmark = pytest.mark.fuse


def test_a_reencode_reaches_done(emulator: Any, fs_root: Any, mount_fs: Any, sdk_user: Any, tmp_path: Path) -> None:
    video = fs_root.upload_video(mediagen.mp4(tmp_path / "clip.mp4", seconds=0.3))
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    answer = cli_json("reencode", str(mounted.path / "clip.mp4"), "--wait", "--title", "nightly")
    assert answer["status"] == "done" and answer["result"] == [{"itemUuid": str(video), "status": "done"}]
    on_server = fs_root.get_re_encoding_status(uuid.UUID(answer["process"]))
    assert on_server.status == JobStatus.DONE

    started = cli_ok("reencode", str(mounted.path / "clip.mp4"))  # --no-wait is the default
    process = started.split()[1].rstrip(":")  # "process ID: STATUS" (done at once: no --reencode-delay here)
    status = cli_ok("reencode", "--status", process, "--wait", str(mounted.path)).splitlines()
    assert status[0] == f"process {process}: done" and status[1] == f"  {video}: done"


def test_a_video_whose_content_is_gone_fails(emulator: Any, fs_root: Any, mount_fs: Any, signed_api: Any, tmp_path: Path) -> None:
    name = f"gone-{uuid.uuid4().hex[:8]}.mp4"
    mediagen.mp4(emulator.bucket_dir / name, seconds=0.3)
    entry = {"objectUrl": name, "title": "gone.mp4", "clientMetadata": {}, "externalFileType": "VIDEO"}
    job = signed_api.ok("POST", f"storage/folders/{fs_root.uuid}/data-upload-jobs",
                        json={"dataItems": {"videos": [entry]}, "integrationHash": emulator.integration_hash, "ignoreErrors": False})
    state = signed_api.ok("GET", f"storage/folders/{fs_root.uuid}/data-upload-jobs/{job}", params={"timeoutSeconds": 30})
    assert state["status"] == "DONE", state
    (emulator.bucket_dir / name).unlink()  # the object left the bucket after the import
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    result = cli("reencode", str(mounted.path / "gone.mp4"), "--wait")
    assert result.returncode == 1
    assert "failed for 1 video(s)" in result.stderr and "content cannot be read" in result.stdout
    process = result.stdout.split()[1].rstrip(":")
    assert fs_root.get_re_encoding_status(uuid.UUID(process)).status == JobStatus.ERROR


def test_reencode_refuses_what_is_not_a_video(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    fs_root.upload_image(mediagen.jpeg(tmp_path / "a.jpg"))
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    assert "a.jpg: not a video (it is image)" in cli_fails("reencode", str(mounted.path / "a.jpg"))
    assert "not a re-encoding process ID" in cli_fails("reencode", "--status", "nope", str(mounted.path))
