"""Query strings for the list/find endpoints, built exactly as the SDK builds them.

The SDK drops None values, writes booleans as ``True``/``False``, repeats the key for lists and
puts the keys in a fixed order; the conformance test compares our requests with the SDK's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from encordfs.wire.enums import SortBy, StorageItemType

MAX_PAGE_SIZE = 1000
Params = list[tuple[str, str]]


def wire_bool(value: bool) -> str:
    return "True" if value else "False"


def check_page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    return page_size


def _add(params: Params, key: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        params.append((key, wire_bool(value)))
    elif isinstance(value, (SortBy, StorageItemType)):
        params.append((key, value.value))
    else:
        params.append((key, str(value)))


def _add_all(params: Params, key: str, values: Iterable[object]) -> None:
    for value in values:
        _add(params, key, value)


@dataclass(frozen=True)
class FolderQuery:
    """``ListFoldersParams`` of the SDK."""

    search: str | None = None
    is_recursive: bool = False
    dataset_synced: bool | None = None
    include_org_access: bool | None = None
    organisation_tag_names_allof: tuple[str, ...] = ()
    order: SortBy = SortBy.NAME
    desc: bool = False
    page_size: int = 100

    def params(self, page_token: str | None = None) -> Params:
        params: Params = []
        _add(params, "search", self.search)
        _add(params, "isRecursive", self.is_recursive)
        _add(params, "datasetSynced", self.dataset_synced)
        _add(params, "includeOrgAccess", self.include_org_access)
        _add_all(params, "organisationTagNamesAllof", self.organisation_tag_names_allof)
        _add(params, "order", self.order)
        _add(params, "desc", self.desc)
        _add(params, "pageToken", page_token)
        _add(params, "pageSize", check_page_size(self.page_size))
        return params


@dataclass(frozen=True)
class ItemQuery:
    """``ListItemsParams`` of the SDK; ``include_client_metadata`` and
    ``client_metadata_as_signed_url`` are sent only when set (list_items sets them, find_items not)."""

    search: str | None = None
    is_recursive: bool = False
    is_in_dataset: bool | None = None
    item_types: tuple[StorageItemType, ...] = ()
    include_org_access: bool | None = None
    order: SortBy = SortBy.NAME
    desc: bool = False
    page_size: int = 100
    sign_urls: bool = False
    include_client_metadata: bool | None = None
    client_metadata_as_signed_url: bool | None = None

    def params(self, page_token: str | None = None) -> Params:
        params: Params = []
        _add(params, "search", self.search)
        _add(params, "isRecursive", self.is_recursive)
        _add(params, "isInDataset", self.is_in_dataset)
        _add_all(params, "itemTypes", self.item_types)
        _add(params, "includeOrgAccess", self.include_org_access)
        _add(params, "order", self.order)
        _add(params, "desc", self.desc)
        _add(params, "pageToken", page_token)
        _add(params, "pageSize", check_page_size(self.page_size))
        _add(params, "signUrls", self.sign_urls)
        _add(params, "includeClientMetadata", self.include_client_metadata)
        _add(params, "clientMetadataAsSignedUrl", self.client_metadata_as_signed_url)
        return params
