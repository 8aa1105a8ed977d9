"""The v1 `Workspace` and `Dataset` names over a real store, outside any job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import orchard
from orchard import Dataset, Workspace
from orchard.entities import Data
from orchard.errors import Conflict, NotFound
from orchard.run import Run
from orchard.sdk.client import MLClient


def register_rows(ml_client: MLClient, tmp_path: Path) -> None:
    csv = tmp_path / "src" / "rows.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text("a,b\n1,x\n2,y\n")
    ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    csv.write_text("a,b\n1,x\n2,y\n3,z\n")
    ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))


def test_the_v1_names_are_exported_lazily() -> None:
    assert {"Run", "Dataset", "Workspace"} <= set(orchard.__all__)
    assert orchard.Dataset is Dataset and orchard.Workspace is Workspace
    assert orchard.Run is Run


def test_get_by_name_reads_latest_or_a_version(ml_client: MLClient, tmp_path: Path) -> None:
    register_rows(ml_client, tmp_path)
    ws = Workspace.from_ml_client(ml_client)
    latest = Dataset.get_by_name(ws, "rows")
    assert (latest.name, latest.version, latest.id) == ("rows", 2, "rows:2")
    assert len(latest.to_pandas_dataframe()) == 3
    first = Dataset.get_by_name(ws, name="rows", version=1)
    assert first.to_pandas_dataframe()["b"].tolist() == ["x", "y"]
    with pytest.raises(NotFound):
        Dataset.get_by_name(ws, "no-such-data")


def test_download_puts_the_files_into_the_target(ml_client: MLClient, tmp_path: Path) -> None:
    register_rows(ml_client, tmp_path)
    folder = tmp_path / "tree"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.csv").write_text("a\n1\n")
    (folder / "sub" / "two.csv").write_text("a\n2\n")
    ml_client.data.create_or_update(Data(name="tree", path=str(folder), type="uri_folder"))
    ws = Workspace.from_ml_client(ml_client)
    got = Dataset.get_by_name(ws, "rows").download(tmp_path / "out")
    assert got == [str(tmp_path / "out" / "rows.csv")]
    assert Path(got[0]).read_text().count("\n") == 4
    with pytest.raises(Conflict, match="overwrite"):
        Dataset.get_by_name(ws, "rows", 1).download(tmp_path / "out")
    Dataset.get_by_name(ws, "rows", 1).download(tmp_path / "out", overwrite=True)
    assert Path(got[0]).read_text().count("\n") == 3
    tree = Dataset.get_by_name(ws, "tree").download(tmp_path / "tree-out")
    assert sorted(Path(p).relative_to(tmp_path / "tree-out").as_posix() for p in tree) == [
        "one.csv",
        "sub/two.csv",
    ]
    assert not any(p.name.startswith(".download-") for p in (tmp_path / "tree-out").iterdir())


def test_workspace_from_config_and_by_name(
    ml_client: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_rows(ml_client, tmp_path)
    project = tmp_path / "project"
    (project / "deep").mkdir(parents=True)
    body = {
        "subscription_id": "sub",
        "resource_group": "rg",
        "workspace_name": ml_client.workspace_name,
    }
    (project / "config.json").write_text(json.dumps(body))
    monkeypatch.setenv("ORCHARD_HOME", str(ml_client.settings.home))
    monkeypatch.setenv("ORCHARD_DATABASE_URL", ml_client.settings.database_url)
    monkeypatch.chdir(project / "deep")
    ws = Workspace.from_config()
    assert ws.name == ml_client.workspace_name and ws.subscription_id == "sub"
    assert len(Dataset.get_by_name(ws, "rows").to_pandas_dataframe()) == 3
    ws.close()
    named = Workspace.get(ml_client.workspace_name)
    assert Dataset.get_by_name(named, "rows", "1").version == 1
    named.close()
