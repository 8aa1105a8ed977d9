"""Which services and which workspace a request works on.

Paths under `/workspaces/<name>/...` work in that workspace (`server.paths` notes which);
the others in the server's default workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request

from orchard.server.paths import WORKSPACE_KEY
from orchard.services import Services


@dataclass(frozen=True)
class RequestScope:
    services: Services
    workspace: str


async def request_scope(request: Request) -> RequestScope:
    # async: it only reads the request, so it runs on the event loop, not in a thread.
    state = request.app.state
    workspace = request.scope.get(WORKSPACE_KEY) or state.default_workspace
    return RequestScope(cast(Services, state.services), str(workspace))


Scope = Annotated[RequestScope, Depends(request_scope)]
