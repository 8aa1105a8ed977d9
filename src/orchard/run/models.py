"""What `Run.register_model` returns: the registered version, shaped like azureml's Model."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: int | None  # None for an offline run, which registers nothing
    run_id: str
    source: str
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None

    @property
    def id(self) -> str:
        """Azure's model id, `<name>:<version>`."""
        return f"{self.name}:{self.version}"
