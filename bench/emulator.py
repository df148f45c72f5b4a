"""The Encord storage emulator as a child process, with a benchmark key registered."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.procs import Child, StartError, wait_until
from encordfs.wire.signing import load_private_key

log = logging.getLogger(__name__)

ENCORDFS = [sys.executable, "-m", "encordfs.cli"]
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def ensure_key(directory: Path) -> Path:
    """An OpenSSH Ed25519 key pair (``key``, ``key.pub``) in ``directory``, made once."""
    path = directory / "key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        (directory / "key.pub").write_bytes(pub + b" encordfs-bench\n")
    return path


def private_key(path: Path) -> Ed25519PrivateKey:
    return load_private_key(path.read_bytes())


class Emulator:
    """``encordfs emulator serve`` on 127.0.0.1 with an ephemeral port; stop() ends it."""

    def __init__(self, data: Path, key_path: Path, log_path: Path) -> None:
        data.mkdir(parents=True, exist_ok=True)
        added = subprocess.run([*ENCORDFS, "emulator", "add-key", "--data", str(data), f"{key_path}.pub"], capture_output=True, text=True)
        if added.returncode != 0:
            raise StartError(f"encordfs emulator add-key failed: {added.stderr.strip()[-500:]}")
        argv = [*ENCORDFS, "emulator", "serve", "--data", str(data), "--host", "127.0.0.1", "--port", "0"]
        self.child = Child("emulator", argv, log_path)
        self.url = ""
        wait_until(self._found_url, 60, "emulator", self.child)
        log.info("emulator at %s", self.url)

    def _found_url(self) -> bool:
        match = _LISTENING.search(self.child.output())
        if match:
            self.url = match.group(1)
        return bool(match)

    def set_latency(self, api_ms: float, blob_ms: float) -> None:
        """The emulator's latency knobs: before every API answer, before a signed URL's first byte."""
        response = httpx.post(f"{self.url}/_emulator/faults", json={"latency_ms": api_ms, "blob_latency_ms": blob_ms})
        response.raise_for_status()

    def stop(self) -> None:
        self.child.stop()
