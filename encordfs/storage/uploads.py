"""Uploads (a mixin of ``StorageClient``): reserve slots, PUT the files, register them in an
upload job, wait for it.

Never a duplicate: the job start is not blindly repeated. After an ambiguous failure (timeout,
dropped connection, 5xx) the client watches the slots' placeholder items; if they become real
items the job ran. Only if they do not within ``RetryPolicy.job_settle_time`` is the same body
(same placeholder item uuids, so the same items) submitted again.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import trio

from encordfs.storage.coalesce import Coalescer
from encordfs.storage.errors import Forbidden, InvalidArgument, NotFound, ServerError, StorageError, UploadFailed
from encordfs.storage.folders import AMBIGUOUS_FAILURES
from encordfs.storage.models import Integration, ItemSummary
from encordfs.storage.pages import results_of
from encordfs.storage.transport import Transport
from encordfs.storage.upload_payloads import (
    CACHE_CONTROL,
    FRAME_CONTENT_TYPE,
    content_type_for,
    data_items,
    dicom_series_entry,
    image_group_entry,
    single_file_entry,
    upload_job_body,
)
from encordfs.wire.enums import UPLOAD_FLOWS, StorageItemType, UploadJobStatus
from encordfs.wire.models import Json, StorageItem, UploadJobState, UploadSignedUrl

log = logging.getLogger(__name__)

JOB_POLL_SECONDS = 604800  # what the SDK sends; the server caps how long it holds a poll
POLL_READ_TIMEOUT = 190.0  # above any sane server hold time (the SDK's read timeout is 180 s)


MAX_BATCH = 100  # files per slot request and per upload job
SLOTS_AHEAD = 32  # spare slots fetched with a slot request while files keep coming
STREAMING_SECONDS = 2.0  # a slot asked for this soon after the last one: files keep coming
SPARE_SLOT_SECONDS = 60.0  # a spare slot older than this is dropped (its signed URL may expire)
JOB_GATHER_SECONDS = 0.02  # an upload job waits this long for more files to register with it
JOB_GATHER_MAX_SECONDS = 0.1  # ... and again while files keep joining, up to this long


IN_MEMORY_PUT_BYTES = 1 << 20  # a file up to this size is read at once and PUT from memory


def _small_file_bytes(path: Path) -> bytes | None:
    """A small file's bytes, read here: a streamed body costs a worker-thread hop per open, read
    and close, several times the read itself for a file the page cache holds (one just written).
    None for a bigger file (streamed from disk, never all in memory)."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > IN_MEMORY_PUT_BYTES:
            return None
        return handle.read()


async def _drain(response: httpx.Response) -> None:
    await response.aread()


@dataclass(frozen=True)
class _JobEntry:
    """One file to register: its DataUploadItems key, its entry, its slot's placeholder item."""

    key: str
    entry: Json
    placeholder: UUID


SlotKey = tuple[UUID, StorageItemType]


@dataclass
class _UploadBatches:
    slots: Coalescer[SlotKey, None, UploadSignedUrl]
    jobs: Coalescer[UUID, _JobEntry, StorageItem]
    spare: dict[SlotKey, list[tuple[float, UploadSignedUrl]]] = field(default_factory=dict)
    last_request: dict[SlotKey, float] = field(default_factory=dict)
    on_the_way: Counter[UUID] = field(default_factory=Counter)  # per folder: files begun, not yet at their job

    @contextmanager
    def begun(self, folder: UUID) -> Iterator[None]:
        """Count a file from the start of its upload until it asks for its job."""
        self.on_the_way[folder] += 1
        try:
            yield
        finally:
            self.on_the_way[folder] -= 1
            if not self.on_the_way[folder]:
                del self.on_the_way[folder]

    def take_spare(self, key: SlotKey) -> UploadSignedUrl | None:
        spare = self.spare.get(key, [])
        while spare:
            fetched, slot = spare.pop()
            if trio.current_time() - fetched < SPARE_SLOT_SECONDS:
                return slot
        self.spare.pop(key, None)
        return None

    def ahead(self, key: SlotKey) -> int:
        """How many spare slots to ask for with this request: some while files keep coming."""
        now, last = trio.current_time(), self.last_request.get(key)
        self.last_request[key] = now
        return SLOTS_AHEAD if last is not None and now - last < STREAMING_SECONDS else 0


