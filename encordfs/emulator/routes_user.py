"""``/v2/public/user/...``: the one user call the emulator serves, issuing bearer tokens."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from .auth import issue_token
from .context import Ctx, api


async def bearer_token(ctx: Ctx) -> Any:
    return {"token": issue_token(ctx.store, ctx.principal)}


routes = [Route("/v2/public/user/bearer-token", api(bearer_token), methods=["GET"])]
