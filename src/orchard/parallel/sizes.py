"""`--mini-batch-size`: a number of files (`10`) or of bytes (`100kb`, `10mb`, `1gb`).

orchard.entities.parallel parses the same grammar for specs; this copy keeps the driver
free of pydantic at start (a test holds the two to the same answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]b)?\s*$", re.IGNORECASE)
_UNITS = {"kb": 1024, "mb": 1024**2, "gb": 1024**3}
DEFAULT_FILES = 10
DEFAULT_TABULAR_BYTES = 1024**2


@dataclass(frozen=True)
class BatchSize:
    amount: int
    multiplier: int | None  # bytes per unit when a unit was written

    @property
    def by_bytes(self) -> bool:
        return self.multiplier is not None

    def as_bytes(self) -> int:
        """Bytes per batch; a bare number counts bytes for tabular input, as on Azure."""
        return self.amount * (self.multiplier or 1)


def parse_batch_size(text: str) -> BatchSize:
    found = _SIZE.match(text)
    if found is None or int(found.group(1)) < 1:
        raise ValueError(
            f"mini_batch_size: {text!r} is not a size; give a number of files such as "
            "'10', or bytes such as '100kb', '10mb', '1gb'"
        )
    unit = found.group(2)
    return BatchSize(int(found.group(1)), _UNITS[unit.lower()] if unit else None)
