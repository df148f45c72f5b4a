"""The encordfs side: ``encordfs mount --foreground`` as our child (so its memory can be read)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.emulator import ENCORDFS
from bench.procs import Child, is_mounted, unmount, wait_until


def mount_available() -> str | None:
    """None when ``encordfs mount`` exists, else why not."""
    result = subprocess.run([*ENCORDFS, "mount", "--help"], capture_output=True, text=True)
    return None if result.returncode == 0 else f"`encordfs mount` is not available: {result.stderr.strip()[-300:]}"


class EncordfsMount:
    def __init__(self, domain: str, key_path: Path, mountpoint: Path, cache_dir: Path, log_path: Path) -> None:
        self.mountpoint = mountpoint
        unmount(mountpoint)  # a mount left by a killed earlier run
        mountpoint.mkdir(parents=True, exist_ok=True)
        argv = [*ENCORDFS, "mount", str(mountpoint), "--domain", domain, "--ssh-key", str(key_path),
                "--cache-dir", str(cache_dir), "--foreground"]
        self.child = Child("encordfs-mount", argv, log_path)
        try:
            wait_until(lambda: is_mounted(mountpoint), 30, "encordfs mount", self.child)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.child.pid

    def stop(self) -> None:
        unmount(self.mountpoint)
        self.child.stop()
