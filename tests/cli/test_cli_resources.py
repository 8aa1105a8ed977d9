"""`orchard workspace|datastore|compute`, init and error exits."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli


def test_workspace_create_list_show_delete(cli: Cli) -> None:
    created = json.loads(
        cli.ok("workspace", "create", "team-a", "--description", "A team", "-o", "json").stdout
    )
    assert created["name"] == "team-a" and created["description"] == "A team"
    again = cli("workspace", "create", "--name", "team-a")
    assert again.code == 4 and "already exists" in again.stderr
    names = [w["name"] for w in json.loads(cli.ok("workspace", "list", "-o", "json").stdout)]
    assert "team-a" in names
    cli.ok("workspace", "delete", "--name", "team-a", "--yes")
    gone = cli("workspace", "show", "--name", "team-a")
    assert gone.code == 3 and "not found" in gone.stderr


def test_invalid_workspace_name(cli: Cli) -> None:
    bad = cli("workspace", "create", "--name", "x")
    assert bad.code == 2 and "name" in bad.stderr


def test_datastore_secret_never_printed(cli: Cli) -> None:
    spec = cli.cwd / "blob.yml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/azureBlob.schema.json\n"
        "name: blob_example\ntype: azure_blob\ndescription: Datastore pointing to a blob\n"
        "account_name: mytestblobstore\ncontainer_name: data-container\n"
        "credentials:\n  account_key: XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXSECRET\n"
    )
    outputs = [
        cli.ok("datastore", "create", "-f", str(spec)),
        cli.ok("datastore", "show", "-n", "blob_example", "-o", "json"),
        cli.ok("datastore", "show", "-n", "blob_example", "-o", "yaml"),
        cli.ok("datastore", "list", "-o", "json"),
        cli.ok("datastore", "list"),
    ]
    for result in outputs:
        assert "SECRET" not in result.stdout + result.stderr
    shown = json.loads(outputs[1].stdout)
    assert shown["credentials"] == {"account_key": "**********"}
    listed = {d["name"] for d in json.loads(outputs[3].stdout)}
    assert listed == {"blob_example", "workspaceblobstore", "workspaceartifactstore"}
    cli.ok("datastore", "delete", "-n", "blob_example", "--yes")


def test_datastore_wrong_type_names_field(cli: Cli) -> None:
    spec = cli.cwd / "bad.yml"
    spec.write_text("name: bad_store\ntype: ftp\n")
    result = cli("datastore", "create", "-f", str(spec))
    assert result.code == 2
    assert "bad.yml" in result.stderr and "type" in result.stderr and "ftp" in result.stderr


def test_compute_by_flags_and_spec(cli: Cli) -> None:
    made = json.loads(
        cli.ok(
            "compute",
            "create",
            "--name",
            "train-pool",
            "--type",
            "amlcompute",
            "--min-instances",
            "0",
            "--max-instances",
            "4",
            "-o",
            "json",
        ).stdout
    )
    assert made["max_instances"] == 4
    spec = cli.cwd / "c.yml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json\n"
        "name: gpu-cluster\ntype: amlcompute\nsize: STANDARD_NC6\n"
        "min_instances: 2\nmax_instances: 1\n"
    )
    bad = cli("compute", "create", "-f", str(spec))
    assert bad.code == 2 and "min_instances" in bad.stderr
    names = [c["name"] for c in json.loads(cli.ok("compute", "list", "-o", "json").stdout)]
    assert names == ["cpu-cluster", "gpu-cluster", "train-pool"]


def test_init_creates_a_store_found_from_subfolders(cli: Cli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHARD_")}
    run = lambda *a, cwd: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "orchard.cli.main", *a],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    run("init", cwd=project)
    run("workspace", "create", "--name", "here-ws", cwd=project / "sub")
    listed = run("workspace", "list", "-o", "json", cwd=project / "sub")
    assert [w["name"] for w in json.loads(listed.stdout)] == ["here-ws"]
    assert (project / ".orchard" / "orchard.db").is_file()


def test_usage_errors_exit_2(cli: Cli) -> None:
    result = cli("data", "show")
    assert result.code == 2 and "--name" in result.stderr
