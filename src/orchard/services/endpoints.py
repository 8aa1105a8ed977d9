"""Online endpoints and deployments: records, keys, traffic. Serving them is the endpoint
host's work (`orchard.serving`); this module keeps what they are and checks it.

An endpoint's keys live in the workspace's secret store, encrypted, never in its spec.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from orchard.entities.assets import Environment, Model
from orchard.entities.endpoints import (
    AccessToken,
    EndpointAuthKeys,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    deployment_key,
)
from orchard.entities.references import is_asset_ref
from orchard.errors import NotFound, ValidationError
from orchard.security.endpoint_tokens import TOKEN_SECONDS, issue_token
from orchard.services.assets import AssetService
from orchard.services.context import Context
from orchard.services.jobs.resolve import environment_of
from orchard.services.secrets import SecretService

ENDPOINT = "online_endpoint"
DEPLOYMENT = "online_deployment"
KeyType = Literal["primary", "secondary"]


def _key_name(endpoint: str, which: KeyType) -> str:
    return f"online-endpoint.{endpoint}.{which}-key"


class OnlineEndpointService:
    def __init__(self, context: Context, secrets_: SecretService) -> None:
        self.context = context
        self.secrets = secrets_

    def create_or_update(
        self, workspace: str, endpoint: ManagedOnlineEndpoint
    ) -> ManagedOnlineEndpoint:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            existing = _endpoint(tx.resources.find(workspace_id, ENDPOINT, endpoint.name))
            deployments = {
                d.name
                for d in tx.resources.list(workspace_id, DEPLOYMENT)
                if isinstance(d, ManagedOnlineDeployment) and d.endpoint_name == endpoint.name
            }
            _check_traffic(endpoint, deployments)
            kept = {} if existing is None else _set_by_orchard(existing)
            ready = endpoint.model_copy(update={**kept, "provisioning_state": "Succeeded"})
            if existing is None:
                stored = tx.resources.create(workspace_id, ENDPOINT, ready)
                for which in ("primary", "secondary"):
                    self.secrets.put(tx, workspace_id, _key_name(endpoint.name, which), _new_key())
            else:
                stored = tx.resources.replace(workspace_id, ENDPOINT, ready)
        assert isinstance(stored, ManagedOnlineEndpoint)
        return stored

    def get(self, workspace: str, name: str) -> ManagedOnlineEndpoint:
        with self.context.store.read() as tx:
            found = _endpoint(tx.resources.find(tx.workspaces.id_of(workspace), ENDPOINT, name))
        if found is None:
            raise NotFound(f"online endpoint {name!r} not found")
        return found

    def list(self, workspace: str) -> list[ManagedOnlineEndpoint]:
        with self.context.store.read() as tx:
            found = tx.resources.list(tx.workspaces.id_of(workspace), ENDPOINT)
        return [e for e in found if isinstance(e, ManagedOnlineEndpoint)]

    def delete(self, workspace: str, name: str) -> None:
        """The endpoint, its deployments and its keys, in one transaction."""
        self.get(workspace, name)
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            for deployment in tx.resources.list(workspace_id, DEPLOYMENT):
                if isinstance(deployment, ManagedOnlineDeployment) and (
                    deployment.endpoint_name == name
                ):
                    tx.resources.delete(workspace_id, DEPLOYMENT, deployment.key)
            tx.resources.delete(workspace_id, ENDPOINT, name)
        for which in ("primary", "secondary"):
            self.secrets.delete(workspace, _key_name(name, which))

    def keys(self, workspace: str, name: str) -> EndpointAuthKeys:
        self.get(workspace, name)
        return EndpointAuthKeys(
            primary_key=self.secrets.get(workspace, _key_name(name, "primary")),
            secondary_key=self.secrets.get(workspace, _key_name(name, "secondary")),
        )

    def credentials(
        self, workspace: str, name: str, *, now: float | None = None
    ) -> EndpointAuthKeys | AccessToken:
        """The keys of a key endpoint; a fresh token for an aml_token one."""
        endpoint = self.get(workspace, name)
        if endpoint.auth_mode == "key":
            return self.keys(workspace, name)
        if endpoint.auth_mode != "aml_token":
            raise ValidationError(
                f"online endpoint {name!r} uses {endpoint.auth_mode}, which needs an Azure AD "
                "identity Orchard does not have: use auth_mode key or aml_token"
            )
        issued_at = time.time() if now is None else now
        primary = self.secrets.get(workspace, _key_name(name, "primary"))
        token, expires = issue_token(primary, name, issued_at)
        refresh = int(issued_at) + TOKEN_SECONDS // 2
        return AccessToken(
            access_token=token, expiry_time_utc=expires, refresh_after_time_utc=refresh
        )

    def regenerate_key(self, workspace: str, name: str, which: KeyType = "primary") -> None:
        if which not in ("primary", "secondary"):
            raise ValidationError(f"key_type must be primary or secondary, not {which!r}")
        self.get(workspace, name)
        self.secrets.set(workspace, _key_name(name, which), _new_key())

    def set_scoring_uri(self, workspace: str, name: str, base_url: str | None) -> None:
        """Where the endpoint's host serves it now (None: no host runs it)."""
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            found = _endpoint(tx.resources.find(workspace_id, ENDPOINT, name))
            if found is None:
                return  # deleted meanwhile
            uris = {
                "scoring_uri": f"{base_url}/score" if base_url else None,
                "openapi_uri": f"{base_url}/swagger.json" if base_url else None,
            }
            tx.resources.replace(workspace_id, ENDPOINT, found.model_copy(update=uris))


