"""Content-addressed snapshots: digests, ignore files, read-only copies, concurrent writers."""

from __future__ import annotations

import os
import re
import stat
import threading
from pathlib import Path

import pytest

from orchard.errors import NotFound, UnsafePath, ValidationError
from orchard.storage.snapshots import (
    CHUNK_SIZE,
    Snapshot,
    digest_of,
    iter_files,
    store_snapshot,
)

AML = (".amlignore", ".gitignore")


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def listed(source: Path, names: tuple[str, ...] = AML) -> list[str]:
    return [rel for rel, _ in iter_files(source, ignore_file_names=names)]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- iter_files -------------------------------------------------------------------------


def test_iter_files_yields_sorted_posix_paths_and_absolute_files(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"b.txt": "b", "a/z.txt": "z", "a/b/c.txt": "c", "a.txt": "a"})
    pairs = list(iter_files(src))
    assert [rel for rel, _ in pairs] == ["a.txt", "a/b/c.txt", "a/z.txt", "b.txt"]
    assert all(path.is_absolute() and path.is_file() for _, path in pairs)
    assert pairs[1][1].read_text() == "c"


def test_iter_files_on_a_single_file_yields_its_name(tmp_path: Path) -> None:
    single = write(tmp_path, {"model.pkl": "m"}) / "model.pkl"
    assert list(iter_files(single)) == [("model.pkl", single)]


def test_iter_files_on_a_missing_source_names_it(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nope does not exist"):
        list(iter_files(tmp_path / "nope"))


def test_gitignore_rules_apply_and_the_ignore_file_is_yielded(tmp_path: Path) -> None:
    src = write(
        tmp_path / "src",
        {
            ".gitignore": "*.log\nbuild/\n/top-only.txt\n",
            "keep.py": "",
            "debug.log": "",
            "sub/deep.log": "",
            "sub/top-only.txt": "",
            "top-only.txt": "",
            "build/out.bin": "",
            "sub/build/out.bin": "",
        },
    )
    assert listed(src) == [".gitignore", "keep.py", "sub/top-only.txt"]


def test_amlignore_takes_precedence_over_gitignore(tmp_path: Path) -> None:
    src = write(
        tmp_path / "src",
        {
            ".amlignore": "data/\n",
            ".gitignore": "*.py\n",
            "train.py": "",
            "data/big.csv": "",
            # In a sub-folder with only a .gitignore, that .gitignore is used.
            "sub/.gitignore": "*.tmp\n",
            "sub/x.tmp": "",
            "sub/x.py": "",
        },
    )
    assert listed(src) == [".amlignore", ".gitignore", "sub/.gitignore", "sub/x.py", "train.py"]


def test_amlignore_in_a_sub_folder_replaces_its_gitignore_there(tmp_path: Path) -> None:
    src = write(
        tmp_path / "src",
        {
            "sub/.amlignore": "*.csv\n",
            "sub/.gitignore": "*.py\n",
            "sub/a.csv": "",
            "sub/a.py": "",
            "b.csv": "",
        },
    )
    assert listed(src) == ["b.csv", "sub/.amlignore", "sub/.gitignore", "sub/a.py"]


def test_negation_re_includes_a_file(tmp_path: Path) -> None:
    src = write(
        tmp_path / "src",
        {
            ".gitignore": "*.csv\n!keep.csv\nlogs/*\n!logs/important.txt\n",
            "a.csv": "",
            "keep.csv": "",
            "logs/noise.txt": "",
            "logs/important.txt": "",
        },
    )
    assert listed(src) == [".gitignore", "keep.csv", "logs/important.txt"]


def test_a_deeper_ignore_file_overrides_a_shallower_one(tmp_path: Path) -> None:
    src = write(
        tmp_path / "src",
        {
            ".gitignore": "*.csv\n",
            "sub/.gitignore": "!wanted.csv\n",
            "sub/wanted.csv": "",
            "sub/other.csv": "",
        },
    )
    assert listed(src) == [".gitignore", "sub/.gitignore", "sub/wanted.csv"]


def test_ignore_files_are_not_read_unless_named(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {".gitignore": "*.csv\n", "a.csv": ""})
    assert listed(src, names=()) == [".gitignore", "a.csv"]


def test_a_symlink_out_of_the_source_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a.txt": "a"})
    write(tmp_path / "outside", {"secret.txt": "s"})
    os.symlink(tmp_path / "outside" / "secret.txt", src / "leak.txt")
    with pytest.raises(UnsafePath, match=re.escape("symbolic link 'leak.txt' leads out of")):
        list(iter_files(src))


def test_a_symlinked_folder_out_of_the_source_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a.txt": "a"})
    write(tmp_path / "outside", {"secret.txt": "s"})
    os.symlink(tmp_path / "outside", src / "leak")
    with pytest.raises(UnsafePath, match="symbolic link 'leak' leads out of"):
        list(iter_files(src))


def test_symlinks_inside_the_source_are_followed_as_files(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"real/data.csv": "1,2"})
    os.symlink(src / "real" / "data.csv", src / "alias.csv")
    os.symlink(src / "real", src / "alias-dir")
    pairs = dict(iter_files(src))
    assert sorted(pairs) == ["alias-dir/data.csv", "alias.csv", "real/data.csv"]
    assert pairs["alias.csv"] == (src / "real" / "data.csv").resolve()


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a/x.txt": "x"})
    os.symlink(src, src / "a" / "back-to-top")
    with pytest.raises(UnsafePath, match="loops back"):
        list(iter_files(src))


