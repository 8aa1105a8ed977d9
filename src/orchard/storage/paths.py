"""Relative paths that cannot escape their datastore or snapshot.

Every path a user (or a remote listing) hands us is checked here before it touches a
file system. The checks run on the path as given and on each stage of percent-decoding
and Unicode compatibility folding, because some layer between the user and the disk
(a web server, a URL library, an object store) may decode once more than we expect.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

from orchard.errors import UnsafePath

# %252e%252e is `..` encoded twice; a third round also catches a triple encoding while
# still bounding the work a crafted string can cause.
_DECODE_ROUNDS = 3
_SEPARATORS = re.compile(r"[/\\]")
# Windows-style separators are treated as separators everywhere: a check that splits
# on one set of characters while the file system splits on another is how `..\` leaks.
_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# Servlet containers read `..;x` as `..`, and URL parsers cut at `#`; judge a segment by
# what is left before either.
_SEGMENT_SUFFIX = re.compile(r"[;#]")


def clean_relative_path(path: str, *, what: str = "path") -> str:
    """Validate ``path`` and return it as posix ``a/b/c`` ("" for the root).

    Empty segments and ``.`` are dropped and backslashes become ``/``. The result keeps
    the literal characters given: percent-escapes are decoded only to be checked.
    Raises ``UnsafePath`` naming ``what`` and the value for anything that could escape.
    """
    if not isinstance(path, str):
        raise UnsafePath(f"{what} must be a string, got {type(path).__name__}")
    reason = _first_danger(path)
    if reason is not None:
        raise UnsafePath(f"unsafe {what} {path!r}: {reason}", details={"value": path})
    return "/".join(seg for seg in _SEPARATORS.split(path) if seg not in ("", "."))


def is_inside(path: str, root: str) -> bool:
    """Whether the (already resolved) ``path`` is ``root`` or lies below it."""
    if path == root:
        return True
    return path.startswith(root.rstrip(os.sep) + os.sep)


def safe_join(root: Path, relative: str, *, what: str = "path") -> Path:
    """Join a cleaned ``relative`` to ``root`` and refuse it if its real path leaves root.

    Symbolic links are resolved (``os.path.realpath``) on both sides, so a link inside the
    root that points elsewhere is refused. The returned path is the lexical join, which
    keeps the caller's spelling of ``root``.
    """
    cleaned = clean_relative_path(relative, what=what)
    candidate = Path(root, cleaned) if cleaned else Path(root)
    real_root = os.path.realpath(root)
    if not is_inside(os.path.realpath(candidate), real_root):
        raise UnsafePath(
            f"unsafe {what} {relative!r}: a symbolic link leads out of {root}",
            details={"value": relative},
        )
    return candidate


def _first_danger(path: str) -> str | None:
    stages = _decoded_stages(path)
    for stage in stages:
        for variant in (stage, unicodedata.normalize("NFKC", stage)):
            reason = _danger(variant)
            if reason is not None:
                return reason
    for before, after in itertools.pairwise(stages):
        # A separator that only appears after decoding (`a%2f..`) means two layers would
        # disagree on where the segments are; no honest file name needs that.
        if len(_SEPARATORS.findall(after)) > len(_SEPARATORS.findall(before)):
            return "contains a percent-encoded separator"
    return None


def _decoded_stages(path: str) -> list[str]:
    stages = [path]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(stages[-1])
        if decoded == stages[-1]:
            break
        stages.append(decoded)
    return stages


def _danger(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL byte"
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in value):
        return "contains a control character"
    if value.startswith(("/", "\\")):
        return "is absolute"
    if _DRIVE.match(value):
        return "starts with a drive letter"
    if value.startswith(":") or _SCHEME.match(value):
        return "starts with a URL scheme"
    if any(_is_parent_segment(seg) for seg in _SEPARATORS.split(value)):
        return "has a '..' segment"
    return None


def _is_parent_segment(segment: str) -> bool:
    core = _SEGMENT_SUFFIX.split(segment, maxsplit=1)[0].strip()
    # Windows drops trailing dots and spaces, so `...` and `.. ` can mean `..` there.
    return len(core) >= 2 and set(core) == {"."}
