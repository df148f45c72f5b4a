"""Real FUSE mounts of the session emulator.

* ``fs_root`` (function): a fresh top-level folder (an SDK ``StorageFolder``) for one test, so
  tests sharing the session emulator never see each other's files.
* ``mount_fs`` (function): ``mount_fs(emulator, root_uuid, *extra_args, daemon=False, cache_dir=None)``
  runs ``encordfs mount --root ... --foreground`` (or the daemonizing form) into a temp dir and
  waits until it answers; every mount is unmounted (``fusermount3 -u``, then ``-uz``) and its
  process killed after the test, whatever happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MOUNT_TIMEOUT = 20.0
REPO_ROOT = Path(__file__).resolve().parents[2]
RunningEmulator = Any  # tests/conftest.py's emulator fixture object


@dataclass
class Mounted:
    path: Path
    cache_dir: Path
    process: subprocess.Popen[bytes] | None
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def _env() -> dict[str, str]:
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"}


def encordfs(*args: str, timeout: float = 60, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "encordfs.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**_env(), **(env or {})}, cwd=cwd)


def _wait_mounted(path: Path, process: subprocess.Popen[bytes] | None, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + MOUNT_TIMEOUT
    while not os.path.ismount(path):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"encordfs mount exited {process.returncode}:\n{log()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"encordfs did not mount in {MOUNT_TIMEOUT}s:\n{log()[-3000:]}")
        time.sleep(0.05)


def unmount(path: Path) -> None:
    if os.path.ismount(path) and subprocess.run(["fusermount3", "-u", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["fusermount3", "-uz", str(path)], capture_output=True)


def _mount_args(emulator: RunningEmulator, mountpoint: Path, cache_dir: Path, root: Any, extra: tuple[str, ...]) -> list[str]:
    args = ["mount", str(mountpoint), "--domain", emulator.url, "--cache-dir", str(cache_dir)]
    if "--bearer-token-file" not in extra:
        args += ["--ssh-key", str(emulator.key_path)]
    if root is not None:
        args += ["--root", str(root)]
    return args + list(extra)


@pytest.fixture
def mount_fs(tmp_path: Path) -> Iterator[Callable[..., Mounted]]:
    mounts: list[Mounted] = []

    def mount(emulator: RunningEmulator, root: Any, *extra: str, daemon: bool = False, cache_dir: Path | None = None) -> Mounted:
        index = len(mounts)
        mountpoint, cache_dir = tmp_path / f"mnt{index}", cache_dir or tmp_path / f"cache{index}"
        mountpoint.mkdir()
        args = _mount_args(emulator, mountpoint, cache_dir, root, extra)
        if daemon:
            log_path = cache_dir / "mount.log"
            result = encordfs(*args)
            mounted = Mounted(mountpoint, cache_dir, None, log_path)
            mounts.append(mounted)
            assert result.returncode == 0, result.stderr + mounted.log()
        else:
            log_path = tmp_path / f"mount{index}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen([sys.executable, "-m", "encordfs.cli", *args, "--foreground"],
                                           stdout=log, stderr=subprocess.STDOUT, env=_env())
            mounted = Mounted(mountpoint, cache_dir, process, log_path)
            mounts.append(mounted)
        _wait_mounted(mountpoint, mounted.process, mounted.log)
        return mounted

    try:
        yield mount
    finally:
        for mounted in mounts:
            unmount(mounted.path)
            if mounted.process is not None:
                try:
                    mounted.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    mounted.process.send_signal(signal.SIGKILL)
                    mounted.process.wait(timeout=5)


@pytest.fixture
def fs_root(sdk_user: Any) -> Any:
    return sdk_user.create_storage_folder(f"fs-test-{uuid.uuid4().hex[:8]}")