# --- digest_of --------------------------------------------------------------------------


def test_same_bytes_give_the_same_digest(tmp_path: Path) -> None:
    one = write(tmp_path / "one", {"a.txt": "alpha", "sub/b.bin": b"\x00\x01"})
    two = write(tmp_path / "two", {"sub/b.bin": b"\x00\x01", "a.txt": "alpha"})
    assert digest_of(one) == digest_of(two)
    assert len(digest_of(one)) == 64


@pytest.mark.parametrize(
    "other",
    [
        {"a.txt": "alphA"},  # one byte differs
        {"a2.txt": "alpha"},  # the file renamed
        {"a.txt": "alpha", "sub/c.txt": ""},  # an empty file added
        {"sub/a.txt": "alpha"},  # the file moved into a folder
    ],
)
def test_different_content_gives_a_different_digest(tmp_path: Path, other: dict[str, str]) -> None:
    one = write(tmp_path / "one", {"a.txt": "alpha"})
    two = write(tmp_path / "two", dict(other))
    assert digest_of(one) != digest_of(two)


def test_a_single_file_digest_covers_its_name_and_bytes(tmp_path: Path) -> None:
    write(tmp_path / "x", {"m.bin": "same"})
    write(tmp_path / "y", {"m.bin": "same", "n.bin": "same"})
    assert digest_of(tmp_path / "x" / "m.bin") == digest_of(tmp_path / "y" / "m.bin")
    assert digest_of(tmp_path / "y" / "m.bin") != digest_of(tmp_path / "y" / "n.bin")
    # A folder holding only m.bin is not the file m.bin.
    assert digest_of(tmp_path / "x") != digest_of(tmp_path / "x" / "m.bin")


def test_ignored_files_do_not_change_the_digest(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {".amlignore": "*.log\n", "a.py": "print(1)"})
    before = digest_of(src, ignore_file_names=AML)
    write(src, {"run.log": "noise"})
    assert digest_of(src, ignore_file_names=AML) == before
    assert digest_of(src) != before


