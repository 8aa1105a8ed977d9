"""The engine behind Azure ML `type: parallel` steps: an entry script over mini-batches.

A parallel step runs as an ordinary command job whose command is the driver
(`python -m orchard.parallel.driver ...`, built by `command.driver_command`). The driver
splits the input (`batches`), runs the script's `init()`/`run()` in worker processes
(`worker`, `pool`), retries and counts failures (`engine`), and appends returned rows in
mini-batch order (`results`). Nothing here imports Orchard's server stack: the driver
runs under the job environment's interpreter: Python 3.8 or later (3.10 for tabular
input).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# azure.ai.ml.parallel's names, imported on first use: the driver, which imports this
# package under a job environment's interpreter, must not pull in the SDK (or pydantic).
_EXPORTS = {"parallel_run_function": "orchard.sdk.parallel", "RunFunction": "orchard.sdk.parallel"}

__all__ = ["RunFunction", "parallel_run_function"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'orchard.parallel' has no attribute {name!r}")
