"""Whether a process on this machine still runs."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """True while `pid` runs; an exited child of ours that is not reaped yet (a zombie)
    counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not stat.read_text().split(") ", 1)[-1].startswith("Z")
    except OSError:
        # With no /proc, kill() finding it is all there is to know; with one, it just exited.
        return not Path("/proc").is_dir()
