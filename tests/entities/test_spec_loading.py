"""Loading specs: overrides, relative paths, strictness, and errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchard.entities.loaders import load_data, load_datastore, load_environment
from orchard.entities.spec import UnknownFieldWarning
from orchard.errors import SpecError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_relative_paths_resolve_against_the_spec_folder(tmp_path: Path) -> None:
    spec = write(tmp_path / "specs" / "d.yml", "name: d\ntype: uri_file\npath: ../data/x.csv\n")
    assert load_data(spec).path == str((tmp_path / "data" / "x.csv").resolve())
    remote = write(tmp_path / "r.yml", "name: r\npath: azureml://datastores/a/paths/b\n")
    assert load_data(remote).path == "azureml://datastores/a/paths/b"


def test_overrides_set_nested_fields_and_parse_yaml_scalars(tmp_path: Path) -> None:
    spec = write(tmp_path / "d.yml", "name: d\npath: s3://b/k\n")
    data = load_data(spec, params_override=["version=3", "tags.team=vision", "description=a b"])
    assert (data.version, data.tags, data.description) == ("3", {"team": "vision"}, "a b")
    with pytest.raises(SpecError, match="expected key=value"):
        load_data(spec, params_override=["novalue"])


def test_environment_conda_file_is_read_in(tmp_path: Path) -> None:
    write(tmp_path / "env" / "conda.yml", "dependencies:\n  - python=3.10\n")
    spec = write(tmp_path / "env" / "e.yml", "name: e\nimage: python\nconda_file: conda.yml\n")
    assert load_environment(spec).conda_file == {"dependencies": ["python=3.10"]}
    missing = write(tmp_path / "m.yml", "name: e\nconda_file: nope.yml\n")
    with pytest.raises(SpecError, match=r"m\.yml: field 'conda_file'"):
        load_environment(missing)


def test_orchard_strict_env_turns_warnings_into_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write(tmp_path / "d.yml", "name: d\npath: s3://b/k\nfrobnicate: 1\n")
    with pytest.warns(UnknownFieldWarning, match="unknown field 'frobnicate'"):
        load_data(spec)
    monkeypatch.setenv("ORCHARD_STRICT", "1")
    with pytest.raises(SpecError, match=r"d\.yml: unknown field 'frobnicate'"):
        load_data(spec)
    with pytest.warns(UnknownFieldWarning):  # an explicit choice beats the setting
        assert load_data(spec, strict=False).name == "d"


def test_nested_unknown_field_is_named_with_its_path(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "s.yml",
        "name: store\ntype: azure_blob\naccount_name: a\ncontainer_name: c\n"
        "credentials:\n  account_key: k\n  acount: x\n",
    )
    with pytest.warns(UnknownFieldWarning, match=r"unknown field 'credentials\.acount'"):
        assert load_datastore(spec).name == "store"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: d\npath: [unclosed\n", "malformed YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("name: d\npath: s3://b\ntype: table\n", "field 'type'"),
        ("path: s3://b\n", "field 'name': Field required"),
        ("name: d\npath: s3://b\ntags: [a]\n", "field 'tags'"),
    ],
)
def test_bad_specs_name_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    spec = write(tmp_path / "bad.yml", text)
    with pytest.raises(SpecError) as caught:
        load_data(spec)
    assert str(spec) in caught.value.message and message in caught.value.message


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_data(tmp_path / "nope.yml")
