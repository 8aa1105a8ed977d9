"""Asset references in every form Azure ML specs write them.

``azureml:name:version``, ``azureml:name@latest``, ``name:version``, ``name@label``,
``azureml://registries/<r>/<kind>/<name>/versions/<v>`` (or ``/labels/<l>``), and the
ARM-style ``azureml:/subscriptions/.../workspaces/<ws>/<kind>/<name>/versions/<v>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchard.errors import ValidationError

_KIND_SEGMENTS = {
    "data": "data",
    "datasets": "data",
    "models": "model",
    "environments": "environment",
    "components": "component",
}
_ARM = re.compile(
    r"^azureml:/?/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/"
    r"(?P<kind>[a-z]+)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)
_REGISTRY = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/(?P<kind>[a-z]+)/(?P<name>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+)|/labels/(?P<label>[^/]+))?$",
    re.IGNORECASE,
)
_WORKSPACE_URI = re.compile(
    r"^azureml://(?:locations/[^/]+/)?(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/)?"
    r"workspaces/(?P<ws>[^/]+)/(?P<kind>[a-z]+)/(?P<name>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+)|/labels/(?P<label>[^/]+))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AssetRef:
    """A parsed reference: name plus exactly one of version or label (default latest)."""

    name: str
    version: str | None = None
    label: str | None = None
    registry: str | None = None
    workspace: str | None = None
    kind: str | None = None

    @property
    def selector(self) -> str:
        return f"{self.name}:{self.version}" if self.version else f"{self.name}@{self.label}"


def parse_asset_ref(text: str, *, default_label: str = "latest") -> AssetRef:
    """Parse any reference form; a bare name means `name@latest`."""
    value = text.strip()
    for pattern in (_ARM, _REGISTRY, _WORKSPACE_URI):
        match = pattern.match(value)
        if match:
            parts = match.groupdict()
            version = parts.get("version")
            label = parts.get("label") or (None if version else default_label)
            return AssetRef(
                name=parts["name"],
                version=version,
                label=label,
                registry=parts.get("registry"),
                workspace=parts.get("ws"),
                kind=_KIND_SEGMENTS.get(parts["kind"].lower()),
            )
    if value.startswith("azureml://"):
        raise ValidationError(f"unrecognised asset reference {text!r}")
    value = value.removeprefix("azureml:")
    if not value or "/" in value:
        raise ValidationError(
            f"invalid asset reference {text!r}: expected name:version or name@label"
        )
    if "@" in value:
        name, _, label = value.partition("@")
        return AssetRef(name=name, label=label or default_label)
    name, sep, version = value.partition(":")
    if sep and not version:
        raise ValidationError(f"invalid asset reference {text!r}: empty version after ':'")
    return AssetRef(name=name, version=version or None, label=None if version else default_label)


def is_asset_ref(text: str) -> bool:
    """True for `azureml:` references that name an asset rather than a storage path."""
    return text.startswith("azureml:") and "/datastores/" not in text and "/jobs/" not in text
