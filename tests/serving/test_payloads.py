"""Payload collection on its own: sampling, rolling folders, bodies that are not JSON."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from orchard.serving.payloads import CollectorSettings, PayloadCollector
from orchard.serving.scoring import Reply, ScoreRequest


def collector(tmp_path: Path, rate: float, rolling: str = "minute") -> PayloadCollector:
    settings = CollectorSettings(
        tmp_path / "in", tmp_path / "out", rate, rolling, "/onlineEndpoints/e/deployments/d", "i"
    )
    return PayloadCollector(settings, random.Random(5))


def request(body: bytes, media_type: str | None = "application/json") -> ScoreRequest:
    return ScoreRequest(body=body, media_type=media_type, query=None, headers={})


def test_a_sampling_rate_keeps_that_share_and_folders_roll_by_the_minute(tmp_path: Path) -> None:
    half = collector(tmp_path, 0.5)
    for i in range(200):
        half.record(request(json.dumps({"i": i}).encode()), Reply(200, b"[1]"))
    (path,) = (tmp_path / "in").rglob("*.jsonl")
    assert len(path.relative_to(tmp_path / "in").parts) == 6  # yyyy/MM/dd/HH/mm/i.jsonl
    kept = [json.loads(line)["data"]["i"] for line in path.read_text().splitlines()]
    assert 70 < len(kept) < 130 and kept == sorted(kept)
    assert len(next((tmp_path / "out").rglob("*.jsonl")).read_text().splitlines()) == len(kept)


def test_text_bodies_stay_text_and_refusals_are_not_collected(tmp_path: Path) -> None:
    every = collector(tmp_path, 1.0, "day")
    every.record(request(b"a,b\n1,2\n", "text/csv"), Reply(200, b"not json", "text/plain"))
    every.record(request(b"{bad json"), Reply(400, b"{}"))
    (path,) = (tmp_path / "in").rglob("*.jsonl")
    assert len(path.relative_to(tmp_path / "in").parts) == 4  # yyyy/MM/dd/i.jsonl
    (event,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert event["data"] == "a,b\n1,2\n" and event["contentrange"] == "bytes 0-7/8"


def test_an_unknown_rolling_rate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rolling_rate"):
        collector(tmp_path, 1.0, "week")
