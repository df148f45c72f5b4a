from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import UUID

import pytest

from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient
from encordfs.storage.retry import RetryPolicy

from .emulator_process import EmulatorProcess, start_emulator

INTEGRATION = UUID("7a000000-0000-4000-8000-000000000001")

# Small delays so fault-injection runs stay fast; many attempts, because with up to 55% of requests
# failing, 12 attempts would run out about once in 1300 calls (0.55**12), 30 never in practice.
TEST_RETRY = RetryPolicy(max_attempts=30, base_delay=0.01, max_delay=0.2, max_total=30.0, job_settle_time=0.5, job_settle_poll=0.05)


@pytest.fixture(scope="session")
def storage_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    from encordfs.emulator import mediagen

    workdir = tmp_path_factory.mktemp("storage-emulator")
    mediagen.png(workdir / "bucket" / "cams" / "a.png", seed=3)
    emulator = start_emulator(workdir, "--integration", f"{INTEGRATION}={workdir / 'bucket'}")
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
async def client(storage_emulator: EmulatorProcess) -> AsyncIterator[StorageClient]:
    storage_emulator.clear_faults()
    credentials = load_credentials(ssh_key_file=storage_emulator.key_path)
    async with StorageClient(credentials, storage_emulator.url, retry=TEST_RETRY, timeout=10.0) as c:
        yield c
    storage_emulator.clear_faults()
