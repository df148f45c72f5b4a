"""Upload jobs: created PENDING, processed once ready (immediately unless ``--job-delay`` or
``--job-unit-seconds`` is set), cancellable.

With ``--job-unit-seconds S`` a job of N units takes N * S seconds after its delay, and a poll of
the PENDING job reports the units done so far (``reported_state``), as a real job's progress
would; its rows are still registered all at once, when it ends.

Processing plans the rows outside the lock (media probing is slow), then in one transaction flips
the job from PENDING to its final state and inserts the rows, so a job that was cancelled meanwhile,
or processed by a concurrent poll, registers nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

from encordfs.wire.enums import UploadJobStatus
from encordfs.wire.models import UploadJobState

from .ingest import JobSource, Planner, commit_plan
from .store import Row, Store

log = logging.getLogger(__name__)


def unit_count(lists: dict[str, list[Any]]) -> int:
    return sum(len(v) for v in lists.values())


def create_job(
    store: Store, source: JobSource, lists: dict[str, list[Any]], options: dict[str, Any], delay: float,
    unit_seconds: float = 0.0,
) -> str:
    job = str(uuidlib.uuid4())
    now = time.time()
    request = {
        "startsAt": now + delay,
        "unitSeconds": unit_seconds,
        "lists": lists,
        "integrationHash": source.integration_hash,
        "integrationDir": str(source.integration_dir) if source.integration_dir else None,
        **options,
    }
    state = UploadJobState(status=UploadJobStatus.PENDING, units_pending_count=unit_count(lists), file_name=options.get("fileName"))
    ready_at = now + delay + unit_seconds * unit_count(lists)
    with store.tx() as db:
        db.execute(
            "INSERT INTO jobs (uuid, folder, owner, status, state, request, ready_at, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (job, source.folder, source.owner, state.status.value, json.dumps(state.to_wire()), json.dumps(request), ready_at, now),
        )
    return job


def reported_state(job: Row) -> dict[str, Any]:
    """The job's state as a poll answers it: a PENDING job with ``--job-unit-seconds`` shows the
    units its elapsed time has done."""
    state = json.loads(job["state"])
    if job["status"] != UploadJobStatus.PENDING.value:
        return state
    request = json.loads(job["request"])
    per_unit = request.get("unitSeconds") or 0.0
    if per_unit <= 0:
        return state
    units = state.get("unitsPendingCount", 0)
    done = max(0, min(units - 1, int((time.time() - request.get("startsAt", 0.0)) / per_unit)))
    return {**state, "unitsDoneCount": done, "unitsPendingCount": units - done}


def advance(store: Store, job: Row) -> Row:
    """Process a PENDING job whose time has come; returns the job's current row."""
    if job["status"] != UploadJobStatus.PENDING.value or time.time() < job["ready_at"]:
        return job
    request = json.loads(job["request"])
    source = JobSource(
        folder=job["folder"],
        owner=job["owner"],
        integration_hash=request["integrationHash"],
        integration_dir=Path(request["integrationDir"]) if request["integrationDir"] else None,
    )
    plan = Planner(store, source, bool(request.get("skipDuplicateUrls")), bool(request.get("upsertMetadata"))).run(request["lists"])
    failed = bool(plan.unit_errors) and not request.get("ignoreErrors")
    errors = tuple(e.error for e in plan.unit_errors)
    state = UploadJobState(
        status=UploadJobStatus.ERROR if failed else UploadJobStatus.DONE,
        items_with_names=() if failed else tuple((uuidlib.UUID(u), n) for u, n in plan.top_level),
        errors=errors,
        units_done_count=0 if failed else plan.units_done,
        units_error_count=len(plan.unit_errors),
        unit_errors=tuple(plan.unit_errors),
        file_name=request.get("fileName"),
    )
    try:
        with store.tx() as db:
            updated = db.execute(
                "UPDATE jobs SET status=?, state=? WHERE uuid=? AND status=?",
                (state.status.value, json.dumps(state.to_wire()), job["uuid"], UploadJobStatus.PENDING.value),
            ).rowcount
            if updated and not failed:
                commit_plan(store, db, plan)
    except sqlite3.IntegrityError:
        log.info("job %s raced another job for the same upload slot; planning it again", job["uuid"])
    return store.one("SELECT * FROM jobs WHERE uuid=?", (job["uuid"],)) or job


def cancel(store: Store, job: Row) -> int:
    """Cancel a PENDING job; returns how many units were cancelled (0 if it had already finished)."""
    pending = json.loads(job["state"]).get("unitsPendingCount", 0)
    state = UploadJobState(status=UploadJobStatus.CANCELLED, units_cancelled_count=pending)
    with store.tx() as db:
        updated = db.execute(
            "UPDATE jobs SET status=?, state=? WHERE uuid=? AND status=?",
            (state.status.value, json.dumps(state.to_wire()), job["uuid"], UploadJobStatus.PENDING.value),
        ).rowcount
    return pending if updated else 0
