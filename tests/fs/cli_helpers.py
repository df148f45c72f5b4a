"""Helpers for the tests of the commands that take paths inside a mount."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from encordfs.control import client
from encordfs.control.protocol import ControlError

from .conftest import encordfs


def wait_for_control(path: Path, timeout: float = 10.0) -> client.MountTarget:
    """A foreground mount records its control socket a moment after it appears in /proc/mounts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            target = client.find_mount(path)
            if target.socket.exists():
                return target
        except ControlError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``encordfs ARGS`` as a user runs it."""
    return encordfs(*args, timeout=timeout)


def cli_ok(*args: str, timeout: float = 60) -> str:
    result = cli(*args, timeout=timeout)
    assert result.returncode == 0, f"encordfs {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result.stdout


def cli_json(*args: str, timeout: float = 60) -> Any:
    return json.loads(cli_ok(*args, "--json", timeout=timeout))


def cli_fails(*args: str) -> str:
    """The stderr of a command that must fail with exit 1."""
    result = cli(*args)
    assert result.returncode == 1, f"exit {result.returncode}; stdout {result.stdout!r} stderr {result.stderr!r}"
    assert result.stdout == ""
    return result.stderr


def seed_texts(emulator: Any, signed_api: Any, folder: str, count: int, batch: int = 1000) -> None:
    """``count`` text items ``t00000.txt``... in ``folder``, imported from the emulator's integration
    bucket (all sharing one object: no PUT per item), ``batch`` per upload job."""
    assert emulator.bucket_dir is not None
    (emulator.bucket_dir / "seed.txt").write_text("seed\n")
    for start in range(0, count, batch):
        entries = [{"objectUrl": "seed.txt", "title": f"t{i:06}.txt", "clientMetadata": {}, "externalFileType": "PLAIN_TEXT"}
                   for i in range(start, min(start + batch, count))]
        body = {"dataItems": {"text": entries}, "integrationHash": emulator.integration_hash, "ignoreErrors": False}
        job = signed_api.ok("POST", f"storage/folders/{folder}/data-upload-jobs", json=body)
        state = signed_api.ok("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", params={"timeoutSeconds": 60})
        assert state["status"] == "DONE", state
