"""Shared fixtures: a real ``encordfs emulator serve`` subprocess on 127.0.0.1, keys, and an SDK client.

Fixtures (stable; other test packages use them):

* ``emulator`` (session): a :class:`RunningEmulator` with ``.url``, ``.data_dir``, ``.key_path``
  (OpenSSH ed25519 private key, mode 0600, registered as admin), ``.public_key_path``,
  ``.integration_hash`` / ``.bucket_dir`` (a local "bucket" for private-data imports),
  ``.set_faults(**knobs)``, ``.clear_faults()``, ``.link_datasets(item_uuid, n)``.
  Tests that change faults must clear them (use ``with emulator.faults(...)``).
* ``emulator_factory`` (function): ``emulator_factory(*cli_args, register_key=True, env=None,
  data_dir=None)`` starts a separate emulator with extra ``serve`` options (and extra environment
  variables; the caller's ``ENCORDFS_FAULT_*`` variables are never inherited). Pass the
  ``data_dir`` of a stopped one to restart it. Each is stopped after the test.
* ``stranger_key_path``: a valid ed25519 key that no emulator knows; ``make_keypair(name)``
  writes a fresh (private, public) pair.
* ``sdk_user``: the official SDK's ``EncordUserClient`` for ``emulator``;
  ``make_sdk_client(emulator, key_path=None)`` builds one for any emulator and key.
* ``signed_api`` (session): a :class:`SignedApi` (raw signed HTTP calls plus ``create_folder``,
  ``upload``, ``signed_url`` helpers) for ``emulator``; ``make_signed_api(emulator, key_path=None)``
  for others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

START_TIMEOUT = 30.0
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def private_runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every mount the tests start (and every ``encordfs status`` they run) uses a registry of
    its own, never the system's (``$ENCORDFS_RUNTIME_DIR``, inherited by the subprocesses)."""
    path = tmp_path_factory.mktemp("runtime")
    saved = os.environ.get("ENCORDFS_RUNTIME_DIR")
    os.environ["ENCORDFS_RUNTIME_DIR"] = str(path)
    try:
        yield path
    finally:
        if saved is None:
            os.environ.pop("ENCORDFS_RUNTIME_DIR", None)
        else:
            os.environ["ENCORDFS_RUNTIME_DIR"] = saved


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


def start_emulator(
    data_dir: Path, key_dir: Path, *args: str, register_key: bool = True, env: dict[str, str] | None = None
) -> RunningEmulator:
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
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("ENCORDFS_FAULT_")}
    child_env = {**inherited, "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath, **(env or {})}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "encordfs.cli", "emulator", "serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=child_env,
        )
    deadline = time.monotonic() + START_TIMEOUT
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if line.startswith("listening on "):
            url = line.split()[-1]
            break
        if (not line and process.poll() is not None) or time.monotonic() > deadline:
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

    def factory(
        *args: str, register_key: bool = True, env: dict[str, str] | None = None, data_dir: Path | None = None
    ) -> RunningEmulator:
        directory = tmp_path / f"emulator{len(started)}"
        directory.mkdir()
        running = start_emulator(data_dir or directory / "data", directory, *args, register_key=register_key, env=env)
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def make_keypair(tmp_path: Path) -> Callable[[str], tuple[Path, Path]]:
    """``make_keypair(name)``: a fresh OpenSSH ed25519 (private, public) pair of files in tmp_path."""
    return lambda name: write_keypair(tmp_path, name)


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


class SignedApi:
    """Raw, Ed25519-signed HTTP calls to an emulator's ``/v2/public/`` API (for wire-level tests).

    ``call(method, path, json=..., content=..., params=..., created=..., tamper=...)`` returns the
    ``httpx.Response``; ``tamper(headers)`` may change the signed headers before sending.
    """

    def __init__(self, base_url: str, key_path: Path) -> None:
        import httpx

        from encordfs.wire.signing import load_private_key

        self.base_url = base_url
        self.key = load_private_key(key_path.read_bytes())
        self.client = httpx.Client(base_url=base_url, timeout=30)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Any = None,
        created: int | None = None,
        tamper: Callable[[dict[str, str]], None] | None = None,
    ) -> Any:
        import json as jsonlib

        from encordfs.wire.signing import sign_headers

        body = content if content is not None else (jsonlib.dumps(json).encode() if json is not None else b"")
        request = self.client.build_request(
            method, "/v2/public/" + path.lstrip("/"), content=body, params=params,
            headers={"Content-Type": "application/json"} if body else {},
        )
        headers = sign_headers(method, request.url.raw_path.decode("ascii"), body, self.key, created=created)
        if tamper is not None:
            tamper(headers)
        request.headers.update(headers)
        return self.client.send(request)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """``call`` that must answer 200; returns the decoded JSON."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def create_folder(self, name: str, parent: str | None = None) -> str:
        body = {"name": name, **({"parent": parent} if parent else {})}
        return self.ok("POST", "storage/folders", json=body)["uuid"]

    def upload(self, folder: str, data: bytes, title: str, item_type: str = "plainText") -> str:
        """Upload one single-file item the way the SDK does (slot, PUT, job, poll); returns its UUID."""
        from encordfs.wire.enums import UPLOAD_FLOWS, StorageItemType

        key, external = UPLOAD_FLOWS[StorageItemType(item_type)]
        slot = self.ok("POST", f"storage/folders/{folder}/upload-signed-urls", json={"itemType": item_type, "count": 1})["results"][0]
        put = self.client.put(slot["signedUrl"], content=data)
        assert put.status_code == 200, put.text
        entry = {"objectUrl": slot["objectKey"], "title": title, "clientMetadata": {}, "externalFileType": external.value, "placeholderItemUuid": slot["itemUuid"]}
        job = self.ok("POST", f"storage/folders/{folder}/data-upload-jobs", json={"dataItems": {key: [entry]}, "ignoreErrors": False})
        state = self.ok("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", params={"timeoutSeconds": 10})
        assert state["status"] == "DONE", state
        return state["itemsWithNames"][0]["itemUuid"]

    def signed_url(self, item: str) -> str:
        return self.ok("GET", f"storage/items/{item}", params={"signUrl": "true"})["signedUrl"]

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="session")
def signed_api(emulator: RunningEmulator) -> Iterator[SignedApi]:
    """A :class:`SignedApi` for the session ``emulator`` with its admin key."""
    api = SignedApi(emulator.url, emulator.key_path)
    yield api
    api.close()


@pytest.fixture
def make_signed_api() -> Iterator[Callable[[RunningEmulator, Path | None], SignedApi]]:
    """``make_signed_api(emulator, key_path=None)``: a :class:`SignedApi` for any emulator and key."""
    made: list[SignedApi] = []

    def make(running: RunningEmulator, key_path: Path | None = None) -> SignedApi:
        made.append(SignedApi(running.url, key_path or running.key_path))
        return made[-1]

    yield make
    for api in made:
        api.close()
