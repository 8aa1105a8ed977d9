"""Content-addressed snapshots of local files and folders.

A snapshot lives at ``<dest_root>/<prefix>/<digest>/<basename>``, the layout Azure ML
uses for ``LocalUpload``. The digest covers every file's relative path and bytes, so a
stored version can never change underneath a job: new content gets a new digest.
Snapshots are built in a temporary folder beside their final place and renamed in, so
a reader sees either nothing or the whole tree.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from orchard.errors import NotFound, UnsafePath, ValidationError
from orchard.storage.paths import clean_relative_path, is_inside

CHUNK_SIZE = 1024 * 1024
FILE_MODE = 0o444
FOLDER_MODE = 0o555

Progress = Callable[[int], None]
# (base folder relative to the source, rules of the ignore file found there)
_Rules = tuple[str, pathspec.GitIgnoreSpec]


@dataclass
class Snapshot:
    digest: str
    relative_path: str  # e.g. "LocalUpload/<digest>/<basename>", relative to dest_root
    files: int
    bytes: int


def iter_files(
    source: Path, *, ignore_file_names: tuple[str, ...] = ()
) -> Iterator[tuple[str, Path]]:
    """Yield ``(posix relative path, absolute path)`` for every file, sorted by path.

    In each folder the first of ``ignore_file_names`` that exists there (so
    ``(".amlignore", ".gitignore")`` lets ``.amlignore`` win, as Azure ML does) adds
    gitignore rules for that folder and below; deeper rules override shallower ones.
    The ignore files themselves are yielded unless a rule excludes them. Symbolic links
    are followed when they stay inside ``source`` and refused with ``UnsafePath`` when
    they lead out. A single file yields itself under its own name.
    """
    if not os.path.lexists(source):
        raise NotFound(f"{source} does not exist")
    root = os.path.realpath(source)
    if os.path.isfile(root):
        yield _basename(source), Path(root)
        return
    if not os.path.isdir(root):
        raise NotFound(f"{source} is neither a file nor a folder (a broken symbolic link?)")
    found = list(_walk(root, "", (), (root,), root, ignore_file_names))
    yield from sorted(found, key=lambda item: item[0])


def digest_of(source: Path, *, ignore_file_names: tuple[str, ...] = ()) -> str:
    """The sha256 hex digest of a file (its name and bytes) or a folder (paths and bytes)."""
    files = list(iter_files(source, ignore_file_names=ignore_file_names))
    pairs = [(rel, _hash_file(path)) for rel, path in files]
    return _digest(_is_folder(source), pairs)


def store_snapshot(
    source: Path,
    dest_root: Path,
    *,
    prefix: str = "LocalUpload",
    ignore_file_names: tuple[str, ...] = (),
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> Snapshot:
    """Copy ``source`` into ``dest_root/<prefix>/<digest>/<basename>`` unless already there.

    ``progress`` is called with the number of bytes each copied chunk adds (an
    increment, as a progress bar's ``advance`` wants). Concurrent calls for the same
    content all succeed and leave one copy.
    """
    if not os.path.lexists(source):
        raise NotFound(f"snapshot source {source} does not exist")
    clean_prefix = clean_relative_path(prefix, what="snapshot prefix")
    if not clean_prefix:
        raise ValidationError("snapshot prefix must not be empty")
    basename = _basename(source)
    files = list(iter_files(source, ignore_file_names=ignore_file_names))
    total = sum(path.stat().st_size for _, path in files)
    if max_bytes is not None and total > max_bytes:
        raise ValidationError(
            f"{source} is {total} bytes, over the limit of {max_bytes} bytes",
            details={"source": str(source), "bytes": total, "max_bytes": max_bytes},
        )
    folder = _is_folder(source)
    digest = _digest(folder, [(rel, _hash_file(path)) for rel, path in files])
    prefix_dir = dest_root / clean_prefix
    if os.path.lexists(prefix_dir / digest / basename):
        return Snapshot(digest, f"{clean_prefix}/{digest}/{basename}", len(files), total)
    return _store_new(files, folder, basename, prefix_dir, clean_prefix, progress)


def _store_new(
    files: list[tuple[str, Path]],
    folder: bool,
    basename: str,
    prefix_dir: Path,
    clean_prefix: str,
    progress: Progress | None,
) -> Snapshot:
    prefix_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=prefix_dir))
    try:
        staged = tmp / basename
        # The digest is taken again from the bytes actually copied: if the source
        # changed since the first pass, the name still matches the stored content.
        digest, total = _copy_files(files, folder, staged, progress)
        (prefix_dir / digest).mkdir(exist_ok=True)
        _publish(staged, prefix_dir / digest / basename, folder)
    finally:
        _remove_tree(tmp)
    return Snapshot(digest, f"{clean_prefix}/{digest}/{basename}", len(files), total)


def _copy_files(
    files: list[tuple[str, Path]], folder: bool, staged: Path, progress: Progress | None
) -> tuple[str, int]:
    pairs: list[tuple[str, str]] = []
    total = 0
    for rel, path in files:
        target = staged / rel if folder else staged
        target.parent.mkdir(parents=True, exist_ok=True)
        sha, size = _copy_file(path, target, progress)
        pairs.append((rel, sha))
        total += size
    if folder:
        staged.mkdir(exist_ok=True)  # an empty folder is a snapshot too
        _seal_folders_below(staged)
    return _digest(folder, pairs), total


def _copy_file(source: Path, target: Path, progress: Progress | None) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("xb") as dst:
        while chunk := src.read(CHUNK_SIZE):
            sha.update(chunk)
            dst.write(chunk)
            size += len(chunk)
            if progress is not None:
                progress(len(chunk))
        dst.flush()
        os.fsync(dst.fileno())
    target.chmod(FILE_MODE)
    return sha.hexdigest(), size


def _publish(staged: Path, final: Path, folder: bool) -> None:
    """Move ``staged`` to ``final`` unless another writer got there first."""
    try:
        if folder:
            # rename refuses a non-empty target, so the first writer wins atomically.
            os.rename(staged, final)
        else:
            _link_file(staged, final)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) and os.path.lexists(final):
            return  # same digest, same content: the other writer's copy is ours too
        raise
    if folder:
        # Sealed only now: moving a folder to a new parent needs write access to it.
        final.chmod(FOLDER_MODE)
    _fsync_folder(final.parent)


def _link_file(staged: Path, final: Path) -> None:
    try:
        # A hard link fails when the target exists; rename would silently replace it.
        os.link(staged, final)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        # No hard links on this file system: replacing a same-digest file with the
        # same bytes is harmless, so fall back to rename.
        os.replace(staged, final)


def _seal_folders_below(top: Path) -> None:
    for dirpath, dirnames, _ in os.walk(top, topdown=False):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), FOLDER_MODE)


def _remove_tree(top: Path) -> None:
    if not os.path.lexists(top):
        return
    # A losing writer's staged folders are already sealed; reopen them so their entries
    # can be unlinked. Files are left alone: a staged file may share its inode with the
    # published one (hard link), and unlinking needs only the folder to be writable.
    for dirpath, _, _ in os.walk(top):
        os.chmod(dirpath, stat.S_IRWXU)
    shutil.rmtree(top)


def _fsync_folder(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows cannot open a folder to flush it
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _walk(
    folder: str,
    rel_dir: str,
    rules: tuple[_Rules, ...],
    ancestors: tuple[str, ...],
    root: str,
    ignore_file_names: tuple[str, ...],
) -> Iterator[tuple[str, Path]]:
    local = _load_rules(folder, rel_dir, root, ignore_file_names)
    if local is not None:
        rules = (*rules, local)
    with os.scandir(folder) as entries:
        listed = sorted(entries, key=lambda entry: entry.name)
    for entry in listed:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        real = _resolve_entry(entry, rel, root)
        is_dir = os.path.isdir(real)
        if _ignored(rules, rel, is_dir):
            continue
        if is_dir:
            if real in ancestors:
                raise UnsafePath(f"symbolic link {rel!r} loops back to a folder above it")
            yield from _walk(real, rel, rules, (*ancestors, real), root, ignore_file_names)
        elif os.path.isfile(real):
            yield rel, Path(real)
        # Sockets, FIFOs and devices are skipped: reading a FIFO would block forever.


def _resolve_entry(entry: os.DirEntry[str], rel: str, root: str) -> str:
    if not entry.is_symlink():
        return entry.path  # its folder is already a real path inside root
    real = os.path.realpath(entry.path)
    if not is_inside(real, root):
        raise UnsafePath(f"symbolic link {rel!r} leads out of {root}")
    if not os.path.exists(real):
        raise NotFound(f"symbolic link {rel!r} in {root} points to nothing")
    return real


def _load_rules(
    folder: str, rel_dir: str, root: str, ignore_file_names: tuple[str, ...]
) -> _Rules | None:
    for name in ignore_file_names:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        if not is_inside(os.path.realpath(path), root):
            raise UnsafePath(f"ignore file {name!r} in {folder} leads out of {root}")
        with open(path, encoding="utf-8", errors="replace") as handle:
            return rel_dir, pathspec.GitIgnoreSpec.from_lines(handle.read().splitlines())
    return None


def _ignored(rules: Iterable[_Rules], rel: str, is_dir: bool) -> bool:
    decision: bool | None = None
    for base, spec in rules:
        sub = rel[len(base) + 1 :] if base else rel
        # The trailing slash lets directory-only patterns (`build/`) match folders.
        result = spec.check_file(f"{sub}/" if is_dir else sub).include
        if result is not None:
            decision = result  # deeper ignore files override shallower ones, as in git
    return bool(decision)


def _hash_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            sha.update(chunk)
    return sha.hexdigest()


def _digest(folder: bool, pairs: Iterable[tuple[str, str]]) -> str:
    # The kind is hashed in so a folder holding one file `x` never collides with `x`.
    sha = hashlib.sha256(b"orchard-folder\0" if folder else b"orchard-file\0")
    for rel, file_sha in sorted(pairs):
        sha.update(rel.encode("utf-8", "surrogateescape") + b"\0" + file_sha.encode() + b"\n")
    return sha.hexdigest()


def _is_folder(source: Path) -> bool:
    return os.path.isdir(os.path.realpath(source))


def _basename(source: Path) -> str:
    name = Path(os.path.abspath(source)).name
    if not name:
        raise ValidationError(f"cannot snapshot {source}: it has no name to store it under")
    return name
