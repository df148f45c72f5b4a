"""``/v2/public/user/current-organisation/groups`` and ``/v2/public/organisation/groups``: the
organisation's user groups (the SDK's ``list_groups``, ``create_group``, ``get_group``), which
folders can be shared with."""

from __future__ import annotations

import time
import uuid as uuidlib
from typing import Any

from starlette.routing import Route

from .api_errors import Forbidden
from .context import Ctx, api
from .pages import single_page
from .params import required, string
from .store import Row
from .views import timestamp


def group_wire(row: Row) -> dict[str, Any]:
    return {
        "groupHash": row["group_hash"],
        "name": row["name"],
        "description": row["description"],
        "createdAt": timestamp(row["created_at"]).isoformat(),
    }


async def list_org_groups(ctx: Ctx) -> Any:
    return single_page([group_wire(r) for r in ctx.store.org_groups()])


async def create_group(ctx: Ctx) -> Any:
    data = ctx.json()
    name = string({"name": required(data, "name")}, "name", allow_empty=False)
    row = {"group_hash": str(uuidlib.uuid4()), "name": name, "description": string(data, "description") or "",
           "created_at": time.time()}
    with ctx.store.tx() as db:
        db.execute("INSERT INTO org_groups (group_hash, name, description, created_at) VALUES (?,?,?,?)",
                   (row["group_hash"], row["name"], row["description"], row["created_at"]))
    return group_wire(row)


async def get_group(ctx: Ctx) -> Any:
    row = ctx.store.org_group(ctx.path_uuid("group"))
    if row is None:
        raise Forbidden("no such group in the organisation")
    return group_wire(row)


routes = [
    Route("/v2/public/user/current-organisation/groups", api(list_org_groups), methods=["GET"]),
    Route("/v2/public/organisation/groups", api(create_group), methods=["POST"]),
    Route("/v2/public/organisation/groups/{group}", api(get_group), methods=["GET"]),
]
