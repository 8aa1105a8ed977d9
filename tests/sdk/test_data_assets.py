"""Data assets through MLClient, over every store back end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchard.constants import AssetTypes, ListViewType
from orchard.entities import Data
from orchard.errors import Conflict, ImmutableField, NotFound, UnsafePath, ValidationError
from orchard.sdk.client import MLClient


def write_csv(folder: Path, name: str = "rows.csv", body: str = "a,b\n1,x\n2,y\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body)
    return path


def test_local_file_is_uploaded_as_content_addressed_snapshot(
    ml_client: MLClient, tmp_path: Path
) -> None:
    csv = write_csv(tmp_path / "src")
    first = ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    second = ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    assert first.version == "1" and second.version == "2"
    assert first.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert first.path == second.path  # same bytes, same snapshot
    csv.write_text("a,b\n3,z\n")
    third = ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    assert third.path != first.path
    # The first version's bytes did not change underneath it.
    assert ml_client.data.to_pandas_dataframe("rows", "1")["a"].tolist() == [1, 2]


def test_explicit_versions_and_auto_increment_skip_taken_numbers(
    ml_client: MLClient, tmp_path: Path
) -> None:
    csv = write_csv(tmp_path)
    ml_client.data.create_or_update(Data(name="d", path=str(csv), type="uri_file", version="2"))
    auto = ml_client.data.create_or_update(Data(name="d", path=str(csv), type="uri_file"))
    named = ml_client.data.create_or_update(
        Data(name="d", path=str(csv), type="uri_file", version="v-preview.1")
    )
    assert auto.version == "3"
    assert named.version == "v-preview.1"
    assert ml_client.data.get("d", label="latest").version == "v-preview.1"
    assert [d.version for d in ml_client.data.list(name="d")] == ["v-preview.1", "3", "2"]


def test_get_by_reference_forms(ml_client: MLClient, tmp_path: Path) -> None:
    csv = write_csv(tmp_path)
    ml_client.data.create_or_update(Data(name="ref", path=str(csv), type="uri_file"))
    ml_client.data.create_or_update(Data(name="ref", path=str(csv), type="uri_file"))
    assert ml_client.data.resolve("azureml:ref:1").version == "1"
    assert ml_client.data.resolve("azureml:ref@latest").version == "2"
    assert ml_client.data.resolve("ref:1").version == "1"
    assert ml_client.data.resolve("ref").version == "2"
    with pytest.raises(NotFound, match="ref:9"):
        ml_client.data.resolve("ref:9")
    with pytest.raises(ValidationError, match="unknown label"):
        ml_client.data.get("ref", label="production")


def test_versions_are_immutable_except_mutable_fields(ml_client: MLClient, tmp_path: Path) -> None:
    csv = write_csv(tmp_path)
    other = write_csv(tmp_path / "other", body="a,b\n9,q\n")
    ml_client.data.create_or_update(Data(name="imm", path=str(csv), type="uri_file", version="1"))
    with pytest.raises(ImmutableField, match="path"):
        ml_client.data.create_or_update(
            Data(name="imm", path=str(other), type="uri_file", version="1")
        )
    with pytest.raises(Conflict, match="already exists"):
        ml_client.data.create(Data(name="imm", path=str(csv), type="uri_file", version="1"))
    updated = ml_client.data.create_or_update(
        Data(
            name="imm",
            path=str(csv),
            type="uri_file",
            version="1",
            description="new",
            tags={"team": "vision"},
        )
    )
    assert updated.description == "new" and updated.tags == {"team": "vision"}
    staged = ml_client.data.update("imm", "1", stage="Production", properties={"k": "v"})
    assert staged.stage == "Production" and staged.properties == {"k": "v"}
    with pytest.raises(ImmutableField, match="path"):
        ml_client.data.update("imm", "1", path="elsewhere")
    assert ml_client.data.get("imm", "1").path == updated.path


def test_archive_and_restore(ml_client: MLClient, tmp_path: Path) -> None:
    csv = write_csv(tmp_path)
    for _ in range(2):
        ml_client.data.create_or_update(Data(name="arc", path=str(csv), type="uri_file"))
    ml_client.data.create_or_update(Data(name="keep", path=str(csv), type="uri_file"))

    ml_client.data.archive("arc", version="2")
    assert ml_client.data.get("arc", label="latest").version == "1"
    assert [d.version for d in ml_client.data.list(name="arc")] == ["1"]
    assert ml_client.data.get("arc", "2").archived is True
    archived = ml_client.data.list(name="arc", list_view_type=ListViewType.ARCHIVED_ONLY)
    assert [d.version for d in archived] == ["2"]

    ml_client.data.archive("arc")
    assert [d.name for d in ml_client.data.list()] == ["keep"]
    assert [d.name for d in ml_client.data.list(list_view_type="archived_only")] == ["arc"]
    assert {d.name for d in ml_client.data.list(list_view_type="all")} == {"arc", "keep"}

    ml_client.data.restore("arc")
    ml_client.data.restore("arc", version="2")
    assert ml_client.data.get("arc", label="latest").version == "2"
    assert {d.name for d in ml_client.data.list()} == {"arc", "keep"}


def test_list_filters_by_tag(ml_client: MLClient, tmp_path: Path) -> None:
    csv = write_csv(tmp_path)
    ml_client.data.create_or_update(
        Data(name="emea", path=str(csv), type="uri_file", tags={"region": "EMEA", "pii": ""})
    )
    ml_client.data.create_or_update(
        Data(name="us", path=str(csv), type="uri_file", tags={"region": "US"})
    )
    assert [d.name for d in ml_client.data.list(tags={"region": "EMEA"})] == ["emea"]
    assert [d.name for d in ml_client.data.list(tags={"pii": None})] == ["emea"]
    assert ml_client.data.list(tags={"region": "APAC"}) == []


def test_folder_and_mltable_assets_read_as_tables(ml_client: MLClient, tmp_path: Path) -> None:
    folder = tmp_path / "table"
    write_csv(folder / "data", "part1.csv", "x,y\n1,2\n3,4\n")
    (folder / "MLTable").write_text(
        "paths:\n  - pattern: ./data/*.csv\n"
        "transformations:\n  - read_delimited:\n      delimiter: ','\n  - take: 1\n"
    )
    table = ml_client.data.create_or_update(Data(name="tbl", path=str(folder), type="mltable"))
    assert table.path.endswith("/table")
    frame = ml_client.data.to_pandas_dataframe("tbl")
    assert frame.to_dict("records") == [{"x": 1, "y": 2}]
    profile = ml_client.data.profile("tbl")
    assert profile.rows == 1


def test_datastore_uri_paths_are_referenced_in_place(ml_client: MLClient) -> None:
    store = ml_client.datastores.get("workspaceblobstore")
    target = Path(store.path) / "raw" / "events.csv"  # type: ignore[attr-defined]
    write_csv(target.parent, target.name)
    data = ml_client.data.create_or_update(
        Data(
            name="events",
            type="uri_file",
            path="azureml://datastores/workspaceblobstore/paths/raw/events.csv",
        )
    )
    assert data.path == "azureml://datastores/workspaceblobstore/paths/raw/events.csv"
    assert len(ml_client.data.to_pandas_dataframe("events")) == 2


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("azureml://datastores/nope/paths/x.csv", ValidationError, "unknown datastore 'nope'"),
        ("azureml://datastores/workspaceblobstore/paths/../../etc/passwd", UnsafePath, ".."),
        ("azureml://datastores/workspaceblobstore/paths/%2e%2e/secret", UnsafePath, "path"),
        (
            "azureml://datastores/workspaceblobstore/paths/missing.csv",
            ValidationError,
            "nothing at that path",
        ),
        ("file:///etc/passwd", ValidationError, "not allowed"),
    ],
)
def test_bad_paths_are_refused_and_nothing_is_written(
    ml_client: MLClient, path: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ml_client.data.create_or_update(Data(name="bad", path=path, type="uri_file"))
    assert ml_client.data.list() == []


def test_missing_local_path_is_refused(ml_client: MLClient, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        ml_client.data.create_or_update(Data(name="gone", path=str(tmp_path / "nope.csv")))
    assert ml_client.data.list() == []


def test_symlink_out_of_datastore_is_refused(ml_client: MLClient, tmp_path: Path) -> None:
    secret = write_csv(tmp_path / "outside", "secret.csv")
    root = Path(ml_client.datastores.get("workspaceblobstore").path)  # type: ignore[attr-defined]
    os.symlink(secret, root / "link.csv")
    with pytest.raises(UnsafePath):
        ml_client.data.create_or_update(
            Data(
                name="link",
                type="uri_file",
                path="azureml://datastores/workspaceblobstore/paths/link.csv",
            )
        )


def test_download_writes_the_files(ml_client: MLClient, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    write_csv(folder, "a.csv")
    write_csv(folder / "sub", "b.csv")
    ml_client.data.create_or_update(Data(name="dl", path=str(folder), type=AssetTypes.URI_FOLDER))
    written = ml_client.data.download("dl", download_path=tmp_path / "out")
    files = sorted(p.relative_to(written).as_posix() for p in written.rglob("*") if p.is_file())
    assert files == ["a.csv", "sub/b.csv"]
    assert (written / "a.csv").read_text() == "a,b\n1,x\n2,y\n"


def test_invalid_names_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid name"):
        Data(name="-bad name", path="x")
    with pytest.raises(ValueError, match="invalid version"):
        Data(name="ok", path="x", version="1/2")
