"""The few MLflow REST calls a run makes, over httpx.

No mlflow import: a job's environment need not have mlflow installed. Errors come back
in MLflow's `{"error_code", "message"}` shape and are raised as Orchard's exceptions,
so a bad metric name reads the same here as from any other Orchard client.
"""

from __future__ import annotations

import base64
import contextlib
import math
import os
import posixpath
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

import httpx

from orchard.errors import (
    Conflict,
    NotFound,
    OrchardError,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)

API = "api/2.0/mlflow"
ARTIFACTS_API = "api/2.0/mlflow-artifacts/artifacts"
ARTIFACT_SCHEME = "mlflow-artifacts:"
MAX_METRICS_PER_BATCH = 1000
MAX_TAGS_PER_BATCH = 100
TIMEOUT_SECONDS = 120.0
RETRY_STATUSES = {429, 503}
RETRY_DELAYS = (0.5, 1.0, 2.0)

_ERRORS: dict[str, type[OrchardError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFound,
    "RESOURCE_ALREADY_EXISTS": Conflict,
    "INVALID_PARAMETER_VALUE": ValidationError,
    "BAD_REQUEST": ValidationError,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": Unauthenticated,
}


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True)
class RunRecord:
    """What `runs/get` says about a run: the parts a `Run` reads."""

    run_id: str
    name: str | None
    status: str
    artifact_uri: str
    metrics: dict[str, float]
    tags: dict[str, str]


