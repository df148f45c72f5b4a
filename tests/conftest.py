"""Shared fixtures: a real ``encordfs emulator serve`` subprocess on 127.0.0.1, keys, and an SDK client.

Fixtures (stable; other test packages use them):

* ``emulator`` (session): a :class:`RunningEmulator` with ``.url``, ``.data_dir``, ``.key_path``
  (OpenSSH ed25519 private key, mode 0600, registered as admin), ``.public_key_path``,
  ``.integration_hash`` / ``.bucket_dir`` (a local "bucket" for private-data imports),
  ``.set_faults(**knobs)``, ``.clear_faults()``, ``.link_datasets(item_uuid, n)``.
  Tests that change faults must clear them (use ``with emulator.faults(...)``).
* ``emulator_factory`` (function): ``emulator_factory(*cli_args, register_key=True)`` starts a
  separate emulator with extra ``serve`` options; each is stopped after the test.
* ``stranger_key_path``: a valid ed25519 key that no emulator knows.
* ``sdk_user``: the official SDK's ``EncordUserClient`` for ``emulator``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

START_TIMEOUT = 30.0
REPO_ROOT = Path(__file__).resolve().parent.parent


def write_keypair(directory: Path, name: str) -> tuple[Path, Path]:
    """A fresh ed25519 key as OpenSSH files: ``name`` (private, 0600) and ``name.pub``."""
    key = Ed25519PrivateKey.generate()
    private = directory / name
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    private.chmod(0o600)
    public = directory / f"{name}.pub"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH) + b" test\n"
    )
    return private, public


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "encordfs.cli", *args], capture_output=True, text=True, timeout=60)


@dataclass
class RunningEmulator:
    url: str
    data_dir: Path
    key_path: Path
    public_key_path: Path
    process: subprocess.Popen[str]
    log_path: Path
    integration_hash: str | None = None
    bucket_dir: Path | None = None

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        """Merge fault knobs (see encordfs.emulator.faults.FaultConfig) into the live configuration."""
        return self._post("/_emulator/faults", knobs)

    def clear_faults(self) -> dict[str, Any]:
        return self._post("/_emulator/faults", {"reset": True})

    @contextmanager
    def faults(self, **knobs: Any) -> Iterator[None]:
        self.set_faults(**knobs)
        try:
            yield
        finally:
            self.clear_faults()

    def link_datasets(self, item_uuid: Any, n: int) -> None:
        """Make the item look used by ``n`` dataset data units (``backedDataUnitsCount``)."""
        self._post(f"/_emulator/items/{item_uuid}/datasets", {"count": n})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


def start_emulator(data_dir: Path, key_dir: Path, *args: str, register_key: bool = True) -> RunningEmulator:
    """Start ``encordfs emulator serve --port 0`` and wait for its ``listening on`` line."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path, public_key_path = write_keypair(key_dir, "id_ed25519")
    if register_key:
        from encordfs.emulator.auth import register_key as register
        from encordfs.emulator.store import Store

        store = Store(data_dir)
        register(store, public_key_path)
        store.close()
    log_path = data_dir / "emulator.log"
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath}
    env = {k: v for k, v in env.items() if not k.startswith("ENCORDFS_FAULT_")}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "encordfs.cli", "emulator", "serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
    deadline = time.monotonic() + START_TIMEOUT
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if line.startswith("listening on "):
            url = line.split()[-1]
            break
        if not line and process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"emulator did not start: {log_path.read_text()[-2000:]}")
    return RunningEmulator(url, data_dir, key_path, public_key_path, process, log_path)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    base = tmp_path_factory.mktemp("emulator")
    bucket, integration = base / "bucket", str(uuid.uuid4())
    bucket.mkdir()
    running = start_emulator(base / "data", base, "--integration", f"{integration}={bucket}")
    running.integration_hash, running.bucket_dir = integration, bucket
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Callable[..., RunningEmulator]]:
    started: list[RunningEmulator] = []

    def factory(*args: str, register_key: bool = True) -> RunningEmulator:
        directory = tmp_path / f"emulator{len(started)}"
        directory.mkdir()
        running = start_emulator(directory / "data", directory, *args, register_key=register_key)
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def stranger_key_path(tmp_path: Path) -> Path:
    return write_keypair(tmp_path, "stranger")[0]


def sdk_client(emulator: RunningEmulator, key_path: Path | None = None) -> Any:
    from encord.user_client import EncordUserClient

    return EncordUserClient.create_with_ssh_private_key(
        ssh_private_key=(key_path or emulator.key_path).read_text(), domain=emulator.url
    )


@pytest.fixture
def sdk_user(emulator: RunningEmulator) -> Any:
    return sdk_client(emulator)


@pytest.fixture
def make_sdk_client() -> Callable[..., Any]:
    """``make_sdk_client(emulator, key_path=None)``: an SDK client for any running emulator and key."""
    return sdk_client
