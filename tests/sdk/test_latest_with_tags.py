"""`get(name, label="latest", tags={...})`: the newest version that has every given tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchard.entities import Data, Model
from orchard.errors import NotFound, ValidationError
from orchard.sdk.client import MLClient

PRODUCTION_EMEA = {"Region": "EMEA", "Status": "Production"}


def register(ml_client: MLClient, tmp_path: Path, *tag_sets: dict[str, str]) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"1")
    for tags in tag_sets:
        ml_client.models.create_or_update(Model(name="m", path=str(weights), tags=tags))


def test_the_newest_version_with_all_the_tags_is_chosen(
    ml_client: MLClient, tmp_path: Path
) -> None:
    register(
        ml_client,
        tmp_path,
        PRODUCTION_EMEA,  # 1
        {"Region": "EMEA"},  # 2: lacks Status
        {**PRODUCTION_EMEA, "Owner": "ana"},  # 3: extra tags do not matter
        {"Region": "US", "Status": "Production"},  # 4: the latest, wrong region
    )
    assert ml_client.models.get("m", label="latest", tags=PRODUCTION_EMEA).version == "3"
    assert ml_client.models.get("m", tags={"Region": "EMEA"}).version == "3"
    assert ml_client.models.get("m", tags={"Status": None}).version == "4"  # has the tag
    ml_client.models.archive("m", "3")
    assert ml_client.models.get("m", tags=PRODUCTION_EMEA).version == "1"
    assert ml_client.models.get("m").version == "4"  # no tags: plain latest


def test_no_version_with_the_tags_is_not_found_naming_them(
    ml_client: MLClient, tmp_path: Path
) -> None:
    register(ml_client, tmp_path, PRODUCTION_EMEA)
    with pytest.raises(NotFound, match="model 'm' has no active version with tags Region=APAC"):
        ml_client.models.get("m", label="latest", tags={"Region": "APAC"})
    with pytest.raises(NotFound, match="model 'other' not found"):
        ml_client.models.get("other", tags=PRODUCTION_EMEA)
    with pytest.raises(ValidationError, match="give a label with them, not a version"):
        ml_client.models.get("m", version="1", tags=PRODUCTION_EMEA)


def test_data_versions_are_chosen_by_tags_too(ml_client: MLClient, tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a\n1\n")
    for stage in ("gold", "bronze"):
        ml_client.data.create_or_update(
            Data(name="rows", path=str(csv), type="uri_file", tags={"stage": stage})
        )
    assert ml_client.data.get("rows", tags={"stage": "gold"}).version == "1"
