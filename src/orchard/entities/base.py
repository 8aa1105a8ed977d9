"""Base models every asset shape is built from.

Entities are the one definition of an asset's shape: YAML specs load into them, API
bodies and CLI output are dumped from them. They forbid unknown fields; the spec
loader (``entities.spec``) turns unknown fields into warnings unless strict.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Azure ML's naming rules: a letter or digit first, then letters, digits, '-', '_', '.'.
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")
ASSET_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,29}$")


class Entity(BaseModel):
    """Strict base: unknown fields are errors, numbers given for strings are accepted."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        coerce_numbers_to_str=True,
        validate_assignment=True,
    )


class CreationContext(Entity):
    created_at: datetime | None = None
    created_by: str | None = None
    created_by_type: str | None = None
    last_modified_at: datetime | None = None
    last_modified_by: str | None = None
    last_modified_by_type: str | None = None


def string_values(value: Any) -> Any:
    """YAML reads `n: 1` as an int; Azure keeps tags, properties and environment variables
    as strings."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else _scalar_text(v) for k, v in value.items()}
    return value


class Resource(Entity):
    """Anything named in a workspace, with Azure's common descriptive fields."""

    schema_url: ClassVar[str] = ""
    # Fields that name local files; the spec loader resolves them against the spec's folder.
    local_path_fields: ClassVar[tuple[str, ...]] = ()

    schema_: str | None = Field(default=None, alias="$schema")
    name: str
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    # Set by the store; accepted back from a dumped spec and ignored on create.
    id: str | None = None
    creation_context: CreationContext | None = None

    _stringify_values = field_validator("tags", "properties", mode="before")(string_values)

    def to_spec(self) -> dict[str, Any]:
        """The YAML-shaped dict of this resource, with its `$schema` line first."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        body.pop("$schema", None)
        for empty in ("tags", "properties"):
            if not body.get(empty):
                body.pop(empty, None)
        return {"$schema": self.schema_url, **body} if self.schema_url else body


class Asset(Resource):
    """A versioned asset: immutable once created except the fields in MUTABLE_FIELDS."""

    kind: ClassVar[str] = ""
    MUTABLE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"description", "tags", "properties", "stage"}
    )

    version: str | None = None
    stage: str | None = None
    archived: bool = Field(default=False, exclude=False)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not ASSET_NAME.match(value):
            raise ValueError(
                f"invalid name {value!r}: use letters, digits, '-', '_' or '.', "
                "starting with a letter or digit, at most 255 characters"
            )
        return value

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str | None) -> str | None:
        if value is not None and not ASSET_VERSION.match(value):
            raise ValueError(
                f"invalid version {value!r}: use letters, digits, '-', '_' or '.', "
                "starting with a letter or digit, at most 30 characters"
            )
        return value

    @property
    def reference(self) -> str:
        return f"azureml:{self.name}:{self.version}" if self.version else f"azureml:{self.name}"


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
