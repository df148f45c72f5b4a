"""Turn an upload job's ``dataItems`` into item rows: find each unit's bytes, probe them, build the rows.

Planning reads files and decodes media, so it runs without the database lock; the job runner then
inserts the planned rows in one transaction. A *unit* is one top-level item (a single file, or a
whole image group / sequence / DICOM series); a unit fails as a whole.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from encordfs.wire.enums import UPLOAD_FLOWS, StorageItemType, StorageLocationName
from encordfs.wire.models import UnitError

from .media import MediaInfo, UnsupportedMedia, probe
from .store import Row, Store
from .views import media_dict

log = logging.getLogger(__name__)

SINGLE_FILE_KEYS = {key: item_type for item_type, (key, _) in UPLOAD_FLOWS.items()}
UNSUPPORTED_KEYS = {"timeSeries": "time series", "scenes": "scenes", "imageGroupsFromItems": "image groups from items"}


class UnitFailed(Exception):
    """One unit cannot be registered; the message says why."""


class MalformedJob(ValueError):
    """The job request itself is malformed (answered 400 before a job exists)."""


@dataclass
class Plan:
    rows: list[Row] = field(default_factory=list)
    top_level: list[tuple[str, str]] = field(default_factory=list)  # (uuid, name), in request order
    metadata_updates: list[tuple[str, str]] = field(default_factory=list)  # (uuid, client_metadata)
    unit_errors: list[UnitError] = field(default_factory=list)
    units_done: int = 0


@dataclass(frozen=True)
class JobSource:
    """Where units' bytes come from: upload slots (``integration_dir`` None) or an integration directory."""

    folder: str
    owner: str
    integration_hash: str | None = None
    integration_dir: Path | None = None


def validate_items(items: Any) -> dict[str, list[dict[str, Any]]]:
    """Check the shape of ``dataItems`` / ``externalFiles``: known keys, each a list of objects."""
    if not isinstance(items, dict):
        raise MalformedJob("dataItems must be an object")
    lists: dict[str, list[dict[str, Any]]] = {}
    for key, value in items.items():
        if key in ("skipDuplicateUrls", "upsertMetadata"):
            continue
        if key not in SINGLE_FILE_KEYS and key not in UNSUPPORTED_KEYS and key not in ("imageGroups", "dicomSeries"):
            raise MalformedJob(f"unknown dataItems key {key!r}")
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise MalformedJob(f"dataItems.{key} must be a list of objects")
        lists[key] = value
    return lists


