"""The encordfs side: ``encordfs mount --foreground`` as our child (so its memory can be read)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.emulator import ENCORDFS
from bench.procs import MountChild


def mount_available() -> str | None:
    """None when ``encordfs mount`` exists, else why not."""
    result = subprocess.run([*ENCORDFS, "mount", "--help"], capture_output=True, text=True)
    return None if result.returncode == 0 else f"`encordfs mount` is not available: {result.stderr.strip()[-300:]}"


class EncordfsMount(MountChild):
    def __init__(self, domain: str, key_path: Path, mountpoint: Path, cache_dir: Path, log_path: Path) -> None:
        argv = [
            *ENCORDFS,
            "mount",
            str(mountpoint),
            "--domain",
            domain,
            "--ssh-key",
            str(key_path),
            "--cache-dir",
            str(cache_dir),
            "--foreground",
        ]
        super().__init__("encordfs-mount", argv, mountpoint, log_path)
