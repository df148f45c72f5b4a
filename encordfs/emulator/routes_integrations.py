"""``/v2/public/cloud-integrations``: the integrations ``--integration UUID=DIR`` serves, titled by
their directory's name (the SDK's ``get_cloud_integrations``, with its uuid and title filters)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from .context import Ctx, api
from .params import parse_uuid


async def list_integrations(ctx: Ctx) -> Any:
    uuids = {parse_uuid("filterIntegrationUuids", u) for u in ctx.query.all("filterIntegrationUuids")}
    titles = set(ctx.query.all("filterIntegrationTitles"))
    ctx.query.bool("includeOrgAccess", False)
    found = [
        {"integrationUuid": uuid, "title": directory.name}
        for uuid, directory in sorted(ctx.emulator.settings.integrations.items())
        if (not uuids or uuid in uuids) and (not titles or directory.name in titles)
    ]
    return {"result": found}


routes = [Route("/v2/public/cloud-integrations", api(list_integrations), methods=["GET"])]