class OnlineDeploymentService:
    def __init__(
        self,
        context: Context,
        endpoints: OnlineEndpointService,
        models: AssetService,
        environments: AssetService,
    ) -> None:
        self.context = context
        self.endpoints = endpoints
        self.models = models
        self.environments = environments

    def create_or_update(
        self, workspace: str, deployment: ManagedOnlineDeployment
    ) -> ManagedOnlineDeployment:
        """Record a deployment once its endpoint, model and environment are found."""
        self.endpoints.get(workspace, deployment.endpoint_name)
        resolved = deployment.model_copy(
            update={
                "model": self._model(workspace, deployment),
                "environment": self._environment(workspace, deployment),
                "error": None,
            }
        )
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            key = deployment.key
            if tx.resources.find(workspace_id, DEPLOYMENT, key) is None:
                resolved.provisioning_state = "Creating"
                stored = tx.resources.create(workspace_id, DEPLOYMENT, resolved, key=key)
            else:
                resolved.provisioning_state = "Updating"
                stored = tx.resources.replace(workspace_id, DEPLOYMENT, resolved, key=key)
        assert isinstance(stored, ManagedOnlineDeployment)
        return stored

    def get(self, workspace: str, endpoint: str, name: str) -> ManagedOnlineDeployment:
        with self.context.store.read() as tx:
            found = tx.resources.find(
                tx.workspaces.id_of(workspace), DEPLOYMENT, deployment_key(endpoint, name)
            )
        if not isinstance(found, ManagedOnlineDeployment):
            raise NotFound(f"deployment {name!r} of online endpoint {endpoint!r} not found")
        return found

    def list(self, workspace: str, endpoint: str) -> list[ManagedOnlineDeployment]:
        self.endpoints.get(workspace, endpoint)
        with self.context.store.read() as tx:
            found = tx.resources.list(tx.workspaces.id_of(workspace), DEPLOYMENT)
        return [
            d
            for d in found
            if isinstance(d, ManagedOnlineDeployment) and d.endpoint_name == endpoint
        ]

    def set_state(
        self,
        workspace: str,
        endpoint: str,
        name: str,
        digest: str,
        state: str,
        error: str | None = None,
    ) -> None:
        """What the endpoint host found rolling out the version `digest` of a deployment;
        dropped if the deployment has changed since (its new version is still to come)."""
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            key = deployment_key(endpoint, name)
            found = tx.resources.find(workspace_id, DEPLOYMENT, key)
            if isinstance(found, ManagedOnlineDeployment) and found.spec_digest() == digest:
                changed = found.model_copy(update={"provisioning_state": state, "error": error})
                tx.resources.replace(workspace_id, DEPLOYMENT, changed, key=key)

    def delete(self, workspace: str, endpoint: str, name: str) -> None:
        """A deployment that takes live or mirrored traffic cannot go, as in Azure."""
        current = self.endpoints.get(workspace, endpoint)
        if current.traffic.get(name) or current.mirror_traffic.get(name):
            raise ValidationError(
                f"deployment {name!r} takes traffic of endpoint {endpoint!r}: set its "
                "traffic to 0 first (orchard online-endpoint update --traffic ...)"
            )
        self.get(workspace, endpoint, name)
        with self.context.store.begin() as tx:
            tx.resources.delete(
                tx.workspaces.id_of(workspace), DEPLOYMENT, deployment_key(endpoint, name)
            )

    def _model(self, workspace: str, deployment: ManagedOnlineDeployment) -> Model | None:
        value = deployment.model
        if value is None or isinstance(value, Model):
            return value
        if not is_asset_ref(value):
            raise ValidationError(
                f"deployment {deployment.name}: model {value!r} is not a model reference "
                "(azureml:name:version or azureml:name@latest)"
            )
        try:
            found = self.models.resolve(workspace, value)
        except NotFound as missing:
            raise ValidationError(f"deployment {deployment.name}: {missing.message}") from None
        assert isinstance(found, Model)
        return found

    def _environment(
        self, workspace: str, deployment: ManagedOnlineDeployment
    ) -> Environment | None:
        what = f"deployment {deployment.name}:"
        return environment_of(self.environments, workspace, deployment.environment, what)


def _check_traffic(endpoint: ManagedOnlineEndpoint, deployments: set[str]) -> None:
    for field, shares in (
        ("traffic", endpoint.traffic),
        ("mirror_traffic", endpoint.mirror_traffic),
    ):
        unknown = sorted(d for d, share in shares.items() if share and d not in deployments)
        if unknown:
            raise ValidationError(
                f"{field}: endpoint {endpoint.name!r} has no deployment named "
                f"{', '.join(map(repr, unknown))}"
            )
    for mirrored, share in endpoint.mirror_traffic.items():
        if share > 50:
            raise ValidationError(f"mirror_traffic.{mirrored}: at most 50 percent, not {share}")
        if share and endpoint.traffic.get(mirrored):
            raise ValidationError(
                f"mirror_traffic.{mirrored}: a deployment that takes live traffic cannot also "
                "take mirrored traffic"
            )


def _set_by_orchard(endpoint: ManagedOnlineEndpoint) -> dict[str, Any]:
    return {"scoring_uri": endpoint.scoring_uri, "openapi_uri": endpoint.openapi_uri}


def _endpoint(found: object) -> ManagedOnlineEndpoint | None:
    return found if isinstance(found, ManagedOnlineEndpoint) else None


def _new_key() -> str:
    return secrets.token_urlsafe(32)
