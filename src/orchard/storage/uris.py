"""Azure ML storage URIs: ``azureml://datastores/<name>/paths/<path>`` and kin."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchard.entities.datastores import DATASTORE_NAME_PATTERN
from orchard.errors import ValidationError
from orchard.storage.paths import clean_relative_path

_SHORT = re.compile(
    r"^azureml://datastores/(?P<datastore>[^/]+)/paths(?:/(?P<path>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
# The workspace-qualified form Azure ML prints in job outputs and the studio.
_LONG = re.compile(
    r"^azureml://subscriptions/[^/]+/resourcegroups/[^/]+/workspaces/[^/]+"
    r"/datastores/(?P<datastore>[^/]+)/paths(?:/(?P<path>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
# A scheme followed by `://`; a one-letter "scheme" is a Windows drive (`C://data`).
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")
_DATASTORE_NAME = re.compile(DATASTORE_NAME_PATTERN)


@dataclass(frozen=True)
class DatastoreUri:
    datastore: str
    path: str

    def __str__(self) -> str:
        return f"azureml://datastores/{self.datastore}/paths/{self.path}"


def parse_datastore_uri(uri: str) -> DatastoreUri | None:
    """The datastore and cleaned path of an ``azureml://`` datastore URI, else None.

    A URI of this shape with an unsafe path raises ``UnsafePath``; one whose datastore
    name breaks the naming rule raises ``ValidationError``.
    """
    match = _SHORT.match(uri) or _LONG.match(uri)
    if match is None:
        return None
    datastore = match.group("datastore")
    if not _DATASTORE_NAME.match(datastore):
        raise ValidationError(
            f"datastore URI {uri!r} names datastore {datastore!r}, which is not a valid "
            "datastore name (lowercase letters, digits and '_')"
        )
    path = clean_relative_path(match.group("path") or "", what=f"path in {uri!r}")
    return DatastoreUri(datastore=datastore, path=path)


def is_remote_uri(value: str) -> bool:
    """Whether ``value`` names something that is not a local file: a URL or an azureml ref."""
    return value[:8].lower() == "azureml:" or _REMOTE.match(value) is not None


def is_local_path(value: str) -> bool:
    """Whether ``value`` is a local file or folder path (neither a URL nor an azureml ref)."""
    return not is_remote_uri(value)
