"""StorageClient implements the filesystem's narrow ``Storage`` Protocol exactly."""

from __future__ import annotations

import inspect

import pytest

from encordfs.storage.client import StorageClient
from encordfs.storage.interface import Storage

PROTOCOL_METHODS = sorted(name for name, value in vars(Storage).items() if callable(value) and not name.startswith("_"))


def test_protocol_is_not_empty():
    assert {"read_range", "upload_file", "iter_items", "create_folder"} <= set(PROTOCOL_METHODS)


@pytest.mark.parametrize("name", PROTOCOL_METHODS)
def test_client_method_matches_the_protocol(name):
    ours, theirs = getattr(StorageClient, name), getattr(Storage, name)
    assert inspect.signature(ours) == inspect.signature(theirs)
    assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs)