def test_a_large_file_streams_in_chunks(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        for index in range(3):
            handle.write(bytes([index]) * CHUNK_SIZE)
        handle.write(b"tail")
    copy = tmp_path / "copy" / "big.bin"
    copy.parent.mkdir()
    copy.write_bytes(big.read_bytes())
    assert digest_of(big) == digest_of(copy)


# --- store_snapshot ---------------------------------------------------------------------


def test_store_snapshot_copies_into_the_digest_folder(tmp_path: Path) -> None:
    src = write(tmp_path / "project", {"train.py": "print(1)", "conf/a.yml": "x: 1"})
    root = tmp_path / "store"
    snap = store_snapshot(src, root)
    digest = digest_of(src)
    assert snap == Snapshot(digest, f"LocalUpload/{digest}/project", files=2, bytes=12)
    stored = root / snap.relative_path
    assert (stored / "train.py").read_text() == "print(1)"
    assert (stored / "conf" / "a.yml").read_text() == "x: 1"
    assert sorted(os.listdir(root / "LocalUpload")) == [digest]  # no temp folder left


def test_same_bytes_are_stored_once(tmp_path: Path) -> None:
    one = write(tmp_path / "a" / "data", {"x.csv": "1,2\n"})
    two = write(tmp_path / "b" / "data", {"x.csv": "1,2\n"})
    root = tmp_path / "store"
    first = store_snapshot(one, root)
    stored_file = root / first.relative_path / "x.csv"
    inode = stored_file.stat().st_ino
    second = store_snapshot(two, root)
    assert second == first
    assert stored_file.stat().st_ino == inode  # nothing was copied the second time
    assert os.listdir(root / "LocalUpload") == [first.digest]
    assert os.listdir(root / "LocalUpload" / first.digest) == ["data"]


def test_different_bytes_are_stored_apart(tmp_path: Path) -> None:
    root = tmp_path / "store"
    first = store_snapshot(write(tmp_path / "a" / "data", {"x.csv": "1"}), root)
    second = store_snapshot(write(tmp_path / "b" / "data", {"x.csv": "2"}), root)
    assert first.digest != second.digest
    assert (root / first.relative_path / "x.csv").read_text() == "1"
    assert (root / second.relative_path / "x.csv").read_text() == "2"


def test_stored_files_and_folders_are_read_only(tmp_path: Path) -> None:
    src = write(tmp_path / "project", {"a.txt": "a", "sub/deeper/b.txt": "b"})
    stored = tmp_path / "store" / store_snapshot(src, tmp_path / "store").relative_path
    assert mode(stored) == 0o555
    assert mode(stored / "sub") == 0o555
    assert mode(stored / "sub" / "deeper") == 0o555
    assert mode(stored / "a.txt") == 0o444
    assert mode(stored / "sub" / "deeper" / "b.txt") == 0o444


def test_a_single_file_snapshot(tmp_path: Path) -> None:
    model = write(tmp_path, {"model.pkl": b"\x80\x04weights"}) / "model.pkl"
    root = tmp_path / "store"
    snap = store_snapshot(model, root, prefix="models/uploads")
    assert snap.relative_path == f"models/uploads/{digest_of(model)}/model.pkl"
    assert (snap.files, snap.bytes) == (1, 9)
    assert (root / snap.relative_path).read_bytes() == b"\x80\x04weights"
    assert mode(root / snap.relative_path) == 0o444
    assert store_snapshot(model, root, prefix="models/uploads") == snap


def test_ignore_files_shape_the_snapshot(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {".amlignore": "*.ckpt\n", "a.py": "", "w.ckpt": "big"})
    snap = store_snapshot(src, tmp_path / "store", ignore_file_names=AML)
    stored = tmp_path / "store" / snap.relative_path
    assert sorted(os.listdir(stored)) == [".amlignore", "a.py"]
    assert snap.digest == digest_of(src, ignore_file_names=AML)


def test_max_bytes_is_checked_before_anything_is_written(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a.bin": b"x" * 600, "b.bin": b"y" * 500})
    root = tmp_path / "store"
    with pytest.raises(ValidationError) as caught:
        store_snapshot(src, root, max_bytes=1000)
    assert caught.value.message == f"{src} is 1100 bytes, over the limit of 1000 bytes"
    assert not root.exists()
    assert store_snapshot(src, root, max_bytes=1100).bytes == 1100


def test_a_missing_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"snapshot source .*/missing does not exist"):
        store_snapshot(tmp_path / "missing", tmp_path / "store")


def test_a_symlink_out_of_the_source_stores_nothing(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a.txt": "a"})
    os.symlink("/etc/hostname", src / "host")
    with pytest.raises(UnsafePath):
        store_snapshot(src, tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_progress_reports_every_byte_copied(tmp_path: Path) -> None:
    size = CHUNK_SIZE * 2 + 7
    src = write(tmp_path / "src", {"big.bin": b"z" * size, "small.txt": "abc"})
    seen: list[int] = []
    store_snapshot(src, tmp_path / "store", progress=seen.append)
    assert sum(seen) == size + 3
    assert max(seen) == CHUNK_SIZE
    seen.clear()
    store_snapshot(src, tmp_path / "store", progress=seen.append)
    assert seen == []  # already stored: nothing copied


def test_an_unsafe_prefix_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {"a.txt": "a"})
    with pytest.raises(UnsafePath, match=re.escape("unsafe snapshot prefix '../x'")):
        store_snapshot(src, tmp_path / "store", prefix="../x")


def test_two_threads_storing_the_same_digest_both_succeed(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {f"f{i}.txt": str(i) * 1000 for i in range(50)})
    root = tmp_path / "store"
    start = threading.Barrier(2)
    results: list[Snapshot] = []
    errors: list[BaseException] = []

    def store() -> None:
        start.wait()
        try:
            results.append(store_snapshot(src, root))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert os.listdir(root / "LocalUpload") == [results[0].digest]
    assert len(os.listdir(root / results[0].relative_path)) == 50


def test_the_writer_that_loses_the_rename_race_succeeds(tmp_path: Path) -> None:
    """Deterministic race: a second writer publishes while the first is mid-copy."""
    src = write(tmp_path / "src", {"a.txt": "a" * 10, "b.txt": "b" * 10})
    root = tmp_path / "store"
    inner: list[Snapshot] = []

    def publish_first(_: int) -> None:
        if not inner:
            inner.append(store_snapshot(src, root))

    outer = store_snapshot(src, root, progress=publish_first)
    assert outer == inner[0]
    assert os.listdir(root / "LocalUpload") == [outer.digest]
    assert sorted(os.listdir(root / outer.relative_path)) == ["a.txt", "b.txt"]


def test_a_single_file_losing_the_race_succeeds(tmp_path: Path) -> None:
    model = write(tmp_path, {"model.pkl": "w"}) / "model.pkl"
    root = tmp_path / "store"
    inner: list[Snapshot] = []

    def publish_first(_: int) -> None:
        if not inner:
            inner.append(store_snapshot(model, root))

    assert store_snapshot(model, root, progress=publish_first) == inner[0]
    assert os.listdir(root / "LocalUpload" / inner[0].digest) == ["model.pkl"]
    assert [name for name in os.listdir(root / "LocalUpload")] == [inner[0].digest]
