"""`orchard data|model|environment` as a user runs them: real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import Cli

SCHEMA = "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_data_create_from_spec_with_overrides(cli: Cli) -> None:
    write(cli.cwd / "data" / "iris.csv", "a,b\n1,2\n3,4\n")
    write(
        cli.cwd / "spec" / "data.yml",
        SCHEMA + "name: iris\ntype: uri_file\npath: ../data/iris.csv\ndescription: first\n",
    )
    created = cli.ok(
        "data",
        "create",
        "-f",
        "spec/data.yml",
        "--set",
        "description=overridden",
        "--version",
        "7",
        "-o",
        "json",
    )
    body = json.loads(created.stdout)
    assert body["name"] == "iris" and body["version"] == "7"
    assert body["description"] == "overridden"
    assert body["path"].startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    shown = yaml.safe_load(cli.ok("data", "show", "-n", "iris", "-v", "7", "-o", "yaml").stdout)
    assert shown["path"] == body["path"]


def test_data_create_by_flags_and_list_versions(cli: Cli) -> None:
    write(cli.cwd / "rows.csv", "a\n1\n")
    for _ in range(2):
        cli.ok("data", "create", "--name", "rows", "--type", "uri_file", "--path", "rows.csv")
    listed = json.loads(cli.ok("data", "list", "-n", "rows", "-o", "json").stdout)
    assert [item["version"] for item in listed] == ["2", "1"]
    table = cli.ok("data", "list").stdout
    assert "rows" in table and "uri_file" in table


def test_existing_version_is_an_error_and_changes_nothing(cli: Cli) -> None:
    write(cli.cwd / "a.csv", "a\n1\n")
    write(cli.cwd / "b.csv", "a\n2\n")
    cli.ok("data", "create", "-n", "d", "-v", "1", "--type", "uri_file", "--path", "a.csv")
    again = cli("data", "create", "-n", "d", "-v", "1", "--type", "uri_file", "--path", "b.csv")
    assert again.code == 4
    assert "d:1 already exists" in again.stderr
    listed = json.loads(cli.ok("data", "list", "-n", "d", "-o", "json").stdout)
    assert len(listed) == 1


def test_unknown_field_warns_with_hint_and_strict_refuses(cli: Cli) -> None:
    write(cli.cwd / "a.csv", "a\n1\n")
    write(cli.cwd / "d.yml", "name: typo\ntype: uri_file\ndescripton: x\npath: a.csv\n")
    lenient = cli.ok("data", "create", "-f", "d.yml")
    assert "d.yml: unknown field 'descripton'; did you mean 'description'?" in lenient.stderr
    strict = cli("data", "create", "-f", "d.yml", "--strict", "-n", "typo2")
    assert strict.code == 2 and "descripton" in strict.stderr
    assert json.loads(cli.ok("data", "list", "-o", "json").stdout)[0]["name"] == "typo"


def test_bad_specs_exit_non_zero_with_file_and_field(cli: Cli) -> None:
    write(cli.cwd / "a.csv", "a\n1\n")
    cases = {
        "malformed.yml": ("name: x\ntype: [uri_file\n", "malformed YAML"),
        "enum.yml": ("name: x\ntype: csv\npath: a.csv\n", "field 'type'"),
        "name.yml": ("name: 'bad name!'\ntype: uri_file\npath: a.csv\n", "invalid name"),
        "missing.yml": ("name: x\ntype: uri_file\npath: nowhere.csv\n", "does not exist"),
        "datastore.yml": (
            "name: x\ntype: uri_file\npath: azureml://datastores/ghost/paths/a.csv\n",
            "unknown datastore 'ghost'",
        ),
        "escape.yml": (
            "name: x\ntype: uri_file\n"
            "path: azureml://datastores/workspaceblobstore/paths/%252e%252e/x\n",
            "workspaceblobstore",
        ),
    }
    for file, (text, message) in cases.items():
        write(cli.cwd / file, text)
        result = cli("data", "create", "-f", file)
        assert result.code != 0, file
        assert message in result.stderr, (file, result.stderr)
        assert "Traceback" not in result.stderr
    assert json.loads(cli.ok("data", "list", "-o", "json").stdout) == []


def test_update_archive_restore(cli: Cli) -> None:
    write(cli.cwd / "a.csv", "a\n1\n")
    cli.ok("data", "create", "-n", "u", "--type", "uri_file", "--path", "a.csv")
    updated = json.loads(
        cli.ok(
            "data",
            "update",
            "-n",
            "u",
            "-v",
            "1",
            "--set",
            "description=better",
            "--set",
            "tags.team=vision",
            "-o",
            "json",
        ).stdout
    )
    assert updated["description"] == "better" and updated["tags"] == {"team": "vision"}
    refused = cli("data", "update", "-n", "u", "-v", "1", "--set", "path=elsewhere")
    assert refused.code == 4 and "path cannot change" in refused.stderr
    cli.ok("data", "archive", "-n", "u", "-v", "1")
    assert json.loads(cli.ok("data", "list", "-o", "json").stdout) == []
    archived = json.loads(cli.ok("data", "list", "--archived-only", "-n", "u", "-o", "json").stdout)
    assert [a["version"] for a in archived] == ["1"]
    cli.ok("data", "restore", "-n", "u", "-v", "1")
    assert len(json.loads(cli.ok("data", "list", "-o", "json").stdout)) == 1


def test_download_and_profile(cli: Cli) -> None:
    write(cli.cwd / "t.csv", "x,y\n1,a\n2,\n3,c\n")
    cli.ok("data", "create", "-n", "t", "--type", "uri_file", "--path", "t.csv")
    cli.ok("data", "download", "-n", "t", "--download-path", "out")
    assert (cli.cwd / "out" / "t" / "t.csv").read_text() == "x,y\n1,a\n2,\n3,c\n"
    profile = json.loads(cli.ok("data", "profile", "-n", "t", "-o", "json").stdout)
    assert profile["rows"] == 3
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["x"]["min"] == 1 and columns["x"]["max"] == 3 and columns["x"]["mean"] == 2
    assert columns["y"]["missing"] == 1


def test_model_and_environment_create_by_flags(cli: Cli) -> None:
    write(cli.cwd / "model" / "model.pkl", "weights")
    write(cli.cwd / "conda.yml", "name: e\ndependencies:\n  - python=3.11\n")
    cli.ok(
        "model",
        "create",
        "--name",
        "m",
        "--version",
        "1",
        "--type",
        "custom_model",
        "--path",
        "model",
    )
    cli.ok("model", "download", "-n", "m", "-v", "1", "-p", "dl")
    assert (cli.cwd / "dl" / "m" / "model" / "model.pkl").read_text() == "weights"
    env = json.loads(
        cli.ok(
            "environment",
            "create",
            "--name",
            "e",
            "--version",
            "1",
            "--image",
            "python:3.11",
            "--conda-file",
            "conda.yml",
            "-o",
            "json",
        ).stdout
    )
    assert env["conda_file"]["dependencies"] == ["python=3.11"]
    tagged = json.loads(cli.ok("model", "list", "-n", "m", "--tag", "none=x", "-o", "json").stdout)
    assert tagged == []
