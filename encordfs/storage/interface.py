"""The narrow storage interface the filesystem uses. It knows nothing of HTTP.

``encordfs.storage.client.StorageClient`` implements it against the Encord API (or the emulator);
the filesystem depends only on this Protocol, the models in ``encordfs.wire.models`` and the
exceptions in ``encordfs.storage.errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from encordfs.storage.models import FolderGroup, Integration, ItemSummary, OrgGroup, ReencodeState
from encordfs.storage.queries import ItemQuery
from encordfs.wire.enums import StorageItemType, StorageUserRole
from encordfs.wire.models import FolderSummary, Json, StorageFolder, StorageItem, UploadJobState


class Storage(Protocol):
    # --- folders -------------------------------------------------------------------------
    async def get_folder(self, folder: UUID) -> StorageFolder: ...

    def iter_folders(
        self, parent: UUID | None, *, search: str | None = None, page_size: int = 1000
    ) -> AsyncIterator[StorageFolder]:
        """Direct subfolders of ``parent`` (top-level folders when None), by name, page by page."""
        ...

    async def create_folder(
        self, name: str, parent: UUID | None, *, description: str | None = None, client_metadata: Any = None
    ) -> StorageFolder: ...

    async def update_folder(
        self, folder: UUID, *, name: str | None = None, description: str | None = None, client_metadata: Any = None
    ) -> StorageFolder: ...

    async def move_folders(self, folders: list[UUID], new_parent: UUID | None) -> None: ...

    async def delete_folder(self, folder: UUID) -> None: ...

    async def folder_summary(self, folder: UUID) -> FolderSummary: ...

    # --- items ---------------------------------------------------------------------------
    async def get_item(self, item: UUID, *, sign_url: bool = False) -> StorageItem: ...

    def iter_items(
        self, folder: UUID, *, search: str | None = None, page_size: int = 1000, sign_urls: bool = False
    ) -> AsyncIterator[StorageItem]:
        """Direct items of ``folder``, by name, page by page; stop early by leaving the loop.
        ``sign_urls``: the items' download URLs come along (a search always brings them)."""
        ...

    async def child_items(self, item: StorageItem, *, sign_urls: bool = False) -> list[StorageItem]:
        """Frames/files of an image group, image sequence or DICOM series."""
        ...

    async def update_item(
        self, item: StorageItem, *, name: str | None = None, client_metadata: Any = None
    ) -> StorageItem: ...

    async def move_items(
        self, source: UUID, items: list[UUID], destination: UUID, *, allow_synced_dataset_move: bool = False
    ) -> None: ...

    async def delete_items(self, folder: UUID, items: list[UUID], *, remove_unused_frames: bool = True) -> None: ...

    async def dataset_link_count(self, item: StorageItem) -> int:
        """How many datasets use the item (its summary's usedInDatasets)."""
        ...

    # --- data ----------------------------------------------------------------------------
    async def sign_ahead(self, item: UUID, neighbours: Iterable[UUID]) -> None:
        """Make sure ``item``'s download URL is at hand, fetching it with those of ``neighbours``
        (files likely read next) in one request when it is not."""
        ...

    async def read_range(self, item: StorageItem, offset: int, length: int) -> bytes:
        """Bytes [offset, offset+length) of the item's content (fewer at EOF); signed URLs are
        fetched, cached and refreshed on expiry inside."""
        ...

    async def content_length(self, item: StorageItem) -> int:
        """The content's size from a HEAD when the item's fileSize is unknown."""
        ...

    async def upload_file(
        self, folder: UUID, path: Path, title: str, item_type: StorageItemType, *, client_metadata: Any = None,
        content_type: str | None = None, on_slot: Callable[[UUID], Awaitable[None]] | None = None,
    ) -> StorageItem:
        """Upload one single-file item (image, video, audio, plain text, PDF, NIfTI) and return it
        once the upload job is DONE; raises UploadFailed (or another StorageError) otherwise.
        The PUT's Content-Type is ``content_type``, else guessed from ``title`` (never from ``path``).
        Concurrent calls may share API requests (slots, upload jobs). ``on_slot`` is awaited with
        the UUID of the item the upload will make before anything registers it (for a journal)."""
        ...

    async def find_upload(self, slot_item: UUID) -> StorageItem | None:
        """The item an upload given ``slot_item`` by ``on_slot`` made, or None if it made none
        (after a crash: adopt instead of uploading twice)."""
        ...

    async def prepare_upload(self, folder: UUID, item_type: StorageItemType) -> None:
        """A hint that a file of this type will be uploaded to the folder soon (a file was just
        created there): the client may reserve its upload slot now, while the file is written."""
        ...


class CommandStorage(Storage, Protocol):
    """The calls the control operations (``encordfs/control/ops/``: search, info, access,
    reencode, import, group create) make besides the filesystem's own; ``StorageClient`` has them."""

    def list_items(self, folder: UUID, query: ItemQuery) -> AsyncIterator[StorageItem]:
        """Items of ``folder`` with every SDK filter (``query.is_recursive`` for find_items)."""
        ...

    async def item_summary(self, item: StorageItem) -> ItemSummary: ...

    async def list_org_groups(self) -> list[OrgGroup]: ...

    async def list_groups(self, folder: UUID) -> list[FolderGroup]: ...

    async def add_groups(self, folder: UUID, groups: Iterable[UUID], role: StorageUserRole) -> None: ...

    async def remove_groups(self, folder: UUID, groups: Iterable[UUID]) -> None: ...

    async def reencode_videos(self, items: list[UUID], process_title: str, *, force_full_reencoding: bool = False) -> UUID: ...

    async def reencode_status(self, process: UUID) -> ReencodeState: ...

    async def get_items(self, items: Iterable[UUID], *, sign_urls: bool = False) -> list[StorageItem]: ...

    async def list_integrations(self, *, titles: Iterable[str] = (), uuids: Iterable[UUID] = ()) -> list[Integration]: ...

    async def add_private_data(
        self, folder: UUID, integration: UUID, *, items: dict[str, list[Json]] | None = None,
        external_files: Json | None = None, ignore_errors: bool = False, skip_duplicate_urls: bool = False,
        upsert_metadata: bool = False, file_name: str | None = None,
    ) -> UUID: ...

    async def upload_job_state(self, folder: UUID, job: UUID, *, timeout_seconds: int = ...) -> UploadJobState: ...

    async def upload_image_group(
        self, folder: UUID, paths: Sequence[Path], title: str | None = None, *, client_metadata: Any = None,
        sequence: bool = False,
    ) -> StorageItem: ...

    async def upload_dicom_series(
        self, folder: UUID, paths: Sequence[Path], title: str | None = None, *, client_metadata: Any = None
    ) -> StorageItem: ...
