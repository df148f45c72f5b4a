"""A private emulator process for the storage tests: a registered key, a request log, runtime faults.

One process serves the whole session (faults are switched on and off per test), so the storage
tests cost one start-up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


def write_keypair(directory: Path, name: str) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private = directory / name
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    os.chmod(private, 0o600)
    public = directory / f"{name}.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    return private, public


@dataclass
class EmulatorProcess:
    url: str
    key_path: Path
    stranger_key_path: Path
    request_log: Path
    process: subprocess.Popen

    def set_faults(self, **knobs: Any) -> None:
        response = httpx.post(f"{self.url}/_emulator/faults", json={"reset": True, **knobs}, timeout=10)
        response.raise_for_status()

    def clear_faults(self) -> None:
        self.set_faults()

    def log_position(self) -> int:
        """The log's end once everything answered so far is in it: a marker request is sent and
        waited for (the server logs each request just after answering it)."""
        mark = uuid.uuid4().hex
        httpx.get(f"{self.url}/_emulator/health", params={"mark": mark}, timeout=10).raise_for_status()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.request_log.read_text(encoding="utf-8") if self.request_log.exists() else ""
            found = text.find(f"mark={mark}")
            if found >= 0 and "\n" in text[found:]:
                return len(text[: text.index("\n", found) + 1].encode("utf-8"))
            time.sleep(0.005)
        raise TimeoutError("the emulator did not log the marker request")

    def log_since(self, position: int) -> list[dict[str, Any]]:
        """Request-log entries written after ``position``."""
        end = self.log_position()
        with self.request_log.open("rb") as handle:
            handle.seek(position)
            lines = handle.read(end - position).splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        return [e for e in entries if not e["path"].startswith("/_emulator/")]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "encordfs.cli", *args]


def start_emulator(workdir: Path, *extra: str) -> EmulatorProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    data = workdir / "data"
    key, public = write_keypair(workdir, "user")
    stranger, _ = write_keypair(workdir, "stranger")
    subprocess.run(_cli("emulator", "add-key", "--data", str(data), str(public)), env=env, check=True, capture_output=True)
    log = workdir / "requests.jsonl"
    output = (workdir / "emulator.out").open("w+")
    process = subprocess.Popen(
        _cli("emulator", "serve", "--data", str(data), "--port", "0", "--request-log", str(log), *extra),
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        output.seek(0)
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", output.read())
        if match:
            return EmulatorProcess(match.group(1), key, stranger, log, process)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    output.seek(0)
    raise RuntimeError(f"the emulator did not start:\n{output.read()[-2000:]}")
