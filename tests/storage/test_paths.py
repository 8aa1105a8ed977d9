"""clean_relative_path refuses every way out of a datastore; safe_join refuses symlinks out."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from orchard.errors import UnsafePath
from orchard.storage.paths import clean_relative_path, safe_join

TRAVERSALS = [
    # plain parent segments
    "..",
    "../x",
    "a/../b",
    "a/b/..",
    "a/../../etc/passwd",
    # absolute paths
    "/etc/passwd",
    "\\windows\\system32",
    "\\\\server\\share\\x",
    "C:\\x",
    "C:/x",
    "c:x",
    # backslash separators smuggling `..`
    "..\\x",
    "a\\..\\..\\x",
    "a/..\\b",
    # NUL and control characters
    "a\x00b",
    "a/b\x00.txt",
    "a\nb",
    "a\rb",
    "a\tb",
    "a\x1bb",
    "a\x7fb",
    # URL schemes, including an empty one
    "file:/etc/passwd",
    "file:///etc/passwd",
    "s3://bucket/key",
    "azureml:foo",
    "://x",
    ":x",
    # percent-encoded once
    "%2e%2e",
    "%2e%2e/x",
    "a/%2e%2e/b",
    "%2E%2E%2Fetc",
    "..%2fetc",
    "%2fetc/passwd",
    "a%2fb",
    "%5c..%5cx",
    "a%5cb",
    "a%00b",
    "file%3a/x",
    # percent-encoded twice and three times
    "%252e%252e",
    "%252e%252e/x",
    "a/%252e%252e/b",
    "%252fetc",
    "%255c..",
    "a%2500b",
    "%25252e%25252e",
    # `;` and `#` tricks
    "a/..;/b",
    "..;/x",
    "..;jsessionid=1/x",
    "a/#/../b",
    "a/..#/b",
    "%2e%2e%3b/x",
    # Windows quirks: trailing dots and spaces fold to `..`
    "a/.../b",
    "a/.. /b",
    # Unicode compatibility forms of `.` and `/`
    "\uff0e\uff0e/x",
    "a\uff0f..\uff0fb",
    "\u2025/x",
]


@pytest.mark.parametrize("value", TRAVERSALS)
def test_traversal_variants_are_refused(value: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        clean_relative_path(value, what="data path")
    assert caught.value.message.startswith(f"unsafe data path {value!r}: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        (".", ""),
        ("./", ""),
        ("a", "a"),
        ("a/b/c", "a/b/c"),
        ("a//b///c/", "a/b/c"),
        ("./a/./b/.", "a/b"),
        ("a\\b\\c.txt", "a/b/c.txt"),
        ("..foo/bar..", "..foo/bar.."),
        (".hidden/.x", ".hidden/.x"),
        ("a b/c%20d", "a b/c%20d"),
        ("100%/x", "100%/x"),
        ("2024-01-01T10:00:00.json", "2024-01-01T10:00:00.json"),
        ("dir/name:with:colons", "dir/name:with:colons"),
        ("données/ファイル.csv", "données/ファイル.csv"),
        ("a/%2e/b", "a/%2e/b"),
    ],
)
def test_good_paths_are_normalised(value: str, expected: str) -> None:
    assert clean_relative_path(value) == expected


def test_the_message_names_what_and_the_value() -> None:
    with pytest.raises(UnsafePath) as caught:
        clean_relative_path("../secret", what="snapshot path")
    assert caught.value.message == "unsafe snapshot path '../secret': has a '..' segment"
    assert caught.value.code == "UNSAFE_PATH"
    assert caught.value.http_status == 400


def test_non_strings_are_refused() -> None:
    with pytest.raises(UnsafePath, match="path must be a string, got bytes"):
        clean_relative_path(b"a/b")  # type: ignore[arg-type]


def test_safe_join_joins_inside_the_root(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "a/./b//c.txt") == tmp_path / "a" / "b" / "c.txt"
    assert safe_join(tmp_path, "") == tmp_path


def test_safe_join_refuses_traversal(tmp_path: Path) -> None:
    with pytest.raises(UnsafePath, match=re.escape("has a '..' segment")):
        safe_join(tmp_path, "a/../../x")


def test_safe_join_refuses_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.txt", root / "file-link")
    for relative in ("link", "link/secret.txt", "file-link", "link/not-there-yet"):
        with pytest.raises(UnsafePath, match="a symbolic link leads out of"):
            safe_join(root, relative)


def test_safe_join_allows_a_symlink_that_stays_inside(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.txt").write_text("x")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert safe_join(tmp_path, "alias/x.txt") == tmp_path / "alias" / "x.txt"


def test_safe_join_works_when_the_root_itself_is_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "root-alias")
    assert safe_join(tmp_path / "root-alias", "x") == tmp_path / "root-alias" / "x"
