"""One route table for every spelling of a path.

MLflow's API is served under `/api/...`, under its UI's `/ajax-api/...` twin, and both
again under `/workspaces/<name>/...`. Rather than register every route four times (and
match a request against all of them), this ASGI middleware rewrites the path to its
`/api/...` form before routing and records the workspace it named in the scope.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

WORKSPACE_KEY = "orchard.workspace"
ORIGINAL_PATH_KEY = "orchard.path"
_WORKSPACES = "/workspaces/"
_AJAX = "/ajax-api/"


def canonical_path(path: str) -> tuple[str | None, str]:
    """(workspace named in the path or None, the path as the routes spell it)."""
    workspace = None
    if path.startswith(_WORKSPACES):
        name, slash, rest = path[len(_WORKSPACES) :].partition("/")
        if name and slash:
            workspace, path = name, "/" + rest
    if path.startswith(_AJAX):
        path = "/api/" + path[len(_AJAX) :]
    return workspace, path


class CanonicalPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            original = scope["path"]
            workspace, path = canonical_path(original)
            if path != original:
                scope = {**scope, "path": path, ORIGINAL_PATH_KEY: original}
                raw = scope.get("raw_path")
                if raw is not None:  # the same rewrite, on the path as sent (still encoded)
                    scope["raw_path"] = canonical_path(raw.decode("latin-1"))[1].encode("latin-1")
                if workspace is not None:
                    scope[WORKSPACE_KEY] = workspace
        await self.app(scope, receive, send)
