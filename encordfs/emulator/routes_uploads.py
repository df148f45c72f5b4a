"""Uploads: reserve signed PUT URLs, start / long-poll / cancel data-upload jobs (local and integration)."""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from typing import Any

from anyio import to_thread
from starlette.routing import Route

from encordfs.wire.enums import StorageItemType, UploadJobStatus
from encordfs.wire.models import UploadSignedUrl

from .api_errors import BadRequest, Forbidden
from .context import Ctx, api
from .external_files import as_data_items
from .ingest import JobSource, MalformedJob, validate_items
from .jobs import advance, cancel, create_job, reported_state
from .pages import single_page
from .params import parse_bool, parse_enum, parse_uuid, required
from .routes_folders import PREFIX, existing_folder
from .signed_urls import BlobOp
from .store import Row

UPLOADABLE = frozenset(
    {
        StorageItemType.IMAGE,
        StorageItemType.VIDEO,
        StorageItemType.AUDIO,
        StorageItemType.PLAIN_TEXT,
        StorageItemType.PDF,
        StorageItemType.NIFTI,
        StorageItemType.DICOM_FILE,
    }
)
MAX_SLOTS = 1000
POLL_INTERVAL = 0.05


async def upload_signed_urls(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    data = ctx.json()
    item_type = parse_enum("itemType", required(data, "itemType"), StorageItemType)
    if item_type not in UPLOADABLE:
        raise BadRequest(f"itemType {item_type.value} cannot be uploaded to the emulator")
    count = required(data, "count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_SLOTS:
        raise BadRequest(f"count must be an integer between 1 and {MAX_SLOTS}")
    base = ctx.renderer().base_url
    results = [
        UploadSignedUrl(
            item_uuid=uuidlib.UUID(uuid), object_key=key, signed_url=ctx.emulator.signer.url(base, uuid, BlobOp.PUT)
        ).to_wire()
        for uuid, key in ctx.store.add_slots(folder, item_type.value, count)
    ]
    return single_page(results)


async def start_job(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    data = ctx.json()
    ignore_errors = parse_bool("ignoreErrors", data.get("ignoreErrors", False))
    integration = parse_uuid("integrationHash", data["integrationHash"]) if data.get("integrationHash") is not None else None
    items = data.get("dataItems") if data.get("dataItems") is not None else data.get("externalFiles")
    if items is None:
        raise BadRequest("one of dataItems or externalFiles is required")
    if data.get("dataItems") is None:
        if integration is None:
            raise BadRequest("externalFiles needs an integrationHash")
        try:
            items = as_data_items(items)
        except MalformedJob as exc:
            raise BadRequest(str(exc)) from None
    integration_dir = None
    if integration is not None:
        integration_dir = ctx.emulator.settings.integrations.get(integration)
        if integration_dir is None:
            raise BadRequest(f"unknown integration {integration}: the emulator serves no bucket for it")
    try:
        lists = validate_items(items)
    except MalformedJob as exc:
        raise BadRequest(str(exc)) from None
    options = {
        "ignoreErrors": ignore_errors,
        "skipDuplicateUrls": parse_bool("skipDuplicateUrls", items.get("skipDuplicateUrls", False)),
        "upsertMetadata": parse_bool("upsertMetadata", items.get("upsertMetadata", False)),
        "fileName": data.get("fileName") if isinstance(data.get("fileName"), str) else None,
    }
    source = JobSource(folder, ctx.principal.owner, integration, integration_dir)
    settings = ctx.emulator.settings
    job = create_job(ctx.store, source, lists, options, settings.job_delay_seconds, settings.job_unit_seconds)
    row = _job(ctx, folder, job)
    await to_thread.run_sync(advance, ctx.store, row)
    return job


def _job(ctx: Ctx, folder: str, job: str) -> Row:
    row = ctx.store.one("SELECT * FROM jobs WHERE uuid=? AND folder=?", (job, folder))
    if row is None:
        raise Forbidden(f"upload job {job} does not exist in folder {folder}")
    return row


async def poll_job(ctx: Ctx) -> Any:
    """Long-poll: hold until the job finishes or min(timeoutSeconds, the emulator's cap) passes."""
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    job = ctx.path_uuid("job")
    timeout = ctx.query.int("timeoutSeconds", 60)
    if timeout < 0:
        raise BadRequest("timeoutSeconds must not be negative")
    deadline = time.monotonic() + min(timeout, ctx.emulator.settings.max_poll_seconds)
    row = await to_thread.run_sync(advance, ctx.store, _job(ctx, folder, job))
    while row["status"] == UploadJobStatus.PENDING.value and time.monotonic() < deadline:
        await asyncio.sleep(POLL_INTERVAL)
        row = await to_thread.run_sync(advance, ctx.store, _job(ctx, folder, job))
    return reported_state(row)


async def cancel_job(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    row = _job(ctx, folder, ctx.path_uuid("job"))
    return {"unitsCancelledCount": cancel(ctx.store, row)}


routes = [
    Route(f"{PREFIX}/folders/{{folder}}/upload-signed-urls", api(upload_signed_urls), methods=["POST"]),
    Route(f"{PREFIX}/folders/{{folder}}/data-upload-jobs", api(start_job), methods=["POST"]),
    Route(f"{PREFIX}/folders/{{folder}}/data-upload-jobs/{{job}}", api(poll_job), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}/data-upload-jobs/{{job}}/cancel", api(cancel_job), methods=["POST"]),
]