class UploadApi:
    _transport: Transport
    get_item: Callable[..., Awaitable[StorageItem]]
    get_items: Callable[..., Awaitable[list[StorageItem]]]
    item_summary: Callable[[StorageItem], Awaitable[ItemSummary]]
    put_file: Callable[..., Awaitable[None]]

    # --- public upload flows -------------------------------------------------------------
    async def upload_file(
        self, folder: UUID, path: Path, title: str, item_type: StorageItemType, *, client_metadata: Any = None,
        content_type: str | None = None, on_slot: Callable[[UUID], Awaitable[None]] | None = None,
    ) -> StorageItem:
        """Upload one single-file item (image, video, audio, plain text, PDF, NIfTI) and return it
        once the upload job is DONE; raises UploadFailed (or another StorageError) otherwise.

        The PUT's Content-Type is ``content_type``, else the SDK's rule applied to ``title`` (never
        to ``path``, which may be a staged file without an extension). Concurrent calls share slot
        requests (one per folder and type at a time) and upload jobs (one per folder at a time),
        so N files in flight cost a few API round trips besides their PUTs. ``on_slot`` is awaited
        with the slot's item UUID (the item the upload will make) before the PUT and the job: a
        journal that records it can tell after a crash whether the upload happened (``find_upload``)."""
        if item_type not in UPLOAD_FLOWS:
            raise InvalidArgument(f"upload {title}: {item_type.value} is not a single-file type", operation="upload")
        key, _external = UPLOAD_FLOWS[item_type]
        mime = content_type or content_type_for(title, item_type)  # before any request: bad text types fail here
        batches = self._upload_batches
        with batches.begun(folder):
            slot = batches.take_spare((folder, item_type))
            if slot is None:
                slot = await batches.slots.submit((folder, item_type), None)
            slot = await self._put_into_slot(folder, item_type, path, mime, slot, on_slot)
        entry = single_file_entry(item_type, slot, title, client_metadata)
        return await batches.jobs.submit(folder, _JobEntry(key, entry, slot.item_uuid))

    async def prepare_upload(self, folder: UUID, item_type: StorageItemType) -> None:
        """A hint that a file of this type will be uploaded to the folder soon: reserve a spare
        slot now (unless one is spare already), so the upload starts with its PUT."""
        if item_type not in UPLOAD_FLOWS:
            return
        batches = self._upload_batches
        key = (folder, item_type)
        if any(trio.current_time() - fetched < SPARE_SLOT_SECONDS for fetched, _ in batches.spare.get(key, [])):
            return
        slot = await batches.slots.submit(key, None)
        batches.spare.setdefault(key, []).append((trio.current_time(), slot))

    async def upload_image_group(
        self, folder: UUID, paths: Sequence[Path], title: str | None = None, *, client_metadata: Any = None,
        sequence: bool = False,
    ) -> StorageItem:
        """An image group (or, with ``sequence``, an image sequence) from local images."""
        slots = await self._put_all(folder, StorageItemType.IMAGE, paths, FRAME_CONTENT_TYPE)
        entry = image_group_entry(slots, [p.name for p in paths], title, client_metadata, sequence)
        uuid = await self._register(folder, data_items({"imageGroups": [entry]}), [s.item_uuid for s in slots], composite=True)
        return await self.get_item(uuid)

    async def upload_image_sequence(
        self, folder: UUID, paths: Sequence[Path], title: str | None = None, *, client_metadata: Any = None
    ) -> StorageItem:
        return await self.upload_image_group(folder, paths, title, client_metadata=client_metadata, sequence=True)

    async def upload_dicom_series(
        self, folder: UUID, paths: Sequence[Path], title: str | None = None, *, client_metadata: Any = None
    ) -> StorageItem:
        slots = await self._put_all(folder, StorageItemType.DICOM_FILE, paths, "application/dicom")
        entry = dicom_series_entry(slots, [p.name for p in paths], title, client_metadata)
        uuid = await self._register(folder, data_items({"dicomSeries": [entry]}), [s.item_uuid for s in slots], composite=True)
        return await self.get_item(uuid)

    async def add_private_data(
        self,
        folder: UUID,
        integration: UUID,
        *,
        items: dict[str, list[Json]] | None = None,
        external_files: Json | None = None,
        ignore_errors: bool = False,
        skip_duplicate_urls: bool = False,
        upsert_metadata: bool = False,
        file_name: str | None = None,
    ) -> UUID:
        """Start importing cloud (private) data: ``items`` as DataUploadItems lists by wire key, or
        an ``external_files`` JSON spec. Returns the job uuid (see :meth:`wait_upload_job`).

        Retried after an ambiguous failure only with ``skip_duplicate_urls`` (then a repeat
        cannot create duplicates); otherwise the failure is raised for the caller to decide."""
        body = upload_job_body(
            items=None if items is None else data_items(items, skip_duplicate_urls=skip_duplicate_urls, upsert_metadata=upsert_metadata),
            external_files=external_files,
            integration_hash=str(integration),
            ignore_errors=ignore_errors,
            file_name=file_name,
        )
        idempotent = items is not None and skip_duplicate_urls
        job = await self._start_job(folder, body, idempotent=idempotent)
        assert isinstance(job, UUID)  # without placeholders to watch, the answer is the job
        return job

    async def list_integrations(self, *, titles: Iterable[str] = (), uuids: Iterable[UUID] = ()) -> list[Integration]:
        """Cloud integrations you can use (the SDK's ``get_cloud_integrations``), optionally only
        those with these exact titles or UUIDs."""
        params = [("filterIntegrationUuids", str(u)) for u in uuids] + [("filterIntegrationTitles", t) for t in titles]
        params.append(("includeOrgAccess", "False"))
        data = await self._transport.call("GET", "cloud-integrations", operation="list integrations", params=params)
        return [Integration.from_wire(i) for i in (data or {}).get("result") or ()]

    async def upload_job_state(self, folder: UUID, job: UUID, *, timeout_seconds: int = JOB_POLL_SECONDS) -> UploadJobState:
        """One long poll of an upload job (the server holds it until done or its own cap)."""
        data = await self._transport.call(
            "GET",
            f"storage/folders/{folder}/data-upload-jobs/{job}",
            operation="upload job status",
            params=[("timeoutSeconds", str(timeout_seconds))],
            read_timeout=POLL_READ_TIMEOUT,
        )
        return UploadJobState.from_wire(data)

    async def wait_upload_job(self, folder: UUID, job: UUID, *, timeout_seconds: int = JOB_POLL_SECONDS) -> UploadJobState:
        """Poll until the job is DONE, ERROR or CANCELLED (or ``timeout_seconds`` pass)."""
        state = await self.upload_job_state(folder, job, timeout_seconds=timeout_seconds)
        with trio.move_on_after(timeout_seconds):
            while not state.status.finished:
                state = await self.upload_job_state(folder, job, timeout_seconds=timeout_seconds)
        return state

    async def cancel_upload_job(self, folder: UUID, job: UUID) -> int:
        """Cancel a running upload job; returns how many units were cancelled."""
        data = await self._transport.call(
            "POST", f"storage/folders/{folder}/data-upload-jobs/{job}/cancel", operation="cancel upload job"
        )
        return int((data or {}).get("unitsCancelledCount", 0))

    # --- batches of single-file uploads ---------------------------------------------------
    @cached_property
    def _upload_batches(self) -> _UploadBatches:
        on_the_way: Counter[UUID] = Counter()  # a job gathers only while another file is on its way to one
        jobs = Coalescer(
            self._job_batch, MAX_BATCH, JOB_GATHER_SECONDS, company=lambda folder: on_the_way[folder] > 0,
            max_gather=JOB_GATHER_MAX_SECONDS,
        )
        return _UploadBatches(Coalescer(self._slot_batch, MAX_BATCH), jobs, on_the_way=on_the_way)

    async def _slot_batch(self, key: SlotKey, requests: list[None]) -> list[UploadSignedUrl | Exception]:
        """Slots for the waiting files, plus spare ones while files keep coming (a slot is only a
        reservation: one never used costs the server nothing but a row)."""
        folder, item_type = key
        batches = self._upload_batches
        slots = await self._slots(folder, item_type, len(requests) + batches.ahead(key))
        fetched = trio.current_time()
        batches.spare.setdefault(key, []).extend((fetched, slot) for slot in slots[len(requests):])
        return list(slots[: len(requests)])

    async def _job_batch(self, folder: UUID, entries: list[_JobEntry]) -> list[StorageItem | Exception]:
        """Register files in one upload job. A job with a failed unit registers nothing, so when a
        batch fails each file is registered alone: one bad file fails only itself."""
        try:
            return list(await self._register_files(folder, entries))
        except UploadFailed:
            if len(entries) == 1:
                raise
        log.info("an upload job of %d files failed; registering them one by one", len(entries))
        results: list[StorageItem | Exception] = [UploadFailed("not registered", operation="upload")] * len(entries)

        async def alone(index: int) -> None:
            try:
                results[index] = (await self._register_files(folder, [entries[index]]))[0]
            except StorageError as exc:
                results[index] = exc

        async with trio.open_nursery() as nursery:
            for index in range(len(entries)):
                nursery.start_soon(alone, index)
        return results

    async def _register_files(self, folder: UUID, entries: list[_JobEntry]) -> list[StorageItem]:
        """One job for the files; their items, in order (an item's UUID is its slot's placeholder)."""
        by_key: dict[str, list[Json]] = {}
        for entry in entries:
            by_key.setdefault(entry.key, []).append(entry.entry)
        placeholders = [e.placeholder for e in entries]
        uuids = await self._register_many(folder, data_items(by_key), placeholders)
        if len(uuids) == 1:  # exactly the SDK's requests for one file
            return [await self.get_item(uuids[0])]
        items = {i.uuid: i for i in await self.get_items(uuids)}
        missing = [u for u in uuids if u not in items]
        if missing:
            raise ServerError(f"upload: {len(missing)} registered item(s) cannot be fetched", operation="upload")
        return [items[u] for u in uuids]

    async def _register_many(self, folder: UUID, items: Json, placeholders: list[UUID]) -> list[UUID]:
        """Start the job for single-file entries and wait; the new items' uuids, in entry order."""
        job = await self._start_job(folder, upload_job_body(items=items), placeholders=placeholders, composite=False)
        if isinstance(job, list):
            return [i.uuid for i in job]
        state = await self.wait_upload_job(folder, job)
        if state.status is not UploadJobStatus.DONE:
            reasons = state.errors or tuple(e.error for e in state.unit_errors)
            raise UploadFailed(f"upload job {job} ended {state.status.value}: {'; '.join(reasons)}", operation="upload", errors=reasons)
        found = [uuid for uuid, _name in state.items_with_names]
        if set(placeholders) <= set(found):
            return placeholders
        if len(found) == len(placeholders):  # a server that mints new uuids: the job's order
            return found
        raise UploadFailed(f"upload job {job} registered {len(found)} of {len(placeholders)} files", operation="upload")

    # --- steps ---------------------------------------------------------------------------
    async def _slots(self, folder: UUID, item_type: StorageItemType, count: int) -> list[UploadSignedUrl]:
        page = await self._transport.call(
            "POST",
            f"storage/folders/{folder}/upload-signed-urls",
            operation="reserve upload",
            body={"itemType": item_type.value, "count": count},
        )
        slots = [UploadSignedUrl.from_wire(s) for s in results_of(page, "reserve upload")]
        if len(slots) != count:
            raise ServerError(f"reserve upload: asked for {count} upload URLs, got {len(slots)}", operation="reserve upload")
        return slots

    async def _put(self, slot: UploadSignedUrl, path: Path, mime: str) -> None:
        headers = {"Content-Type": mime, "Cache-Control": CACHE_CONTROL, **slot.upload_headers}
        content = _small_file_bytes(path)
        if content is None:
            await self.put_file(slot.signed_url, path, headers)
            return
        await self._transport.data_request(
            "PUT", slot.signed_url, operation=f"upload {path.name}", consume=_drain,
            headers={**headers, "Content-Length": str(len(content))}, content=lambda: content,
        )

    async def _put_into_slot(
        self, folder: UUID, item_type: StorageItemType, path: Path, mime: str, slot: UploadSignedUrl | None = None,
        on_slot: Callable[[UUID], Awaitable[None]] | None = None,
    ) -> UploadSignedUrl:
        """PUT into ``slot`` (a new one if None); an expired upload URL (403) gets one new slot."""
        slot = slot or (await self._slots(folder, item_type, 1))[0]
        if on_slot is not None:
            await on_slot(slot.item_uuid)
        try:
            await self._put(slot, path, mime)
        except Forbidden:
            log.info("upload URL for %s was refused; reserving a fresh one", path.name)
            slot = (await self._slots(folder, item_type, 1))[0]
            if on_slot is not None:
                await on_slot(slot.item_uuid)
            await self._put(slot, path, mime)
        return slot

    async def find_upload(self, slot_item: UUID) -> StorageItem | None:
        """The item an earlier upload into this slot made, if its job ran (waiting up to the
        settle time while the slot's item is still a placeholder); None if it never did."""
        try:
            items = await self.get_items([slot_item])
        except (Forbidden, NotFound):
            return None
        if not items:
            return None
        if not items[0].is_placeholder:
            return items[0]
        found = await self._settled_upload([slot_item], composite=False)  # its job may still be running
        return found[0] if found else None

    async def _put_all(self, folder: UUID, item_type: StorageItemType, paths: Sequence[Path], mime: str) -> list[UploadSignedUrl]:
        if not paths:
            raise InvalidArgument("upload: no files given", operation="upload")
        slots = await self._slots(folder, item_type, len(paths))
        return [await self._put_into_slot(folder, item_type, path, mime, slot) for path, slot in zip(paths, slots)]

    async def _register(self, folder: UUID, items: Json, placeholders: list[UUID], *, composite: bool) -> UUID:
        """Start the job for uploaded files and wait; returns the new (first) item's uuid."""
        body = upload_job_body(items=items)
        job = await self._start_job(folder, body, placeholders=placeholders, composite=composite)
        if isinstance(job, list):
            return job[0].uuid
        state = await self.wait_upload_job(folder, job)
        if state.status is not UploadJobStatus.DONE or not state.items_with_names:
            reasons = state.errors or tuple(e.error for e in state.unit_errors)
            raise UploadFailed(f"upload job {job} ended {state.status.value}: {'; '.join(reasons)}", operation="upload", errors=reasons)
        return state.items_with_names[0][0]

    async def _start_job(
        self, folder: UUID, body: Json, *, idempotent: bool = False, placeholders: list[UUID] | None = None,
        composite: bool = False,
    ) -> UUID | list[StorageItem]:
        """POST data-upload-jobs. Returns the job uuid, or (after an ambiguous failure whose job
        did run) the resulting items: the composite alone, or one per placeholder."""
        attempts = 0
        while True:
            attempts += 1
            try:
                job = await self._transport.call(
                    "POST", f"storage/folders/{folder}/data-upload-jobs", operation="start upload job", body=body,
                    idempotent=idempotent,
                )
                return UUID(str(job))
            except AMBIGUOUS_FAILURES as exc:
                if not placeholders or attempts >= self._transport.retry.max_attempts:
                    raise
                log.warning("%s; checking whether the job ran before submitting it again", exc)
            done = await self._settled_upload(placeholders, composite)
            if done is not None:
                return done

    async def _settled_upload(self, placeholders: list[UUID], composite: bool) -> list[StorageItem] | None:
        """Wait up to the settle time for the placeholders to become real items; the result items."""
        with trio.move_on_after(self._transport.retry.job_settle_time):
            while True:
                items = await self._real_items(placeholders)
                if items:
                    if not composite:
                        return items
                    result = await self._composite_of(items[0])
                    if result is not None:
                        return [result]
                await trio.sleep(self._transport.retry.job_settle_poll)
        return None

    async def _real_items(self, uuids: list[UUID]) -> list[StorageItem] | None:
        try:
            items = await self.get_items(uuids)
        except Forbidden:  # not (yet) visible
            return None
        if len(items) != len(uuids) or any(i.is_placeholder for i in items):
            return None
        return items

    async def _composite_of(self, frame: StorageItem) -> StorageItem | None:
        """The group/series a just-registered frame belongs to (the job's first item)."""
        summary = await self.item_summary(frame)
        for group in summary.accessible_group_items:
            if group.item_type.is_composite:
                return await self.get_item(group.uuid)
        return None
