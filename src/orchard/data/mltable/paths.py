"""URIs and ``paths`` entries: resolving them to files through a resolver.

Every file access goes through a *resolver*: a function mapping a URI to an fsspec
filesystem and a path inside it. Relative entries are joined to the MLTable's own URI
first, and may not climb out of its folder.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import fsspec
from fsspec.implementations.local import LocalFileSystem

from orchard.data.mltable.values import Loc, single_key
from orchard.errors import OrchardError

Resolver: TypeAlias = Callable[[str], tuple[fsspec.AbstractFileSystem, str]]

SPEC_FILE_NAME = "MLTable"

_PATH_KINDS = ("file", "folder", "pattern")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_NETWORK_SCHEMES = frozenset({"http", "https"})
_GLOB_CHARS = frozenset("*?[")


def default_resolver(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """Plain paths go to the local filesystem, URLs to fsspec's filesystem for their scheme."""
    if _SCHEME.match(uri):
        fs, path = fsspec.core.url_to_fs(uri)
        return fs, str(path)
    return LocalFileSystem(), os.path.abspath(uri)


def _refuse_network(uri: str, loc: Loc) -> None:
    match = _SCHEME.match(uri)
    if match and match.group(1).lower() in _NETWORK_SCHEMES:
        raise loc.error(
            f"{uri}: http(s) URLs are not supported; Orchard reads no data over the web"
        )


def resolve_uri(resolve: Resolver, uri: str, loc: Loc) -> tuple[Any, str]:
    """``resolve(uri)``, refusing web URLs and explaining what fsspec cannot open."""
    _refuse_network(uri, loc)
    try:
        return resolve(uri)
    except OrchardError:
        raise  # the storage layer's own errors (unknown datastore, unsafe path) say enough
    except (ValueError, ImportError) as exc:  # fsspec: unknown scheme, or its driver missing
        raise loc.error(f"cannot open {uri}: {exc}") from exc


def join_uri(base: str, relative: str) -> str:
    if relative in ("", "."):
        return base
    return f"{base.rstrip('/')}/{relative}" if base else relative


def _or_top(head: str, uri: str) -> str:
    """``head``, or when it is empty the top ``uri`` starts from: ``/`` or ``.``."""
    if head:
        return head
    return "/" if uri.startswith("/") else "."


def parent_uri(uri: str) -> str:
    head, _, _ = uri.rstrip("/").rpartition("/")
    return _or_top(head, uri)


def _relative(path: str, root: str) -> str:
    """``path`` below ``root``, as fsspec listed it (both are paths in the same filesystem)."""
    prefix = root.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else posixpath.basename(path)


def _is_hidden(relative: str) -> bool:
    # Hadoop's convention: .crc, _SUCCESS, _delta_log and editor droppings are not data.
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _is_not_spec(path: str) -> bool:
    return posixpath.basename(path) != SPEC_FILE_NAME


@dataclass(frozen=True)
class PathEntry:
    """One ``paths`` entry: ``value`` as written, ``uri`` joined to the MLTable's folder."""

    kind: str  # file, folder or pattern
    value: str
    uri: str


@dataclass(frozen=True)
class File:
    """One file to read: its URI as users see it, and where the resolver put it."""

    uri: str
    fs: Any
    path: str

    def read_bytes(self, loc: Loc) -> bytes:
        try:
            with self.fs.open(self.path, "rb") as handle:
                return bytes(handle.read())
        except OSError as exc:
            raise loc.error(f"cannot read {self.uri}: {exc}") from exc


def folder_files(uri: str, fs: Any, path: str, keep: Callable[[str], bool]) -> list[File]:
    """The files below a folder, recursively and in order, that are not hidden and ``keep``."""
    found = sorted(str(p) for p in fs.find(path))  # recursive, files only, like Azure
    relatives = [(p, _relative(p, path)) for p in found]
    return [
        File(join_uri(uri, rel), fs, p) for p, rel in relatives if not _is_hidden(rel) and keep(p)
    ]


def parse_paths(value: Any, base_uri: str, loc: Loc) -> list[PathEntry]:
    if not isinstance(value, list) or not value:
        raise loc.error("must be a non-empty list of file, folder or pattern entries")
    return [_parse_path(item, base_uri, loc.at(index)) for index, item in enumerate(value)]


def _parse_path(item: Any, base_uri: str, loc: Loc) -> PathEntry:
    kind, value = single_key(item, loc, "of file, folder, pattern")
    if kind not in _PATH_KINDS:
        raise loc.error(f"unknown path kind {kind!r}; expected file, folder or pattern")
    if not isinstance(value, str) or not value.strip():
        raise loc.at(kind).error(f"must be a non-empty path, got {value!r}")
    _refuse_network(value, loc)
    return PathEntry(kind, value, _entry_uri(kind, value, base_uri, loc))


def _entry_uri(kind: str, value: str, base_uri: str, loc: Loc) -> str:
    if _SCHEME.match(value) or value.startswith("/"):
        return value
    relative = posixpath.normpath(value)
    if relative == ".." or relative.startswith("../"):
        raise loc.error(f"{kind} {value} points outside the MLTable folder")
    return join_uri(base_uri, relative)


def expand(entry: PathEntry, resolve: Resolver, loc: Loc) -> list[File]:
    """The files one entry stands for; the MLTable file itself is never one of them."""
    if entry.kind == "pattern":
        return _expand_pattern(entry, resolve, loc)
    fs, path = resolve_uri(resolve, entry.uri, loc)
    if entry.kind == "file":
        if not fs.isfile(path):
            raise loc.error(f"file {entry.value} does not exist")
        return [File(entry.uri, fs, path)]
    if not fs.isdir(path):
        raise loc.error(f"folder {entry.value} does not exist")
    return folder_files(entry.uri, fs, path, _is_not_spec)


def _split_glob(uri: str) -> tuple[str, str]:
    """``(folder URI before the first wildcard segment, the rest of the pattern)``."""
    scheme = _SCHEME.match(uri)
    head = scheme.group(0) if scheme else ""
    parts = uri[len(head) :].split("/")
    first = next((i for i, part in enumerate(parts) if _GLOB_CHARS & set(part)), len(parts) - 1)
    return _or_top(head + "/".join(parts[:first]), uri), "/".join(parts[first:])


def _expand_pattern(entry: PathEntry, resolve: Resolver, loc: Loc) -> list[File]:
    root_uri, rest = _split_glob(entry.uri)
    # Resolve the fixed part only: a resolver maps folders, not wildcards, to storage.
    fs, root = resolve_uri(resolve, root_uri, loc)
    matches = fs.glob(f"{root.rstrip('/')}/{rest}", detail=True)
    files = sorted(str(p) for p, info in matches.items() if info.get("type") == "file")
    files = [p for p in files if _is_not_spec(p)]
    if not files:
        raise loc.error(f"pattern {entry.value} matched no files")
    return [File(join_uri(root_uri, _relative(p, root)), fs, p) for p in files]