class Planner:
    def __init__(self, store: Store, source: JobSource, skip_duplicates: bool, upsert_metadata: bool) -> None:
        self.store = store
        self.source = source
        self.skip_duplicates = skip_duplicates
        self.upsert_metadata = upsert_metadata
        self.plan = Plan()
        self.now = time.time()
        self._claimed: set[str] = set()

    def run(self, lists: dict[str, list[dict[str, Any]]]) -> Plan:
        for key, entries in lists.items():
            for entry in entries:
                self._unit(key, entry)
        return self.plan

    def _unit(self, key: str, entry: dict[str, Any]) -> None:
        try:
            if key in SINGLE_FILE_KEYS:
                self._single(SINGLE_FILE_KEYS[key], entry)
            elif key == "imageGroups":
                self._composite(entry, "images", StorageItemType.IMAGE, self._group_type(entry))
            elif key == "dicomSeries":
                self._composite(entry, "dicomFiles", StorageItemType.DICOM_FILE, StorageItemType.DICOM_SERIES)
            else:
                raise UnitFailed(f"{UNSUPPORTED_KEYS[key]} are not supported by the emulator")
        except UnitFailed as exc:
            urls = _entry_urls(entry)
            log.info("upload unit failed (%s): %s", key, exc)
            self.plan.unit_errors.append(
                UnitError(object_urls=urls, error=str(exc), subtask_uuid=uuidlib.uuid4(), action_description=f"register {key}")
            )
        else:
            self.plan.units_done += 1

    @staticmethod
    def _group_type(entry: dict[str, Any]) -> StorageItemType:
        return StorageItemType.IMAGE_SEQUENCE if entry.get("createVideo") else StorageItemType.IMAGE_GROUP

    def _single(self, item_type: StorageItemType, entry: dict[str, Any]) -> None:
        url = _url(entry, "objectUrl")
        if self.skip_duplicates and (existing := self.store.items_with_url(self.source.folder, url)):
            if self.upsert_metadata and isinstance(entry.get("clientMetadata"), dict):
                self.plan.metadata_updates.append((existing[0]["uuid"], json.dumps(entry["clientMetadata"])))
            self.plan.top_level.append((existing[0]["uuid"], existing[0]["name"]))
            return
        row = self._file_row(item_type, entry, url)
        row["client_metadata"] = _metadata(entry)
        self.plan.rows.append(row)
        self.plan.top_level.append((row["uuid"], row["name"]))

    def _composite(
        self, entry: dict[str, Any], files_key: str, frame_type: StorageItemType, item_type: StorageItemType
    ) -> None:
        frames = entry.get(files_key)
        if not isinstance(frames, list) or not frames or not all(isinstance(f, dict) for f in frames):
            raise UnitFailed(f"{files_key} must be a non-empty list of objects")
        composite = str(uuidlib.uuid4())
        children = []
        for index, frame in enumerate(frames):
            child = self._file_row(frame_type, frame, _url(frame, "url"))
            child.update(composite=composite, child_index=index)
            children.append(child)
        first = children[0]["media"]
        media = {
            "file_size": sum(c["media"]["file_size"] for c in children),
            "width": first.get("width"),
            "height": first.get("height"),
            "frame_count": len(children),
            "dicom_study_uid": first.get("dicom_study_uid"),
            "dicom_series_uid": first.get("dicom_series_uid"),
        }
        title = entry.get("title")
        name = title if isinstance(title, str) and title else f"{item_type.value}-{composite[:8]}"
        row = self._row(composite, item_type, name, media)
        row["client_metadata"] = _metadata(entry)
        self.plan.rows.append(row)
        self.plan.rows.extend(children)
        self.plan.top_level.append((composite, name))

    def _file_row(self, item_type: StorageItemType, entry: dict[str, Any], url: str) -> Row:
        placeholder = entry.get("placeholderItemUuid")
        if self.source.integration_dir is None:
            uuid, path, blob_path = self._slot_file(item_type, placeholder)
            location = StorageLocationName.ENCORD
        else:
            uuid = self._claim(_placeholder_uuid(placeholder)) if placeholder else str(uuidlib.uuid4())
            path = resolve_in_integration(self.source.integration_dir, url)
            blob_path = str(path)
            location = location_of_url(url)
        try:
            info = probe(path, item_type)
        except UnsupportedMedia as exc:
            raise UnitFailed(f"{_name(entry, url)}: {exc}") from None
        media = _media(info, path)
        row = self._row(uuid, item_type, _name(entry, url), media)
        row.update(url=url, blob_path=blob_path, storage_location=location.value, integration_hash=self.source.integration_hash)
        return row

    def _slot_file(self, item_type: StorageItemType, placeholder: Any) -> tuple[str, Path, str]:
        if not placeholder:
            raise UnitFailed("placeholderItemUuid is required for uploads to Encord storage")
        uuid = _placeholder_uuid(placeholder)
        slot = self.store.one("SELECT * FROM slots WHERE uuid=?", (uuid,))
        if slot is None:
            raise UnitFailed(f"no upload slot {uuid} (unknown, or already registered)")
        if slot["folder"] != self.source.folder:
            raise UnitFailed(f"upload slot {uuid} belongs to another folder")
        if slot["item_type"] != item_type.value:
            raise UnitFailed(f"upload slot {uuid} was reserved for {slot['item_type']}, not {item_type.value}")
        path = self.store.blob_dir / uuid
        if not path.is_file():
            raise UnitFailed(f"nothing was uploaded to slot {uuid}")
        return self._claim(uuid), path, f"blobs/{uuid}"

    def _claim(self, uuid: str) -> str:
        """Reserve a placeholder UUID for this plan; it must not name an item or be used twice."""
        if uuid in self._claimed or self.store.item(uuid) is not None:
            raise UnitFailed(f"placeholderItemUuid {uuid} is already used")
        self._claimed.add(uuid)
        return uuid

    def _row(self, uuid: str, item_type: StorageItemType, name: str, media: dict[str, Any]) -> Row:
        return {
            "uuid": uuid,
            "folder": self.source.folder,
            "item_type": item_type.value,
            "name": name,
            "client_metadata": "{}",
            "owner": self.source.owner,
            "created_at": self.now,
            "last_edited_at": self.now,
            "media": media,
        }


