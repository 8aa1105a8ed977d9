"""Where a workspace store lives and which workspace a command means.

The home folder (`.orchard/`) is found like git finds `.git`: ``ORCHARD_HOME`` if set,
else the nearest `.orchard/` from the current directory upwards, else `~/.orchard`.
It holds the SQLite store (unless ``ORCHARD_DATABASE_URL`` names another), the default
datastores' files, the secret key file and `config.yaml` (the default workspace).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

HOME_DIR_NAME = ".orchard"
DEFAULT_WORKSPACE = "default"
CONFIG_FILE = "config.yaml"


def find_home(start: Path | None = None) -> Path:
    explicit = os.environ.get("ORCHARD_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HOME_DIR_NAME
        if candidate.is_dir():
            return candidate
    return Path.home() / HOME_DIR_NAME


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'orchard.db'}"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    workspace: str

    @classmethod
    def discover(
        cls,
        *,
        home: Path | None = None,
        workspace: str | None = None,
        database_url: str | None = None,
    ) -> Settings:
        root = (home or find_home()).resolve()
        return cls(
            home=root,
            database_url=database_url or os.environ.get("ORCHARD_DATABASE_URL") or sqlite_url(root),
            workspace=workspace
            or os.environ.get("ORCHARD_WORKSPACE")
            or read_default_workspace(root)
            or DEFAULT_WORKSPACE,
        )


def read_default_workspace(home: Path) -> str | None:
    path = home / CONFIG_FILE
    if not path.is_file():
        return None
    body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    value = body.get("workspace") if isinstance(body, dict) else None
    return str(value) if value else None


def write_default_workspace(home: Path, workspace: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(yaml.safe_dump({"workspace": workspace}), encoding="utf-8")
    temporary.replace(path)