class TrackingClient:
    """MLflow's tracking, registry and artifact-proxy routes at one server."""

    def __init__(self, tracking_uri: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        if not tracking_uri.startswith(("http://", "https://")):
            raise ValidationError(
                f"MLFLOW_TRACKING_URI {tracking_uri!r} is not an http(s) URL: a live run "
                "logs to a tracking server"
            )
        self.tracking_uri = tracking_uri.rstrip("/")
        self._http = httpx.Client(
            base_url=self.tracking_uri + "/", timeout=timeout, headers=_auth_headers()
        )

    def close(self) -> None:
        self._http.close()

    # -- runs ----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        body = self._call("GET", f"{API}/runs/get", params={"run_id": run_id})["run"]
        info, data = body["info"], body.get("data", {})
        return RunRecord(
            run_id=info["run_id"],
            name=info.get("run_name"),
            status=info.get("status", "RUNNING"),
            artifact_uri=info.get("artifact_uri", ""),
            metrics={m["key"]: _float(m["value"]) for m in data.get("metrics", [])},
            tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
        )

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """All of `points`, in batches MLflow accepts (at most 1000 metrics a request)."""
        for start in range(0, len(points), MAX_METRICS_PER_BATCH):
            chunk = points[start : start + MAX_METRICS_PER_BATCH]
            metrics = [
                {"key": p.key, "value": _wire(p.value), "step": p.step, "timestamp": p.timestamp}
                for p in chunk
            ]
            self._call("POST", f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        items = [{"key": k, "value": v} for k, v in tags.items()]
        for start in range(0, len(items), MAX_TAGS_PER_BATCH):
            chunk = items[start : start + MAX_TAGS_PER_BATCH]
            self._call("POST", f"{API}/runs/log-batch", json={"run_id": run_id, "tags": chunk})

    def update_run(self, run_id: str, status: str, end_time: int) -> None:
        self._call(
            "POST",
            f"{API}/runs/update",
            json={"run_id": run_id, "status": status, "end_time": end_time},
        )

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        points: list[MetricPoint] = []
        token: str | None = None
        while True:
            params = {"run_id": run_id, "metric_key": key, "max_results": 25_000}
            if token:
                params["page_token"] = token
            body = self._call("GET", f"{API}/metrics/get-history", params=params)
            points += [
                MetricPoint(
                    key,
                    _float(m["value"]),
                    int(m.get("step", 0)),
                    int(m.get("timestamp", 0)),
                )
                for m in body.get("metrics", [])
            ]
            token = body.get("next_page_token")
            if not token:
                return points

    # -- artifacts -----------------------------------------------------------------------

    def upload(self, artifact_uri: str, path: str, content: bytes | IO[Any]) -> None:
        """Write one file at `path` below the run's artifact root."""
        self._call("PUT", self._artifact_url(artifact_uri, path), content=_body(content))

    def download(self, artifact_uri: str, path: str) -> bytes:
        response = self._send("GET", self._artifact_url(artifact_uri, path))
        return response.content

    def list_artifacts(self, run_id: str, path: str = "") -> list[tuple[str, bool]]:
        """(path, is_dir) of each entry directly inside the run's artifact folder `path`."""
        params = {"run_id": run_id, **({"path": path} if path else {})}
        body = self._call("GET", f"{API}/artifacts/list", params=params)
        return [(e["path"], bool(e.get("is_dir"))) for e in body.get("files", [])]

    def _artifact_url(self, artifact_uri: str, path: str) -> str:
        root = artifact_uri
        if not root.startswith(ARTIFACT_SCHEME):
            raise ValidationError(
                f"the run's artifact location {artifact_uri!r} is not served by the tracking "
                "server's artifact proxy (mlflow-artifacts:)"
            )
        rest = root[len(ARTIFACT_SCHEME) :]
        if rest.startswith("//"):  # mlflow-artifacts://host:port/path
            rest = rest[2:].partition("/")[2]
        if ".." in path.replace("\\", "/").split("/"):
            # URLs drop `..` before the server sees them: refuse it here.
            raise ValidationError(f"artifact path {path!r} must stay below the run's artifacts")
        full = posixpath.join(rest.strip("/"), path.strip("/"))
        return f"{ARTIFACTS_API}/{quote(full, safe='/')}"

    # -- model registry ------------------------------------------------------------------

    def create_registered_model(self, name: str) -> None:
        """Create the registered model; one that exists already is fine."""
        with contextlib.suppress(Conflict):
            self._call("POST", f"{API}/registered-models/create", json={"name": name})

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str,
        tags: Mapping[str, str],
        description: str | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "source": source,
            "run_id": run_id,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        if description:
            body["description"] = description
        reply = self._call("POST", f"{API}/model-versions/create", json=body)
        version: dict[str, Any] = reply["model_version"]
        return version

    # -- transport -----------------------------------------------------------------------

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, url, **kwargs)
        if not response.content:
            return {}
        body = response.json()
        return body if isinstance(body, dict) else {}

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        # A busy store answers 503 and has written nothing: the request is sent again, a
        # few times, unless its body was a stream that is spent by now.
        repeatable = not isinstance(kwargs.get("content"), Iterator)
        for delay in (*RETRY_DELAYS, None):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.HTTPError as error:
                raise OrchardError(
                    f"cannot reach the tracking server at {self.tracking_uri}: {error}"
                ) from None
            if response.is_success:
                return response
            if response.status_code not in RETRY_STATUSES or not repeatable or delay is None:
                break
            time.sleep(delay)
        raise _error(method, url, response)


def _error(method: str, url: str, response: httpx.Response) -> OrchardError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error_code", ""))
    message = str(body.get("message") or response.text or response.reason_phrase)
    cls = _ERRORS.get(code)
    if cls is None:
        cls = NotFound if response.status_code == 404 else OrchardError
    return cls(
        f"{message} ({method} /{url.split('?')[0]} answered {response.status_code})",
        details={"error_code": code, "status": response.status_code},
    )


def _auth_headers() -> dict[str, str]:
    """The credentials MLflow's own client reads from the environment."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = (
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {pair}"}
    return {}


def _wire(value: float) -> float | str:
    """JSON has no NaN or infinity: MLflow's protobuf JSON spells them as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _float(value: Any) -> float:
    return float(value)  # "NaN" and "Infinity" parse too


def _body(content: bytes | IO[Any]) -> bytes | Iterator[bytes]:
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    return _chunks(content)


def _chunks(stream: IO[Any]) -> Iterator[bytes]:
    while chunk := stream.read(1 << 20):
        yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk
