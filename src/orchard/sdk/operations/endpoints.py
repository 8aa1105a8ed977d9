"""`ml_client.online_endpoints` and `ml_client.online_deployments`, as azure.ai.ml has them:
`begin_*` calls return a poller whose `.result()` waits for the endpoint's host."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from orchard.entities.assets import Model
from orchard.entities.batch_endpoints import ModelBatchDeployment
from orchard.entities.endpoints import (
    AccessToken,
    CodeConfiguration,
    EndpointAuthKeys,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
)
from orchard.errors import OrchardError, ValidationError
from orchard.sdk.transport import Transport
from orchard.services.endpoints import KeyType
from orchard.storage.uris import is_local_path

T = TypeVar("T")
POLL_SECONDS = 0.1
DEPLOY_SECONDS = 600.0
SETTLED = {"Succeeded", "Failed"}
Payload = str | bytes | dict[str, Any] | list[Any]  # a request body, or what becomes its JSON


class Poller(Generic[T]):
    """What azure.ai.ml's LROPoller offers: `result()`, `wait()`, `done()`."""

    def __init__(self, finish: Callable[[], T]) -> None:
        self._finish = finish
        self._value: T | None = None
        self._done = False

    def result(self, timeout: float | None = None) -> T:
        if not self._done:
            self._value, self._done = self._finish(), True
        return self._value  # type: ignore[return-value]

    def wait(self, timeout: float | None = None) -> None:
        self.result(timeout)

    def done(self) -> bool:
        return self._done


class OnlineEndpointOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace

    def begin_create_or_update(
        self, endpoint: ManagedOnlineEndpoint, **_: Any
    ) -> Poller[ManagedOnlineEndpoint]:
        workspace = self._workspace()
        self._transport.online_endpoints.create_or_update(workspace, endpoint)
        self._transport.serve_endpoint(workspace, endpoint.name)
        return Poller(lambda: self.get(endpoint.name))

    def get(self, name: str) -> ManagedOnlineEndpoint:
        return self._transport.online_endpoints.get(self._workspace(), name)

    def list(self) -> list[ManagedOnlineEndpoint]:
        return self._transport.online_endpoints.list(self._workspace())

    def begin_delete(self, name: str, **_: Any) -> Poller[None]:
        workspace = self._workspace()
        self._transport.online_endpoints.delete(workspace, name)
        self._transport.stop_endpoint(workspace, name)
        return Poller(lambda: None)

    def get_keys(self, name: str) -> EndpointAuthKeys | AccessToken:
        """The keys of a `key` endpoint; a fresh token (an hour long) for an `aml_token` one."""
        return self._transport.online_endpoints.credentials(self._workspace(), name)

    def begin_regenerate_keys(self, name: str, *, key_type: str = "primary") -> Poller[None]:
        if key_type not in ("primary", "secondary"):
            raise ValidationError(f"key_type must be primary or secondary, not {key_type!r}")
        which: KeyType = "primary" if key_type == "primary" else "secondary"
        self._transport.online_endpoints.regenerate_key(self._workspace(), name, which)
        return Poller(lambda: None)

    def invoke(
        self,
        endpoint_name: str,
        request_file: str | Path | None = None,
        deployment_name: str | None = None,
        *,
        request: Payload | None = None,
        timeout: float = 60.0,
        **_: Any,
    ) -> str:
        """POST a request to the endpoint's scoring URI, with its key; the response text.
        A 4xx or 5xx raises OrchardError carrying the endpoint's answer."""
        body = _body(request_file, request)
        workspace = self._workspace()
        base = self._transport.serve_endpoint(workspace, endpoint_name)
        headers = {"Content-Type": "application/json"}
        credentials = self.get_keys(endpoint_name)
        secret = (
            credentials.primary_key
            if isinstance(credentials, EndpointAuthKeys)
            else credentials.access_token
        )
        headers["Authorization"] = f"Bearer {secret}"
        if deployment_name:
            headers["azureml-model-deployment"] = deployment_name
        answer = httpx.post(base + "/score", content=body, headers=headers, timeout=timeout)
        if answer.status_code >= 400:
            raise OrchardError(
                f"online endpoint {endpoint_name!r} answered {answer.status_code}: {answer.text}"
            )
        return answer.text


class OnlineDeploymentOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace

    def begin_create_or_update(
        self, deployment: ManagedOnlineDeployment, **_: Any
    ) -> Poller[ManagedOnlineDeployment]:
        """Upload a local model and scoring code, record the deployment, and have the
        endpoint's host roll it out; `.result()` waits until its workers answer (or it
        failed: then OrchardError says why, from its workers' logs)."""
        workspace = self._workspace()
        prepared = self._uploaded(deployment)
        self._transport.online_deployments.create_or_update(workspace, prepared)
        self._transport.serve_endpoint(workspace, deployment.endpoint_name)
        return Poller(lambda: self._settled(deployment.endpoint_name, deployment.name))

    def get(self, name: str, endpoint_name: str) -> ManagedOnlineDeployment:
        return self._transport.online_deployments.get(self._workspace(), endpoint_name, name)

    def list(self, endpoint_name: str) -> list[ManagedOnlineDeployment]:
        return self._transport.online_deployments.list(self._workspace(), endpoint_name)

    def begin_delete(self, name: str, endpoint_name: str, **_: Any) -> Poller[None]:
        self._transport.online_deployments.delete(self._workspace(), endpoint_name, name)
        return Poller(lambda: None)

    def get_logs(
        self, name: str, endpoint_name: str, lines: int = 50, container_type: str | None = None
    ) -> str:
        self.get(name, endpoint_name)
        return self._transport.deployment_logs(self._workspace(), endpoint_name, name, lines)

    def _settled(self, endpoint: str, name: str) -> ManagedOnlineDeployment:
        deadline = time.monotonic() + DEPLOY_SECONDS
        while True:
            found = self.get(name, endpoint)
            if found.provisioning_state == "Failed":
                raise OrchardError(f"deployment {name!r} failed: {found.error}")
            if found.provisioning_state in SETTLED or time.monotonic() >= deadline:
                return found
            time.sleep(POLL_SECONDS)  # the host writes the outcome to the store

    def _uploaded(self, deployment: ManagedOnlineDeployment) -> ManagedOnlineDeployment:
        prepared = deployment.model_copy(deep=True)
        upload_deployment_files(self._transport, self._workspace(), prepared)
        return prepared


def upload_deployment_files(
    transport: Transport, workspace: str, deployment: ManagedOnlineDeployment | ModelBatchDeployment
) -> None:
    """A deployment's local model and scoring code uploaded: their storage URIs instead."""

    def upload(path: str, what: str) -> str:
        source = Path(path).expanduser()
        if not source.exists():
            raise ValidationError(f"deployment {what}: local path {path} does not exist")
        return transport.files.upload(workspace, source.resolve())

    model, code = deployment.model, deployment.code_configuration
    if isinstance(model, Model) and model.path and is_local_path(model.path):
        deployment.model = model.model_copy(update={"path": upload(model.path, "model")})
    if code is not None and is_local_path(code.code):
        deployment.code_configuration = CodeConfiguration(
            code=upload(code.code, "code"), scoring_script=code.scoring_script
        )


def _body(request_file: str | Path | None, request: Payload | None) -> bytes:
    if request_file is not None:
        path = Path(request_file)
        if not path.is_file():
            raise ValidationError(f"request file {request_file} not found")
        return path.read_bytes()
    if request is None:
        raise ValidationError("invoke needs a request_file or a request body")
    if isinstance(request, bytes):
        return request
    if isinstance(request, str):
        return request.encode()
    return json.dumps(request).encode()
