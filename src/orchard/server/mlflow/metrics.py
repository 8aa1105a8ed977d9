"""`/mlflow/metrics/*`: one run's metric history, many runs' at once, and sampled."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from orchard.server.mlflow.messages import Message, MlflowJSONResponse, parsed, reply
from orchard.server.mlflow.runs import RunRef
from orchard.server.mlflow.scope import Scope

router = APIRouter(prefix="/metrics")


class GetMetricHistory(RunRef):
    metric_key: str
    page_token: str | None = None
    max_results: int | None = None


class GetMetricHistoryBulk(Message):
    run_id: list[str] = []
    metric_key: str
    max_results: int | None = None


class GetMetricHistoryBulkInterval(Message):
    run_ids: list[str]
    metric_key: str
    start_step: int | None = None
    end_step: int | None = None
    max_results: int | None = None


@router.get("/get-history")
def get_history(
    body: Annotated[GetMetricHistory, Depends(parsed(GetMetricHistory))], s: Scope
) -> Response:
    points, token = s.services.runs.metric_history(
        s.workspace,
        body.id,
        body.metric_key,
        page_token=body.page_token,
        max_results=body.max_results,
    )
    # MLflow's reply leaves the run out of each point. Built as plain JSON here, not
    # dumped entity by entity: a page holds up to 25,000 points.
    content: dict[str, Any] = {
        "metrics": [
            {"key": p.key, "value": p.value, "timestamp": p.timestamp, "step": p.step}
            for p in points
        ]
    }
    if token:
        content["next_page_token"] = token
    return MlflowJSONResponse(content)


@router.get("/get-history-bulk")
def get_history_bulk(
    body: Annotated[GetMetricHistoryBulk, Depends(parsed(GetMetricHistoryBulk))], s: Scope
) -> Response:
    points = s.services.metric_history.bulk(
        s.workspace, body.run_id, body.metric_key, body.max_results
    )
    return reply(metrics=points)


@router.get("/get-history-bulk-interval")
def get_history_bulk_interval(
    body: Annotated[GetMetricHistoryBulkInterval, Depends(parsed(GetMetricHistoryBulkInterval))],
    s: Scope,
) -> Response:
    points = s.services.metric_history.bulk_interval(
        s.workspace,
        body.run_ids,
        body.metric_key,
        start_step=body.start_step,
        end_step=body.end_step,
        max_results=body.max_results,
    )
    return reply(metrics=points)
