"""Where an item's bytes live: Encord's own storage, or the customer's bucket (private data).

A private-data item was registered from a cloud integration (S3, GCP, Azure, ...): Encord keeps
only its URL. encordfs cannot write into that bucket, so a write to such an item could only
upload an Encord-hosted copy under the same title and delete the original item, which changes
where the data lives; it is refused unless the mount allows it (``--allow-private-data-copy``).
"""

from __future__ import annotations

import errno
import logging

from encordfs.fs.errors import FsError
from encordfs.wire.enums import StorageLocationName
from encordfs.wire.models import StorageItem

log = logging.getLogger(__name__)

ENCORD = "ENCORD"


def is_private_data(item: StorageItem) -> bool:
    """True when the item's bytes live in the customer's bucket, not in Encord storage."""
    return item.storage_location is not StorageLocationName.ENCORD


def describe(item: StorageItem) -> str:
    """``ENCORD``, or the provider and the object URL (``S3 s3://bucket/a.jpg``)."""
    if not is_private_data(item):
        return ENCORD
    provider = item.storage_location.name
    return f"{provider} {item.url}" if item.url else provider


def refuse_private_write(item: StorageItem, allow_copy: bool) -> None:
    """For the write path, before anything changes: EROFS (logged) for a private-data item unless
    ``allow_copy`` (the mount's ``allow_private_data_copy``)."""
    if allow_copy or not is_private_data(item):
        return
    log.warning(
        "refusing to write %r: it is private data (%s); encordfs cannot write into the customer's bucket "
        "(mount with --allow-private-data-copy to replace it with an Encord-hosted copy)",
        item.name,
        describe(item),
    )
    raise FsError(errno.EROFS, f"{item.name!r} is private data ({describe(item)})", quiet=True)
