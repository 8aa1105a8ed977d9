"""Workspaces as scopes, compute targets, and finding the workspace from config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchard.entities import AmlCompute, Data, Workspace
from orchard.errors import Conflict, NotFound, ValidationError
from orchard.sdk.client import MLClient


def test_workspaces_are_separate_scopes(
    ml_client: MLClient, database_url: str, orchard_home: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("a\n1\n")
    ml_client.data.create_or_update(Data(name="only-here", path=str(csv), type="uri_file"))
    other_name = ml_client.workspace_name + "-b"
    with MLClient(workspace_name=other_name, home=orchard_home, database_url=database_url) as other:
        assert other.data.list() == []
        names = {w.name for w in other.workspaces.list()}
        assert {ml_client.workspace_name, other_name} <= names
        with pytest.raises(NotFound):
            other.data.get("only-here")


def test_workspace_create_twice_conflicts(ml_client: MLClient) -> None:
    with pytest.raises(Conflict, match="already exists"):
        ml_client.workspaces.begin_create(Workspace(name=ml_client.workspace_name)).result()


def test_workspace_update_and_delete(ml_client: MLClient) -> None:
    name = ml_client.workspace_name + "-tmp"
    created = ml_client.workspaces.begin_create(Workspace(name=name, description="a")).result()
    assert created.storage_root and Path(created.storage_root).is_dir()
    updated = ml_client.workspaces.begin_update(created.model_copy(update={"description": "b"}))
    assert updated.result().description == "b"
    ml_client.workspaces.begin_delete(name).result()
    with pytest.raises(NotFound):
        ml_client.workspaces.get(name)


def test_compute_create_list_delete(ml_client: MLClient) -> None:
    starters = {"cpu-cluster", "gpu-cluster"}  # every workspace starts with these
    assert {c.name for c in ml_client.compute.list()} == starters
    cluster = ml_client.compute.begin_create_or_update(
        AmlCompute(name="train-pool", size="STANDARD_DS3_V2", min_instances=0, max_instances=4)
    ).result()
    assert cluster.provisioning_state == "Succeeded"
    assert {c.name for c in ml_client.compute.list()} == starters | {"train-pool"}
    ml_client.compute.begin_delete("train-pool").result()
    assert {c.name for c in ml_client.compute.list()} == starters


def test_compute_min_above_max_is_refused(ml_client: MLClient) -> None:
    with pytest.raises(ValidationError, match="min_instances"):
        ml_client.compute.create_or_update(AmlCompute(name="bad", min_instances=3, max_instances=1))


def test_from_config_finds_azure_config_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "src" / "deep").mkdir(parents=True)
    (project / ".orchard").mkdir()
    (project / "config.json").write_text(
        json.dumps(
            {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "from-config"}
        )
    )
    monkeypatch.chdir(project / "src" / "deep")
    with MLClient.from_config() as client:
        assert client.workspace_name == "from-config"
        assert client.settings.home == (project / ".orchard").resolve()
        assert client.workspaces.get().name == "from-config"


def test_from_config_finds_orchard_home_upwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo" / ".orchard").mkdir(parents=True)
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "a" / "b")
    with MLClient.from_config() as client:
        assert client.settings.home == (tmp_path / "repo" / ".orchard").resolve()
        assert client.workspace_name == "default"
        assert (tmp_path / "repo" / ".orchard" / "orchard.db").is_file()