def commit_plan(store: Store, db: sqlite3.Connection, plan: Plan) -> None:
    """Insert a plan's rows inside the caller's transaction and retire the upload slots they used."""
    for row in plan.rows:
        store.insert_item(db, row)
    db.executemany("DELETE FROM slots WHERE uuid=?", [(r["uuid"],) for r in plan.rows])
    db.executemany("UPDATE items SET client_metadata=? WHERE uuid=?", [(m, u) for u, m in plan.metadata_updates])


_SCHEME_LOCATIONS = {"s3": StorageLocationName.S3, "gs": StorageLocationName.GCP, "az": StorageLocationName.AZURE}


def location_of_url(url: str) -> StorageLocationName:
    """The cloud an object URL names, as Encord reports it: ``s3://`` S3, ``gs://`` GCP, an Azure
    blob URL (``https://<account>.blob.core.windows.net/...``) Azure, anything else S3-compatible."""
    scheme, _, rest = url.partition("://")
    if scheme in _SCHEME_LOCATIONS:
        return _SCHEME_LOCATIONS[scheme]
    if scheme == "https" and rest.split("/", 1)[0].endswith(".blob.core.windows.net"):
        return StorageLocationName.AZURE
    return StorageLocationName.S3_COMPATIBLE


def resolve_in_integration(root: Path, url: str) -> Path:
    """``scheme://bucket/a/b.jpg`` or ``a/b.jpg`` -> ``root/a/b.jpg``, never outside ``root``."""
    key = url.split("://", 1)[1].split("/", 1)[1] if "://" in url and "/" in url.split("://", 1)[1] else url
    relative = PurePosixPath(key.lstrip("/"))
    if ".." in relative.parts or not relative.parts:
        raise UnitFailed(f"{url}: not a valid object key")
    path = root.joinpath(*relative.parts)
    if not path.is_file():
        raise UnitFailed(f"{url}: no such object in the integration's bucket")
    return path


def _media(info: MediaInfo, path: Path) -> dict[str, Any]:
    return {**media_dict(info), "file_size": path.stat().st_size}


def _placeholder_uuid(value: Any) -> str:
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        raise UnitFailed(f"placeholderItemUuid {value!r} is not a UUID") from None


def _url(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key) or entry.get("objectUrl") or entry.get("url")
    if not isinstance(value, str) or not value:
        raise UnitFailed(f"{key} is required")
    return value


def _name(entry: dict[str, Any], url: str) -> str:
    title = entry.get("title")
    return title if isinstance(title, str) and title else PurePosixPath(url).name or url


def _metadata(entry: dict[str, Any]) -> str:
    value = entry.get("clientMetadata")
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise UnitFailed("clientMetadata must be a JSON object")
    return json.dumps(value)


def _entry_urls(entry: dict[str, Any]) -> tuple[str, ...]:
    urls = [entry.get("objectUrl") or entry.get("url")]
    for key in ("images", "dicomFiles"):
        if isinstance(entry.get(key), list):
            urls.extend(f.get("url") for f in entry[key] if isinstance(f, dict))
    return tuple(u for u in urls if isinstance(u, str))
