"""Reading a package index: every release file of a project, with its requires_python.

PyPI's JSON API (`https://pypi.org/pypi/<name>/json`) by default; when an index is
configured (UV_DEFAULT_INDEX, UV_INDEX_URL or PIP_INDEX_URL), that index's simple API,
as JSON (PEP 691) where it offers it, else as HTML (PEP 503).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

PYPI_JSON = "https://pypi.org/pypi/{name}/json"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_ANCHOR = re.compile(r"<a\s+([^>]*)>([^<]+)</a>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"([\w-]+)\s*=\s*\"([^\"]*)\"")


@dataclass(frozen=True)
class IndexFile:
    filename: str
    version: Version
    requires_python: str | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


class PackageIndex:
    """Release files of a project: PyPI's JSON API, or a configured index's simple API."""

    def __init__(self, index_url: str | None = None, client: httpx.Client | None = None) -> None:
        configured = index_url or next(
            (
                os.environ[name]
                for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")
                if os.environ.get(name)
            ),
            None,
        )
        # PyPI's own simple index is the JSON API's index; use the richer JSON API there.
        if configured and "pypi.org/simple" in configured:
            configured = None
        self.index_url = configured.rstrip("/") if configured else None
        self._client = client or httpx.Client(timeout=30, follow_redirects=True)

    def files(self, name: str) -> list[IndexFile] | None:
        """The project's non-yanked files, or None when the index does not know it."""
        project = canonicalize_name(name)
        if self.index_url is None:
            response = self._client.get(PYPI_JSON.format(name=project))
            if response.status_code == 404:
                return None
            response.raise_for_status()
            return list(read_json_api(response.json()))
        response = self._client.get(
            f"{self.index_url}/{project}/", headers={"Accept": f"{SIMPLE_JSON}, text/html;q=0.1"}
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        if response.headers.get("content-type", "").startswith(SIMPLE_JSON):
            return list(_from_simple_json(response.json()))
        return list(_from_simple_html(response.text))

    def close(self) -> None:
        self._client.close()


def read_json_api(body: dict[str, Any]) -> Iterable[IndexFile]:
    for text, files in (body.get("releases") or {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        for item in files:
            if not item.get("yanked"):
                yield IndexFile(item["filename"], version, item.get("requires_python"))


def _from_simple_json(body: dict[str, Any]) -> Iterable[IndexFile]:
    for item in body.get("files", []):
        version = _version_of(item["filename"])
        if version is not None and not item.get("yanked"):
            yield IndexFile(item["filename"], version, item.get("requires-python"))


def _from_simple_html(text: str) -> Iterable[IndexFile]:
    for attributes, label in _ANCHOR.findall(text):
        values = {k.lower(): html.unescape(v) for k, v in _ATTRIBUTE.findall(attributes)}
        filename = html.unescape(label).strip()
        version = _version_of(filename)
        yanked = re.search(r"\bdata-yanked\b", attributes) is not None
        if version is not None and not yanked:
            yield IndexFile(filename, version, values.get("data-requires-python"))


def _version_of(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
