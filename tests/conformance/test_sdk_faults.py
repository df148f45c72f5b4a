"""The SDK's own retries ride over the emulator's injected 503s and 429s (fast backoff for speed)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from encord.exceptions import RateLimitExceededError, UnknownException
from encord.http.constants import RequestsSettings
from encord.user_client import EncordUserClient

FAST = RequestsSettings(max_retries=6, backoff_factor=0.01, connect_timeout=5, read_timeout=10)


def fast_client(emulator: Any) -> Any:
    return EncordUserClient.create_with_ssh_private_key(
        ssh_private_key=emulator.key_path.read_text(), domain=emulator.url, requests_settings=FAST
    )


def test_reads_survive_injected_server_errors(emulator: Any, sdk_user: Any) -> None:
    name = f"flaky-{uuid.uuid4().hex[:8]}"
    folder = sdk_user.create_storage_folder(name)
    for n in range(3):
        folder.create_subfolder(f"s{n}")
    client = fast_client(emulator)
    with emulator.faults(error_rate=0.4, seed=11, scope="api"):
        for _ in range(5):
            assert [f.name for f in client.get_storage_folder(folder.uuid).list_subfolders()] == ["s0", "s1", "s2"]


def test_persistent_errors_surface(emulator: Any) -> None:
    client = fast_client(emulator)
    with emulator.faults(error_rate=1.0, seed=1, scope="api"), pytest.raises(UnknownException, match="injected server error"):
        client.get_storage_folder(uuid.uuid4())
    with emulator.faults(rate_429=1.0, retry_after=0, scope="api"), pytest.raises(RateLimitExceededError):
        client.get_storage_folder(uuid.uuid4())
