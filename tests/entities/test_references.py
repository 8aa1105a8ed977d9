"""Asset references in every form Azure ML specs write them."""

from __future__ import annotations

import pytest

from orchard.entities.references import AssetRef, parse_asset_ref
from orchard.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("iris", AssetRef(name="iris", label="latest")),
        ("iris:3", AssetRef(name="iris", version="3")),
        ("azureml:iris:3", AssetRef(name="iris", version="3")),
        ("azureml:iris@latest", AssetRef(name="iris", label="latest")),
        ("AzureML-sklearn-1.5@latest", AssetRef(name="AzureML-sklearn-1.5", label="latest")),
        (
            "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
            AssetRef(name="sklearn-1.5", label="latest", registry="azureml", kind="environment"),
        ),
        (
            "azureml://registries/azureml/models/phi/versions/4",
            AssetRef(name="phi", version="4", registry="azureml", kind="model"),
        ),
        (
            "azureml:/subscriptions/s/resourceGroups/rg/providers/"
            "Microsoft.MachineLearningServices/workspaces/ws/data/iris/versions/2",
            AssetRef(name="iris", version="2", workspace="ws", kind="data"),
        ),
        (
            "azureml://locations/westeurope/workspaces/ws/data/iris/versions/1",
            AssetRef(name="iris", version="1", workspace="ws", kind="data"),
        ),
    ],
)
def test_reference_forms(text: str, expected: AssetRef) -> None:
    assert parse_asset_ref(text) == expected


@pytest.mark.parametrize("text", ["", "azureml:", "iris:", "a/b", "azureml://nowhere/x"])
def test_bad_references(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_asset_ref(text)


def test_selector_text() -> None:
    assert parse_asset_ref("iris:2").selector == "iris:2"
    assert parse_asset_ref("iris").selector == "iris@latest"
