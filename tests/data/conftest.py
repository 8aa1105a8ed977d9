"""Fixtures the data tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """A memory filesystem standing in for a datastore, under a folder unique to the test."""
    memory = fsspec.filesystem("memory")
    root = f"/{tmp_path.name}"
    yield memory, root
    if memory.exists(root):
        memory.rm(root, recursive=True)
