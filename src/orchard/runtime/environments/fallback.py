"""The nearest installable release of a pinned package that has none for this interpreter.

Old specs pin releases that predate the interpreter they now meet (`numpy==1.22.*` has no
wheels for Python 3.11, and building it from source takes minutes and mostly fails). When
an install fails, the builder asks this module which pins cannot install here and what to
use instead: the release nearest the pin whose wheels (or, for a project that publishes no
wheels at all, whose source) support this interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, platform_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from orchard.runtime.environments.index import IndexFile, PackageIndex


@dataclass(frozen=True)
class Replacement:
    requirement: str  # as the spec wrote it
    name: str
    version: str
    python: str  # "3.11"
    pin: str  # the requirement to install instead, extras and markers kept

    def message(self) -> str:
        return (
            f"{self.requirement} has no release for Python {self.python}; "
            f"using {self.name} {self.version}"
        )


def target_tags(python: str, platforms: Sequence[str] | None = None) -> frozenset[Tag]:
    """The wheel tags a CPython `python` ("3.11") on this machine's platform installs."""
    major, minor = (int(part) for part in python.split(".")[:2])
    plats = list(platforms) if platforms is not None else list(platform_tags())
    version = (major, minor)
    return frozenset(
        [
            *cpython_tags(python_version=version, platforms=plats),
            *compatible_tags(
                python_version=version, interpreter=f"cp{major}{minor}", platforms=plats
            ),
        ]
    )


def find_replacements(
    requirements: Sequence[str],
    failure_output: str,
    python_version: str,
    index: PackageIndex,
    note: Callable[[str], None],
) -> list[Replacement]:
    """The pins among `requirements` that cannot install on `python_version`, replaced.

    `failure_output` is the failed install's output: uv names the packages in a conflict,
    so only those are looked up; when it names none of the pins, every pin is.
    """
    pinned: list[tuple[str, str]] = []
    for line in requirements:
        try:
            parsed = Requirement(line)
        except InvalidRequirement:
            continue
        if parsed.specifier:
            pinned.append((line, canonicalize_name(parsed.name)))
    text = failure_output.lower().replace("_", "-").replace(".", "-")
    suspects = [pin for pin in pinned if pin[1] in text] or pinned
    tags = target_tags(python_version)
    found: list[Replacement] = []
    for line, name in suspects:
        try:
            files = index.files(name)
        except httpx.HTTPError as exc:
            note(f"cannot look up {name} on the package index: {exc}")
            continue
        if files is None:
            note(f"{name} is not on the package index")
            continue
        choice = choose_release(line, files, python_version, tags)
        note(f"{line}: " + (f"use {choice.pin}" if choice else "keep"))
        if choice is not None:
            found.append(choice)
    return found


def choose_release(
    requirement: str, files: Sequence[IndexFile], python_version: str, tags: frozenset[Tag]
) -> Replacement | None:
    """The release to use instead of `requirement`'s pin, or None when the pin can install.

    `python_version` is the full version ("3.11.7"), matched against requires_python.
    """
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return None
    short = ".".join(python_version.split(".")[:2])
    if not parsed.specifier:
        return None  # unpinned: the resolver already picks a release that fits
    markers = {"python_version": short, "python_full_version": python_version}
    if parsed.marker is not None and not parsed.marker.evaluate(markers):
        return None  # not installed for this interpreter at all
    python = Version(python_version)
    by_version: dict[Version, list[IndexFile]] = {}
    for item in files:
        by_version.setdefault(item.version, []).append(item)
    matching = [v for v in by_version if parsed.specifier.contains(v, prereleases=True)]
    if not matching:
        return None  # the pin names no release at all: uv's own error says so
    if any(_installs(by_version[v], python, tags) for v in matching):
        return None
    stable = [v for v in by_version if not v.is_prerelease]
    candidates = [v for v in stable if _has_wheel(by_version[v], python, tags)]
    if not candidates:
        candidates = [v for v in stable if _has_sdist(by_version[v], python)]
    if not candidates:
        return None
    chosen = nearest(max(matching), candidates)
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    marker = f"; {parsed.marker}" if parsed.marker is not None else ""
    pin = f"{parsed.name}{extras}=={chosen}{marker}"
    return Replacement(requirement, parsed.name, str(chosen), short, pin)


def nearest(anchor: Version, candidates: Sequence[Version]) -> Version:
    """The candidate nearest `anchor` by release series (major.minor), then the newest in it.

    Nearer means: same series, then a series differing only in minor, then in major; the
    smaller step wins and, at equal steps, newer beats older (old pins meeting a newer
    interpreter is the usual case). Within the chosen series the latest patch is taken,
    as pip would when a pin is loosened to that series: 1.22.* on 3.11 gives 1.23.5.
    """
    target = _series(anchor)

    def step(version: Version) -> tuple[int, int, int, tuple[int, int]]:
        series = _series(version)
        newer = series > target
        for index in range(2):
            if series[index] != target[index]:
                gap = abs(series[index] - target[index])
                # The nearest series first: the lowest above the pin, the highest below it.
                order = series if newer else (-series[0], -series[1])
                return (2 - index, gap, 0 if newer else 1, order)
        return (0, 0, 0, (0, 0))

    best = min(step(v) for v in candidates)
    return max(v for v in candidates if step(v) == best)


def _series(version: Version) -> tuple[int, int]:
    release = (*version.release, 0)
    return release[0], release[1]


def _installs(files: Sequence[IndexFile], python: Version, tags: frozenset[Tag]) -> bool:
    if _has_wheel(files, python, tags):
        return True
    # A release that publishes no wheels at all is a pure-source project (py-cpuinfo 5):
    # building it is what pip would do anywhere, so it is no reason to move the pin.
    return not any(f.is_wheel for f in files) and _has_sdist(files, python)


def _has_wheel(files: Sequence[IndexFile], python: Version, tags: frozenset[Tag]) -> bool:
    for item in files:
        if not item.is_wheel or not _python_ok(item.requires_python, python):
            continue
        try:
            wheel_tags = parse_wheel_filename(item.filename)[3]
        except InvalidWheelFilename:
            continue
        if not wheel_tags.isdisjoint(tags):
            return True
    return False


def _has_sdist(files: Sequence[IndexFile], python: Version) -> bool:
    return any(
        not f.is_wheel
        and f.filename.endswith((".tar.gz", ".zip"))
        and _python_ok(f.requires_python, python)
        for f in files
    )


def _python_ok(requires_python: str | None, python: Version) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True  # some old uploads carry junk here; pip ignores it too
