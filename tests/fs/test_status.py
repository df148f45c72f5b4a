"""``encordfs status``: every mount once, its cache dir, a capped list of pending uploads, no
traceback when its reader goes away, and a registry found whatever the shell's XDG_RUNTIME_DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from encordfs.fs import mount_registry
from encordfs.fs.command import MAX_PENDING_SHOWN
from encordfs.fs.staging import Staging

from .conftest import _env, encordfs
from .test_staging import stage


def pending_cache_dir(root: Path, count: int) -> Path:
    with Staging(root) as staging:
        for i in range(count):
            stage(staging, b"x" * (i + 1), title=f"file{i:02}.jpg")
    return root


def test_pending_uploads_are_capped_per_cache_dir(tmp_path: Path) -> None:
    cache = pending_cache_dir(tmp_path / "cache", MAX_PENDING_SHOWN + 3)
    result = encordfs("status", "--cache-dir", str(cache))
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()  # (other mounts on this machine come first)
    lines = lines[lines.index(f"  pending uploads in {cache}: {MAX_PENDING_SHOWN + 3}"):]
    assert len([line for line in lines if line.startswith("    file")]) == MAX_PENDING_SHOWN
    assert lines[-1] == "    ... and 3 more"


def test_a_closed_pipe_ends_status_quietly(tmp_path: Path) -> None:
    cache = pending_cache_dir(tmp_path / "cache", 4)
    command = [sys.executable, "-m", "encordfs.cli", "status", "--cache-dir", str(cache)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # like `status | head -0`: nobody reads
        errors = process.stderr.read().decode()
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
    result = subprocess.run(f"{sys.executable} -m encordfs.cli status --cache-dir {cache} | head -1", shell=True,
                            capture_output=True, text=True, env=_env())
    assert len(result.stdout.splitlines()) == 1 and result.stderr == ""


@pytest.mark.fuse
def test_a_mount_is_listed_once_with_its_cache_dir_from_any_xdg_runtime_dir(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid, daemon=True)
    for xdg in ("/nonexistent/xdg", str(tmp_path)):
        result = encordfs("status", "--cache-dir", str(mounted.cache_dir), env={"XDG_RUNTIME_DIR": xdg})
        mine = [line for line in result.stdout.splitlines() if str(mounted.path) in line or str(mounted.cache_dir) in line]
        assert mine == [f"mounted: {mounted.path} (cache dir {mounted.cache_dir})",
                        f"  pending uploads in {mounted.cache_dir}: 0"], result.stdout
    entry = mount_registry.read_entry(mounted.path)
    assert entry.cache_dir == mounted.cache_dir and entry.fields["version"] == 1 and entry.pid


def test_the_registry_does_not_depend_on_the_shells_xdg_runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENCORDFS_RUNTIME_DIR")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "a"))
    first = mount_registry.runtime_dir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "b"))
    assert mount_registry.runtime_dir() == first and str(tmp_path) not in str(first)


def test_an_entry_where_older_versions_wrote_it_is_found_and_a_dead_ones_is_not(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENCORDFS_RUNTIME_DIR")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    mountpoint = Path("/mnt/somewhere")
    (tmp_path / "encordfs" / "mounts").mkdir(parents=True)
    path = tmp_path / "encordfs" / "mounts" / mount_registry._entry_name(mountpoint)
    path.write_text(json.dumps({"mountpoint": str(mountpoint), "cache_dir": "/c", "pid": os.getpid(), "socket": "/s"}))
    entry = mount_registry.read_entry(mountpoint)
    assert entry.cache_dir == Path("/c") and entry.fields["socket"] == "/s"
    path.write_text(json.dumps({"mountpoint": str(mountpoint), "cache_dir": "/c", "pid": 2**22 + 12345}))
    assert mount_registry.read_entry(mountpoint).cache_dir is None


def test_extra_fields_are_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENCORDFS_RUNTIME_DIR", str(tmp_path / "run"))
    mount_registry.register_mount(Path("/mnt/x"), Path("/cache"), fields={"control_socket": "/run/x.sock"})
    entry = mount_registry.read_entry(Path("/mnt/x"))
    assert entry.fields["control_socket"] == "/run/x.sock" and entry.cache_dir == Path("/cache")
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
    mount_registry.forget_mount(Path("/mnt/x"))
    assert mount_registry.read_entry(Path("/mnt/x")).cache_dir is None
