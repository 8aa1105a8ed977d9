"""The `orchard` command's entry point: `orchard server` loads only what the server needs,
and the full command set is still there for everything else."""

from __future__ import annotations

import subprocess
import sys


def _imported_modules(*args: str) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orchard.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done.stdout, modules


def test_the_server_command_leaves_the_rest_of_the_cli_unloaded() -> None:
    usage, modules = _imported_modules("server", "--help")
    assert "main server [OPTIONS]" in usage and "--port" in usage
    assert "orchard.cli.server" in modules
    assert not {"orchard.cli.assets", "orchard.cli.jobs", "orchard.sdk.client"} & modules


def test_other_commands_see_every_group() -> None:
    usage, modules = _imported_modules("--help")
    for command in ("workspace", "data", "model", "job", "quickstart", "server", "version"):
        assert f" {command} " in usage, command
    assert "orchard.cli.assets" in modules
