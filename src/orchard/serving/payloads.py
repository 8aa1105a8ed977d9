"""Payload collection (a deployment's `data_collector`): each sampled request body and its
answer, written as Azure's data collector writes them, one JSON line per payload in
`<collection folder>/<yyyy>/<MM>/<dd>/<HH>/<instance>.jsonl` (minutes too with
`rolling_rate: minute`, no hour with `day`). An input and its output share a
`correlationid`. Only answered requests (status below 400) are collected.

It runs in the worker, on the scoring thread after the answer is made; the stdlib only.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from orchard.serving.scoring import Reply, ScoreRequest, is_json

ROLLING_FORMATS = {"minute": "%Y/%m/%d/%H/%M", "hour": "%Y/%m/%d/%H", "day": "%Y/%m/%d"}


@dataclass(frozen=True)
class CollectorSettings:
    inputs: Path | None
    outputs: Path | None
    sampling_rate: float
    rolling_rate: str
    source: str  # /onlineEndpoints/<endpoint>/deployments/<deployment>
    instance: str


class PayloadCollector:
    def __init__(self, settings: CollectorSettings, rng: random.Random | None = None) -> None:
        if settings.rolling_rate not in ROLLING_FORMATS:
            raise ValueError(f"rolling_rate: {settings.rolling_rate!r} is not minute, hour or day")
        self.settings = settings
        self.random = rng or random.Random()
        self.lock = threading.Lock()
        self._sinks: dict[Path, TextIO] = {}  # the open file of each collection's period

    def record(self, request: ScoreRequest, reply: Reply) -> None:
        if reply.status >= 400 or self.random.random() >= self.settings.sampling_rate:
            return
        now = datetime.now(UTC)
        correlation = str(uuid.uuid4())
        pairs = (
            (self.settings.inputs, "model_inputs", request.body, request.media_type),
            (self.settings.outputs, "model_outputs", reply.body, reply.media_type),
        )
        for folder, kind, body, media_type in pairs:
            if folder is not None:
                self._append(folder, now, self._event(kind, body, media_type, now, correlation))

    def _event(
        self, kind: str, body: bytes, media_type: str | None, now: datetime, correlation: str
    ) -> dict[str, Any]:
        data: Any = body.decode("utf-8", errors="replace")
        if media_type is None or is_json(media_type):
            with contextlib.suppress(ValueError):  # else kept as the text it was
                data = json.loads(data)
        return {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": self.settings.source,
            "type": f"azureml.inference.{kind}",
            "datacontenttype": "application/json",
            "time": now.isoformat().replace("+00:00", "Z"),
            "data": data,
            "correlationid": correlation,
            "contentrange": f"bytes 0-{max(len(body) - 1, 0)}/{len(body)}",
        }

    def _append(self, folder: Path, now: datetime, event: dict[str, Any]) -> None:
        period = now.strftime(ROLLING_FORMATS[self.settings.rolling_rate])
        path = folder / period / f"{self.settings.instance}.jsonl"
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self.lock:
            sink = self._sinks.get(folder)
            if sink is None or sink.name != str(path):  # a new period: a new file
                if sink is not None:
                    sink.close()
                path.parent.mkdir(parents=True, exist_ok=True)
                sink = self._sinks[folder] = path.open("a", encoding="utf-8")
            sink.write(line)
            sink.flush()  # whole lines on disk: a worker can be killed at any time
