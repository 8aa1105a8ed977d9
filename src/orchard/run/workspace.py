"""`Workspace`: azureml.core.Workspace over the Orchard SDK's `MLClient`.

Inside a job, `run.experiment.workspace` is the job's own workspace (ORCHARD_HOME,
ORCHARD_WORKSPACE, and the store the runner was given); elsewhere `Workspace.from_config()`
finds one as `MLClient.from_config` does. The client opens on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchard.sdk.client import MLClient


class Workspace:
    """Azure's cloud coordinates are accepted and kept; Orchard needs only the name
    (and, as Orchard's own keywords, the home folder or database URL of the store)."""

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth: Any = None,
        *,
        home: str | Path | None = None,
        database_url: str | None = None,
        **_: Any,
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self._name = workspace_name
        self._auth = auth
        self._home = home
        self._database_url = database_url
        self._client: MLClient | None = None

    @classmethod
    def from_config(
        cls,
        path: str | Path | None = None,
        auth: Any = None,
        _logger: Any = None,
        _file_name: str | None = None,
        **_: Any,
    ) -> Workspace:
        """An Azure `config.json` from `path` or the current folder upwards, else the
        `.orchard/` home found from there (as `MLClient.from_config`)."""
        from orchard.sdk.client import MLClient

        client = MLClient.from_config(auth, path=path, file_name=_file_name, create_workspace=False)
        return cls.from_ml_client(client)

    @classmethod
    def get(
        cls,
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        **kwargs: Any,
    ) -> Workspace:
        return cls(subscription_id, resource_group, name, auth, **kwargs)

    @classmethod
    def from_ml_client(cls, client: MLClient) -> Workspace:
        """The workspace an `MLClient` works in (Orchard's own)."""
        found = cls(client.subscription_id, client.resource_group_name, client.workspace_name)
        found._client = client
        return found

    @property
    def name(self) -> str:
        return self._name if self._name is not None else self.ml_client.workspace_name

    @property
    def ml_client(self) -> MLClient:
        """The Orchard SDK client of this workspace, opened on first use."""
        if self._client is None:
            from orchard.sdk.client import MLClient

            self._client = MLClient(
                self._auth,
                self.subscription_id,
                self.resource_group,
                self._name,
                home=self._home,
                database_url=self._database_url,
                create_workspace=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __repr__(self) -> str:
        return f"Workspace(name={self.name!r})"
