"""Real mounts against the emulator: what users do with a drive (ls, cat, cp, mv, rm, rsync, ...)."""

from __future__ import annotations

import errno
import filecmp
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import trio

from encordfs.emulator import mediagen
from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient

from .conftest import encordfs

pytestmark = pytest.mark.fuse


def sdk_bytes(sdk_user: Any, item_uuid: str) -> bytes:
    """The item's content as the official SDK downloads it (its signed URL)."""
    item = sdk_user.get_storage_item(item_uuid, sign_url=True)
    with urllib.request.urlopen(item.get_signed_url(), timeout=10) as response:
        return response.read()


def xattr(path: Path, name: str) -> str:
    return os.getxattr(path, f"user.encord.{name}").decode()


def item_names(folder: Any, expected: list[str], timeout: float = 15.0) -> list[str]:
    """The folder's item titles on the server once they are ``expected`` (close() returns once a
    file is journaled; its upload lands a moment later)."""
    deadline = time.monotonic() + timeout
    while (names := [i.name for i in folder.list_items()]) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return names


def sh(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "media"
    src.mkdir()
    return {
        "photo.jpg": mediagen.jpeg(src / "photo.jpg"),
        "clip.mp4": mediagen.mp4(src / "clip.mp4", seconds=0.5),
        "tone.wav": mediagen.wav(src / "tone.wav", seconds=0.25),
        "notes.txt": mediagen.text(src / "notes.txt", ["one", "two"]),
        "doc.pdf": mediagen.pdf(src / "doc.pdf"),
        "scan.nii": mediagen.nifti(src / "scan.nii"),
    }


def test_browse_and_read_every_item_type(emulator, sdk_user, fs_root, mount_fs, media, tmp_path) -> None:
    uploads = {
        "photo.jpg": fs_root.upload_image, "clip.mp4": fs_root.upload_video, "tone.wav": fs_root.upload_audio,
        "notes.txt": fs_root.upload_text, "doc.pdf": fs_root.upload_pdf, "scan.nii": fs_root.upload_nifti,
    }
    uuids = {name: str(upload(media[name], title=name)) for name, upload in uploads.items()}
    frames = [mediagen.png(tmp_path / f"f{i}.png", seed=i) for i in range(2)]
    group = str(fs_root.create_image_group(frames, title="views"))
    series = mediagen.dicom_series(tmp_path / "dicom", count=2)
    dicom = str(fs_root.create_dicom_series(series, title="ct"))
    sub = fs_root.create_subfolder("nested")
    sub.upload_text(media["notes.txt"], title="deep.txt")

    mnt = mount_fs(emulator, fs_root.uuid).path
    listing = sh("ls", "-l", str(mnt))
    assert listing.returncode == 0, listing.stderr
    assert sorted(os.listdir(mnt)) == sorted([*uuids, "views", "ct", "nested"])
    for name, uuid in uuids.items():
        path = mnt / name
        assert path.read_bytes() == media[name].read_bytes() == sdk_bytes(sdk_user, uuid), name
        assert path.stat().st_size == media[name].stat().st_size
        assert xattr(path, "uuid") == uuid
    assert xattr(mnt / "photo.jpg", "width") == "64" and xattr(mnt / "photo.jpg", "item_type") == "image"
    assert int(xattr(mnt / "clip.mp4", "frame_count") or 0) >= 1 or float(xattr(mnt / "clip.mp4", "duration")) > 0
    assert (mnt / "views").is_dir() and len(os.listdir(mnt / "views")) == 2
    frame_bytes = sorted(p.read_bytes() for p in (mnt / "views").iterdir())
    assert frame_bytes == sorted(p.read_bytes() for p in frames)
    assert sorted(p.read_bytes() for p in (mnt / "ct").iterdir()) == sorted(p.read_bytes() for p in series)
    assert xattr(mnt / "views", "uuid") == group and xattr(mnt / "ct", "uuid") == dicom
    with pytest.raises(OSError) as refused:
        (mnt / "views" / "new.png").write_bytes(frames[0].read_bytes())
    assert refused.value.errno == errno.EROFS
    assert (mnt / "nested" / "deep.txt").read_text() == "one\ntwo\n"

    walked = {str(Path(d).relative_to(mnt) / f) for d, _, files in os.walk(mnt) for f in files}
    assert {"photo.jpg", "nested/deep.txt", "views/" + os.listdir(mnt / "views")[0]} <= walked
    found = sh("find", str(mnt), "-name", "*.txt")
    assert sorted(Path(p).name for p in found.stdout.split()) == ["deep.txt", "notes.txt"]
    du = sh("du", "-sb", str(mnt))
    assert du.returncode == 0 and int(du.stdout.split()[0]) >= sum(p.stat().st_size for p in media.values())
    df = sh("df", str(mnt))
    assert df.returncode == 0 and "encordfs" in df.stdout
    stat_out = sh("stat", "-c", "%s %U", str(mnt / "notes.txt"))
    assert stat_out.stdout.split()[0] == str(media["notes.txt"].stat().st_size)


def test_copy_in_and_out_rsync_and_copytree(emulator, sdk_user, fs_root, mount_fs, media, tmp_path) -> None:
    mnt = mount_fs(emulator, fs_root.uuid).path
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    shutil.copy(media["photo.jpg"], tree / "a" / "photo.jpg")
    shutil.copy(media["notes.txt"], tree / "a" / "b" / "notes.txt")
    shutil.copy(media["doc.pdf"], tree / "doc.pdf")

    copied = sh("cp", "-r", str(tree), str(mnt / "tree"))
    assert copied.returncode == 0, copied.stderr
    assert (mnt / "tree" / "a" / "photo.jpg").exists(), "cp x .; ls always shows x"
    for rel in ("a/photo.jpg", "a/b/notes.txt", "doc.pdf"):
        uuid = xattr(mnt / "tree" / rel, "uuid")
        assert sdk_bytes(sdk_user, uuid) == (tree / rel).read_bytes(), rel
    out = tmp_path / "out"
    assert sh("cp", "-r", str(mnt / "tree"), str(out)).returncode == 0
    assert sh("diff", "-r", str(tree), str(out)).returncode == 0

    synced = sh("rsync", "-a", str(tree) + "/", str(mnt / "synced"))
    assert synced.returncode == 0, synced.stderr
    assert sorted(os.listdir(mnt / "synced")) == ["a", "doc.pdf"]
    assert xattr(mnt / "synced" / "a" / "photo.jpg", "item_type") == "image"
    assert (mnt / "synced" / "a" / "b" / "notes.txt").read_bytes() == (tree / "a" / "b" / "notes.txt").read_bytes()
    assert not [n for n in os.listdir(mnt / "synced" / "a") if n.startswith(".")], "rsync temp names are renamed away"

    shutil.copytree(tree, mnt / "copytree")
    assert filecmp.cmp(tree / "doc.pdf", mnt / "copytree" / "doc.pdf", shallow=False)
    assert sh("cp", "-p", str(media["tone.wav"]), str(mnt)).returncode == 0  # chmod/chown/utimes are no-ops
    assert (mnt / "tone.wav").read_bytes() == media["tone.wav"].read_bytes()


def test_mv_rm_mkdir_rmdir_keep_uuids(emulator, sdk_user, fs_root, mount_fs, media) -> None:
    mnt = mount_fs(emulator, fs_root.uuid).path
    (mnt / "d1").mkdir()
    (mnt / "d2").mkdir()
    shutil.copy(media["photo.jpg"], mnt / "d1" / "p.jpg")
    item_uuid, dir_uuid = xattr(mnt / "d1" / "p.jpg", "uuid"), xattr(mnt / "d1", "uuid")
    assert sh("mv", str(mnt / "d1" / "p.jpg"), str(mnt / "d2" / "q.jpg")).returncode == 0
    assert xattr(mnt / "d2" / "q.jpg", "uuid") == item_uuid and not (mnt / "d1" / "p.jpg").exists()
    assert sdk_user.get_storage_item(item_uuid).name == "q.jpg"
    assert sh("mv", str(mnt / "d1"), str(mnt / "d2" / "moved")).returncode == 0
    assert xattr(mnt / "d2" / "moved", "uuid") == dir_uuid
    assert sorted(os.listdir(mnt / "d2")) == ["moved", "q.jpg"]

    shutil.copy(media["notes.txt"], mnt / "d2" / "n.txt")
    noreplace = sh("mv", "-n", str(mnt / "d2" / "n.txt"), str(mnt / "d2" / "q.jpg"))
    assert xattr(mnt / "d2" / "q.jpg", "uuid") == item_uuid, noreplace.stderr
    with pytest.raises(OSError) as full:
        (mnt / "d2").rmdir()
    assert full.value.errno == errno.ENOTEMPTY
    os.unlink(mnt / "d2" / "q.jpg")
    os.unlink(mnt / "d2" / "n.txt")
    (mnt / "d2" / "moved").rmdir()
    (mnt / "d2").rmdir()
    assert os.listdir(mnt) == [] and list(fs_root.list_subfolders()) == []
    os.chmod(mnt, 0o700)
    os.utime(mnt)


def test_refusals(emulator, fs_root, mount_fs, media, tmp_path) -> None:
    linked = fs_root.upload_image(media["photo.jpg"], title="linked.jpg")
    emulator.link_datasets(linked, 1)
    mnt = mount_fs(emulator, fs_root.uuid).path
    archive = tmp_path / "x.zip"
    archive.write_bytes(b"PK\x03\x04" + b"\0" * 30)
    refused = sh("cp", str(archive), str(mnt))
    assert refused.returncode != 0 and "not supported" in refused.stderr
    binary = tmp_path / "blob"
    binary.write_bytes(b"\x7fELF" + os.urandom(64))
    late = sh("cp", str(binary), str(mnt))
    assert late.returncode != 0 and not (mnt / "blob").exists()
    with pytest.raises(OSError) as linked_rm:
        os.unlink(mnt / "linked.jpg")
    assert linked_rm.value.errno == errno.EPERM
    overwrite = sh("cp", str(media["notes.txt"]), str(mnt / "linked.jpg"))
    assert overwrite.returncode != 0 and "not permitted" in overwrite.stderr
    assert xattr(mnt / "linked.jpg", "uuid") == str(linked)
    assert sorted(os.listdir(mnt)) == ["linked.jpg"]
    with pytest.raises(OSError) as too_long:
        (mnt / ("x" * 300 + ".txt")).write_text("x")
    assert too_long.value.errno == errno.ENAMETOOLONG

    ro = mount_fs(emulator, fs_root.uuid, "-o", "ro,uid=1234,gid=5678,umask=027").path
    with pytest.raises(OSError) as read_only:
        (ro / "new").mkdir()
    assert read_only.value.errno == errno.EROFS
    info = (ro / "linked.jpg").stat()
    assert (info.st_uid, info.st_gid, oct(info.st_mode & 0o777)) == (1234, 5678, oct(0o440))
    assert oct(ro.stat().st_mode & 0o777) == oct(0o550)
    assert (ro / "linked.jpg").read_bytes() == media["photo.jpg"].read_bytes()


def test_changes_elsewhere_appear_after_the_ttl(emulator, sdk_user, fs_root, mount_fs, media) -> None:
    first = mount_fs(emulator, fs_root.uuid, "--dir-ttl", "1", "--attr-ttl", "1", "-o", "negative_ttl=1").path
    second = mount_fs(emulator, fs_root.uuid, "-o", "dir_ttl=1,attr_ttl=1,negative_ttl=1").path
    assert os.listdir(first) == [] and not (first / "sdk.txt").exists()
    fs_root.upload_text(media["notes.txt"], title="sdk.txt")
    shutil.copy(media["photo.jpg"], second / "mine.jpg")
    deadline = time.monotonic() + 15
    while sorted(os.listdir(first)) != ["mine.jpg", "sdk.txt"]:
        assert time.monotonic() < deadline, os.listdir(first)
        time.sleep(0.2)
    assert (first / "mine.jpg").read_bytes() == media["photo.jpg"].read_bytes()
    setfattr = sh("setfattr", "-n", "user.encord.client_metadata", "-v", '{"split": "train"}', str(first / "sdk.txt"))
    assert setfattr.returncode == 0, setfattr.stderr
    uuid = xattr(first / "sdk.txt", "uuid")
    assert sdk_user.get_storage_item(uuid).client_metadata == {"split": "train"}
    dumped = sh("getfattr", "-d", str(first / "sdk.txt")).stdout
    assert f'user.encord.uuid="{uuid}"' in dumped and 'user.encord.item_type="plainText"' in dumped
    bad = sh("setfattr", "-n", "user.encord.client_metadata", "-v", "not json", str(first / "sdk.txt"))
    assert bad.returncode != 0 and "Invalid argument" in bad.stderr


def test_concurrent_readers_of_a_large_file(emulator, sdk_user, fs_root, mount_fs, tmp_path) -> None:
    big = mediagen.large_video(tmp_path / "big.mp4", 3 << 20)
    fs_root.upload_video(big, title="big.mp4")
    mnt = mount_fs(emulator, fs_root.uuid).path
    expected = big.read_bytes()
    results: list[bool] = []

    def read(offset: int) -> None:
        with open(mnt / "big.mp4", "rb") as handle:
            handle.seek(offset)
            results.append(handle.read() == expected[offset:])

    threads = [threading.Thread(target=read, args=(i * 777_777,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [True] * 4
    with open(mnt / "big.mp4", "rb") as handle:
        for offset in (2_000_001, 17, len(expected) - 3, 1_048_575):
            handle.seek(offset)
            assert handle.read(4096) == expected[offset : offset + 4096]


def test_daemon_mount_status_and_unmount(emulator, fs_root, mount_fs, media) -> None:
    fs_root.create_subfolder("inner")
    mounted = mount_fs(emulator, f"{fs_root.name}/inner", daemon=True)  # --root as a path of names
    assert xattr(mounted.path, "uuid") == str(next(iter(fs_root.list_subfolders())).uuid)
    shutil.copy(media["notes.txt"], mounted.path / "d.txt")
    status = encordfs("status")
    assert str(mounted.path) in status.stdout
    result = encordfs("unmount", str(mounted.path))
    assert result.returncode == 0, result.stderr
    assert not os.path.ismount(mounted.path)
    assert [i.name for i in next(iter(fs_root.list_subfolders())).list_items()] == ["d.txt"]


def test_mount_fails_clearly(emulator, tmp_path) -> None:
    (tmp_path / "m").mkdir()
    result = encordfs("mount", str(tmp_path / "m"), "--domain", emulator.url, "--ssh-key", str(emulator.key_path),
                      "--cache-dir", str(tmp_path / "c"), "--root", "no/such/folder")
    assert result.returncode != 0 and "no/such/folder" in result.stderr
    assert not os.path.ismount(tmp_path / "m")


def test_sigterm_finishes_the_upload_in_flight_then_unmounts(emulator, fs_root, mount_fs, media) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    with emulator.faults(blob_latency_ms=1500):
        copy = subprocess.Popen(["cp", str(media["photo.jpg"]), str(mounted.path / "slow.jpg")], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while not list((mounted.cache_dir / "pending").glob("*.json")):  # journaled: the upload has begun
            assert time.monotonic() < deadline and copy.poll() is None, mounted.log()
            time.sleep(0.02)
        mounted.process.terminate()
        assert copy.wait(timeout=20) == 0, copy.stderr.read()
        assert mounted.process.wait(timeout=20) == 0, mounted.log()
    assert not os.path.ismount(mounted.path)
    assert [i.name for i in fs_root.list_items()] == ["slow.jpg"]


def test_ls_l_needs_no_request_per_entry_and_lookup_needs_no_listing(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    log_path = tmp_path / "requests.jsonl"
    server = emulator_factory("--request-log", str(log_path))
    folder = make_sdk_client(server).create_storage_folder("many")
    note = mediagen.text(tmp_path / "n.txt")
    for i in range(12):
        folder.upload_text(note, title=f"n{i:02}.txt")
    mnt = mount_fs(server, folder.uuid).path
    for probe in (".Trash", f".Trash-{os.getuid()}", ".xdg-volume-info"):  # what a desktop's trash monitor asks
        assert not (mnt / probe).exists()

    def settled_lines() -> list[str]:
        """Complete log lines once the log stops growing (the server writes after answering)."""
        size = -1
        while size != log_path.stat().st_size:
            size = log_path.stat().st_size
            time.sleep(0.1)
        return log_path.read_text().split("\n")[:-1]

    def requests_during(action) -> list[dict]:
        before = len(settled_lines())
        action()
        return [json.loads(line) for line in settled_lines()[before:]]

    looked_up = requests_during(lambda: (mnt / "n07.txt").stat())
    item_lists = [r for r in looked_up if r["path"].endswith("/items")]
    assert item_lists and all("search=n07.txt" in r["query"] for r in item_lists), looked_up
    listed = requests_during(lambda: sh("ls", "-l", str(mnt)))
    per_item = [r for r in listed if "/storage/items/" in r["path"]]
    assert per_item == [] and len(os.listdir(mnt)) == 12


def test_a_failed_upload_stays_pending_and_is_replayed_on_the_next_mount(emulator, fs_root, mount_fs, media, tmp_path) -> None:
    cache = tmp_path / "shared-cache"
    first = mount_fs(emulator, fs_root.uuid, cache_dir=cache)
    with emulator.faults(error_rate=1.0, scope="blobs"):
        copied = sh("cp", str(media["photo.jpg"]), str(first.path / "kept.jpg"))
        assert copied.returncode == 0, copied.stderr  # journaled: durable, uploaded later
        deadline = time.monotonic() + 60
        while "upload of 'kept.jpg' failed" not in first.log():
            assert time.monotonic() < deadline, first.log()
            time.sleep(0.1)
        assert (first.path / "kept.jpg").read_bytes() == media["photo.jpg"].read_bytes()
        status = encordfs("status", "--cache-dir", str(cache)).stdout
        assert f"pending uploads in {cache}: 1\n" in status and "kept.jpg" in status and "failed attempt" in status
        assert encordfs("unmount", str(first.path)).returncode == 0
        first.process.wait(timeout=60)
    assert [i.name for i in fs_root.list_items()] == []
    status = encordfs("status", "--cache-dir", str(cache)).stdout
    assert f"pending uploads in {cache}: 1\n" in status, status
    second = mount_fs(emulator, fs_root.uuid, cache_dir=cache)
    assert item_names(fs_root, ["kept.jpg"], timeout=20) == ["kept.jpg"], second.log()
    assert f"pending uploads in {cache}: 0\n" in encordfs("status", "--cache-dir", str(cache)).stdout


def test_odd_and_duplicate_titles_are_all_reachable(emulator, fs_root, mount_fs, media) -> None:
    first = fs_root.upload_text(media["notes.txt"], title="dup.txt")
    second = fs_root.upload_text(media["notes.txt"], title="dup.txt")
    fs_root.upload_text(media["notes.txt"], title="a/b.txt")
    fs_root.upload_text(media["notes.txt"], title="..")
    mnt = mount_fs(emulator, fs_root.uuid).path
    names = sorted(os.listdir(mnt))
    assert names == sorted(["dup.txt", f"dup%~{second.hex[:8]}.txt", "a%2Fb.txt", "%2E%2E"])
    assert xattr(mnt / "dup.txt", "uuid") == str(first)
    for name in names:
        assert (mnt / name).read_text() == "one\ntwo\n"


def test_cp_in_uploads_each_type_through_its_flow(emulator, sdk_user, fs_root, mount_fs, media, tmp_path) -> None:
    mnt = mount_fs(emulator, fs_root.uuid).path
    expected = {"photo.jpg": "image", "clip.mp4": "video", "tone.wav": "audio", "notes.txt": "plainText",
                "doc.pdf": "pdf", "scan.nii": "nifti"}
    unnamed = tmp_path / "README"  # no extension: decided from the content
    unnamed.write_text("plain words\n")
    result = sh("cp", *(str(media[n]) for n in expected), str(unnamed), str(mnt))
    assert result.returncode == 0, result.stderr
    for name, item_type in {**expected, "README": "plainText"}.items():
        assert xattr(mnt / name, "item_type") == item_type, name
        source = media.get(name, unnamed)
        assert sdk_bytes(sdk_user, xattr(mnt / name, "uuid")) == source.read_bytes(), name


def test_reads_survive_signed_url_expiry(emulator_factory, make_sdk_client, mount_fs, tmp_path) -> None:
    server = emulator_factory("--signed-url-ttl", "1")
    folder = make_sdk_client(server).create_storage_folder("expiring")
    big = mediagen.large_video(tmp_path / "v.mp4", 2 << 20)
    folder.upload_video(big, title="v.mp4")
    mnt = mount_fs(server, folder.uuid).path
    expected = big.read_bytes()
    with open(mnt / "v.mp4", "rb") as handle:
        handle.seek(1_600_000)  # a random read: only the chunk it touches is fetched
        assert handle.read(1000) == expected[1_600_000:1_601_000]
        time.sleep(2.5)  # the signed URL used for that chunk has expired now
        handle.seek(0)
        assert handle.read(1000) == expected[:1000]


def test_unmount_waits_for_an_upload_in_flight(emulator, fs_root, mount_fs, media) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    with emulator.faults(blob_latency_ms=1200):
        copy = subprocess.Popen(["cp", str(media["photo.jpg"]), str(mounted.path / "late.jpg")], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while not list((mounted.cache_dir / "pending").glob("*.json")):
            assert time.monotonic() < deadline, mounted.log()
            time.sleep(0.02)
        result = encordfs("unmount", "--wait", "20", str(mounted.path))
    assert result.returncode == 0, result.stderr
    assert copy.wait(timeout=20) == 0
    assert mounted.process.wait(timeout=20) == 0
    assert [i.name for i in fs_root.list_items()] == ["late.jpg"]


def test_mount_with_a_bearer_token(emulator, fs_root, mount_fs, media, tmp_path) -> None:
    async def issue() -> str:
        async with StorageClient(load_credentials(ssh_key_file=emulator.key_path), emulator.url) as client:
            return await client.issue_bearer_token()

    token_file = tmp_path / "token"
    token_file.write_text(trio.run(issue) + "\n")
    token_file.chmod(0o600)
    mnt = mount_fs(emulator, fs_root.uuid, "--bearer-token-file", str(token_file)).path
    shutil.copy(media["notes.txt"], mnt / "via-token.txt")
    assert item_names(fs_root, ["via-token.txt"]) == ["via-token.txt"]
