"""What every service needs: the store, where files live, the secret box, the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from orchard.security.secrets import SecretBox, key_id, load_master_key
from orchard.store import Store


@dataclass
class Context:
    store: Store
    home: Path  # holds the master key file and, by default, the workspaces' files
    storage_root: Path | None = None
    user: str = field(default_factory=lambda: _local_user())

    @property
    def files_root(self) -> Path:
        return self.storage_root or self.home / "workspaces"

    def workspace_files(self, workspace: str) -> Path:
        return self.files_root / workspace

    @cached_property
    def master_key(self) -> bytes:
        return load_master_key(self.home)

    @cached_property
    def secret_box(self) -> SecretBox:
        return SecretBox(self.master_key)

    @cached_property
    def key_id(self) -> str:
        return key_id(self.master_key)


def _local_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"
