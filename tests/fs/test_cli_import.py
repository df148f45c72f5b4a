"""``encordfs import``: private data from the emulator's integration bucket, checked through the SDK."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from encordfs.control import client
from encordfs.emulator import mediagen

from .cli_helpers import cli, cli_fails, cli_json, cli_ok, wait_for_control

pytestmark = pytest.mark.fuse


def manifest(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(spec))
    return path


def test_one_good_and_one_missing_object(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    inbox = fs_root.create_subfolder("inbox")
    key = f"imports/{uuid.uuid4().hex[:8]}/good.jpg"
    (emulator.bucket_dir / key).parent.mkdir(parents=True)
    mediagen.jpeg(emulator.bucket_dir / key)
    spec = {"images": [{"objectUrl": f"s3://bucket/{key}", "title": "good.jpg", "clientMetadata": {"from": "s3"}},
                       {"objectUrl": "s3://bucket/imports/missing.jpg"}]}
    mounted = mount_fs(emulator, fs_root.uuid, "--dir-ttl", "600")
    wait_for_control(mounted.path)
    assert os.listdir(mounted.path / "inbox") == []  # listed (and cached) before the import

    result = cli("import", str(mounted.path / "inbox"), "--integration", "bucket", "--manifest",
                 str(manifest(tmp_path, spec)), "--wait")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": DONE")
    assert lines[1:] == ["added 1:", f"  {mounted.path / 'inbox' / 'good.jpg'}", "failed 1:",
                         "  s3://bucket/imports/missing.jpg: s3://bucket/imports/missing.jpg: no such object in the integration's bucket"]
    assert "1 object(s) failed to import" in result.stderr

    items = list(inbox.list_items())
    assert [(i.name, i.storage_location.value, i.client_metadata) for i in items] == [("good.jpg", "s3Compatible", {"from": "s3"})]
    assert os.listdir(mounted.path / "inbox") == ["good.jpg"]  # the mount shows it at once
    assert (mounted.path / "inbox" / "good.jpg").read_bytes() == (emulator.bucket_dir / key).read_bytes()


def test_groups_and_series_in_encords_json_format(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    prefix = f"series-{uuid.uuid4().hex[:8]}"
    (emulator.bucket_dir / prefix).mkdir()
    frames = [mediagen.png(emulator.bucket_dir / prefix / f"f{i}.png", seed=i) for i in range(3)]
    slices = mediagen.dicom_series(emulator.bucket_dir / prefix, count=2)
    spec = {
        "image_groups": [{"title": "strip", "createVideo": False,
                          **{f"objectUrl_{i}": f"{prefix}/{p.name}" for i, p in enumerate(frames)}}],
        "dicom_series": [{"title": "scan", **{f"objectUrl_{i}": f"{prefix}/{p.name}" for i, p in enumerate(slices)}}],
        "skip_duplicate_urls": True,
    }
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    started = cli_json("import", str(mounted.path), "--integration", emulator.integration_hash,
                       "--manifest", str(manifest(tmp_path, spec)))  # --no-wait: the job ID
    answer = cli_json("import", str(mounted.path), "--status", started["job"], "--wait")
    assert answer["status"] == "DONE" and answer["failures"] == []
    assert sorted(a["name"] for a in answer["added"]) == ["scan", "strip"]
    types = {i.name: i.item_type.value for i in fs_root.list_items()}
    assert types == {"strip": "imageGroup", "scan": "dicomSeries"}
    assert sorted(os.listdir(mounted.path / "strip")) == ["f0.png", "f1.png", "f2.png"]
    assert (mounted.path / "scan" / slices[1].name).read_bytes() == slices[1].read_bytes()


def test_import_errors(emulator: Any, fs_root: Any, mount_fs: Any, tmp_path: Path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    wait_for_control(mounted.path)
    good = manifest(tmp_path, {"images": [{"objectUrl": "x.jpg"}]})
    assert "no cloud integration 'nope'" in cli_fails("import", str(mounted.path), "--integration", "nope", "--manifest", str(good))
    assert "cannot read the manifest" in cli_fails("import", str(mounted.path), "--integration", "bucket", "--manifest", str(tmp_path / "no.json"))
    (tmp_path / "bad.json").write_text("{")
    assert "is not JSON" in cli_fails("import", str(mounted.path), "--integration", "bucket", "--manifest", str(tmp_path / "bad.json"))
    assert "--integration and --manifest are required" in cli_fails("import", str(mounted.path))
    assert cli_ok("import", "--help").startswith("usage: encordfs import")


def test_a_slow_import_streams_its_progress(emulator_factory: Any, make_sdk_client: Any, mount_fs: Any, tmp_path: Path) -> None:
    """With per-unit processing time (``--job-unit-seconds``) the import reports units done as
    they go, then what it added."""
    bucket, integration = tmp_path / "slow-bucket", str(uuid.uuid4())
    bucket.mkdir()
    server = emulator_factory("--integration", f"{integration}={bucket}", "--job-unit-seconds", "0.5")
    folder = make_sdk_client(server).create_storage_folder("slow")
    for i in range(5):
        (bucket / f"n{i}.txt").write_text(f"note {i}\n")
    spec = {"text": [{"objectUrl": f"n{i}.txt"} for i in range(5)]}
    mounted = mount_fs(server, folder.uuid)
    target = wait_for_control(mounted.path)
    seen: list[dict[str, Any]] = []
    answer = client.call(target.socket, "import", {"path": "", "integration": "slow-bucket", "manifest": spec,
                                                   "ignore_errors": True, "wait": True}, seen.append)
    done = [p["done"] for p in seen if "done" in p]
    assert len(done) >= 2 and done == sorted(done) and done[-1] < 5, seen
    assert answer["status"] == "DONE" and answer["done"] == 5 and len(answer["added"]) == 5
    assert sorted(i.name for i in folder.list_items()) == [f"n{i}.txt" for i in range(5)]
