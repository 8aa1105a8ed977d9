"""Writing MLTable folders to tmp_path and reading them back: shared by test_mltable_*."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from orchard.data.mltable import MLTable, MLTableError

PEOPLE = "id,name,score\n1,ann,1.5\n2,bob,2.5\n3,cy,3.5\n4,dee,4.5\n"


def make_table(root: Path, spec: str, files: dict[str, str | bytes] | None = None) -> Path:
    """Write an MLTable folder: the YAML spec plus data files relative to it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "MLTable").write_text(textwrap.dedent(spec))
    for relative, content in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def load(root: Path) -> pa.Table:
    return MLTable.load(str(root)).to_arrow_table()


def error_of(root: Path) -> str:
    with pytest.raises(MLTableError) as info:
        load(root)
    return str(info.value)


def csv_table(tmp_path: Path, steps: str, data: str = PEOPLE) -> Path:
    spec = "paths:\n  - file: ./data.csv\ntransformations:\n" + textwrap.dedent(steps)
    return make_table(tmp_path / "t", spec, {"data.csv": data})
