"""The nearest installable release of a pin that has none for this interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from packaging.version import Version

from orchard.entities.assets import Environment
from orchard.runtime.environments import (
    EnvironmentBuilder,
    EnvironmentBuildError,
    EnvironmentWarning,
)
from orchard.runtime.environments.fallback import choose_release, nearest, target_tags
from orchard.runtime.environments.index import IndexFile, PackageIndex, read_json_api

FIXTURES = Path(__file__).parent / "fixtures"
# The recorded fixture holds manylinux x86_64 wheels; the tags say so whatever runs the test.
PLATFORMS = ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"]


@pytest.fixture(scope="module")
def numpy_files() -> list[IndexFile]:
    return list(read_json_api(json.loads((FIXTURES / "pypi-numpy.json").read_text())))


@pytest.mark.parametrize(
    ("requirement", "python", "chosen"),
    [
        ("numpy==1.22.*", "3.11.7", "1.23.5"),  # 1.23.2 was numpy's first cp311 wheel
        ("numpy~=1.22.0", "3.11.7", "1.23.5"),
        ("numpy==1.22.4", "3.11.7", "1.23.5"),
        ("numpy>=1.21,<1.22", "3.11.7", "1.23.5"),
        ("numpy==1.21.*", "3.12.1", "1.26.4"),  # 1.26 is the first series with cp312
        ("numpy==1.22.*", "3.10.13", None),  # installs as pinned
        ("numpy~=1.26.0", "3.11.7", None),
        ("numpy", "3.11.7", None),  # unpinned: the resolver picks
        ("numpy==9.9", "3.11.7", None),  # no such release: uv's own error says so
        ("numpy==1.22.*; python_version < '3.11'", "3.11.7", None),  # not for this Python
    ],
)
def test_chooser_against_recorded_pypi_json(
    numpy_files: list[IndexFile], requirement: str, python: str, chosen: str | None
) -> None:
    tags = target_tags(python, PLATFORMS)
    replacement = choose_release(requirement, numpy_files, python, tags)
    assert (replacement.version if replacement else None) == chosen


def test_replacement_message_and_pin(numpy_files: list[IndexFile]) -> None:
    tags = target_tags("3.11", PLATFORMS)
    replacement = choose_release("numpy[dev]==1.22.*", numpy_files, "3.11.7", tags)
    assert replacement is not None
    assert replacement.message() == (
        "numpy[dev]==1.22.* has no release for Python 3.11; using numpy 1.23.5"
    )
    assert replacement.pin == "numpy[dev]==1.23.5"


def test_pure_source_releases_keep_their_pin() -> None:
    files = [IndexFile("py-cpuinfo-5.0.0.tar.gz", Version("5.0.0"))]
    files.append(IndexFile("py_cpuinfo-9.0.0-py3-none-any.whl", Version("9.0.0")))
    assert choose_release("py-cpuinfo==5.0.0", files, "3.11.7", target_tags("3.11")) is None


def test_requires_python_rules_a_release_out() -> None:
    files = [
        IndexFile("pkg-1.0-py3-none-any.whl", Version("1.0"), "<3.8"),
        IndexFile("pkg-1.1-py3-none-any.whl", Version("1.1"), "<3.8"),
        IndexFile("pkg-2.0-py3-none-any.whl", Version("2.0"), ">=3.8"),
    ]
    chosen = choose_release("pkg==1.0", files, "3.11.7", target_tags("3.11"))
    assert chosen is not None and chosen.version == "2.0"


@pytest.mark.parametrize(
    ("anchor", "candidates", "expected"),
    [
        ("1.22.4", ["1.21.6", "1.23.2", "1.23.5", "1.24.4", "2.0.0"], "1.23.5"),
        ("1.22.4", ["1.20.3", "1.21.6"], "1.21.6"),  # only older: the nearest older series
        ("1.5.3", ["2.1.4", "2.2.3", "0.25.3"], "2.1.4"),  # one major up beats one down
        ("1.5.3", ["1.5.0", "1.6.1"], "1.5.0"),  # the pin's own series first
    ],
)
def test_nearest_release(anchor: str, candidates: list[str], expected: str) -> None:
    assert str(nearest(Version(anchor), [Version(c) for c in candidates])) == expected


def test_configured_index_is_read_through_the_simple_api() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/simple/jsonpkg/":
            body = {
                "files": [
                    {"filename": "jsonpkg-1.0.tar.gz", "requires-python": ">=3.8"},
                    {"filename": "jsonpkg-1.1.tar.gz", "yanked": "broken"},
                ]
            }
            headers = {"content-type": "application/vnd.pypi.simple.v1+json"}
            return httpx.Response(200, json=body, headers=headers)
        if request.url.path == "/simple/htmlpkg/":
            page = (
                '<a href="htmlpkg-2.0-py3-none-any.whl#sha256=00" '
                'data-requires-python="&gt;=3.9">htmlpkg-2.0-py3-none-any.whl</a>'
                '<a href="htmlpkg-2.1.tar.gz" data-yanked="">htmlpkg-2.1.tar.gz</a>'
                '<a href="htmlpkg-2.2.tar.gz" data-yanked>htmlpkg-2.2.tar.gz</a>'
            )
            return httpx.Response(200, text=page, headers={"content-type": "text/html"})
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    index = PackageIndex("https://index.example/simple/", client=client)
    json_files = index.files("JsonPkg")
    assert json_files == [IndexFile("jsonpkg-1.0.tar.gz", Version("1.0"), ">=3.8")]
    html_files = index.files("htmlpkg")
    assert html_files == [IndexFile("htmlpkg-2.0-py3-none-any.whl", Version("2.0"), ">=3.9")]
    assert index.files("missing") is None


def test_pip_index_url_selects_the_simple_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    assert PackageIndex(client=httpx.Client()).index_url == "https://mirror.example/simple"
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.org/simple")
    assert PackageIndex(client=httpx.Client()).index_url is None


old_pin_needs_311 = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="markupsafe 2.0.1 has wheels up to Python 3.10"
)


@old_pin_needs_311
def test_real_build_moves_an_old_pin_to_the_nearest_release(tmp_path: Path) -> None:
    # markupsafe 2.0.1 publishes wheels up to cp310 only; 2.1.x has cp311 and later.
    environment = Environment(name="old-pin", pip_requirements=["markupsafe==2.0.1"])
    builder = EnvironmentBuilder(tmp_path / "envs")
    with pytest.warns(EnvironmentWarning) as caught:
        built = builder.build(environment)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert messages[0].startswith("markupsafe==2.0.1 has no release for Python 3.")
    assert "; using markupsafe 2.1." in messages[0] or "; using markupsafe 3." in messages[0]
    done = subprocess.run(
        [built.python, "-c", "import markupsafe; print(markupsafe.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert messages[0].endswith(done.stdout.strip())
    assert "warning: markupsafe==2.0.1 has no release" in built.build_log.read_text()
    # The cached venv says so again when reused, and a strict build refuses it.
    with pytest.warns(EnvironmentWarning) as again:
        reused = builder.build(environment)
    assert reused.reused and [str(w.message) for w in again] == messages
    with pytest.raises(EnvironmentBuildError, match="moved pins"):
        EnvironmentBuilder(tmp_path / "envs", strict=True).build(environment)


@old_pin_needs_311
def test_strict_refuses_to_move_a_pin(tmp_path: Path) -> None:
    environment = Environment(name="old-pin", pip_requirements=["markupsafe==2.0.1"])
    builder = EnvironmentBuilder(tmp_path / "envs", strict=True)
    with pytest.raises(EnvironmentBuildError) as raised:
        builder.build(environment)
    message = raised.value.message
    assert "--strict-environments" in message
    assert "markupsafe==2.0.1 has no release for Python 3." in message
    assert raised.value.log_path is not None and raised.value.log_path.is_file()
