"""Fixtures every suite shares: a store per back end, a client, the CLI as a subprocess.

Tests that take `database_url` (or `ml_client`) run once over SQLite and, when
ORCHARD_TEST_DATABASE_URL is set, once more over a real PostgreSQL, in a database this
test run creates for itself and drops at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from orchard.sdk.client import MLClient

POSTGRES_ENV = "ORCHARD_TEST_DATABASE_URL"
BACKENDS = ["sqlite", *(["postgres"] if os.environ.get(POSTGRES_ENV) else [])]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own store, key or settings."""
    for name in (
        "ORCHARD_HOME",
        "ORCHARD_DATABASE_URL",
        "ORCHARD_WORKSPACE",
        "ORCHARD_MASTER_KEY",
        "ORCHARD_STRICT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))


@pytest.fixture
def no_docker_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real `docker` CLI pointed at a socket nobody serves: a machine with no engine."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"orchard_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'orchard.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def orchard_home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / ".orchard"
    home.mkdir(parents=True)
    return home


@pytest.fixture
def workspace_name() -> str:
    # Unique per test, so tests sharing one PostgreSQL database never see each other.
    return f"ws-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def ml_client(database_url: str, orchard_home: Path, workspace_name: str) -> Iterator[MLClient]:
    client = MLClient(workspace_name=workspace_name, home=orchard_home, database_url=database_url)
    yield client
    client.close()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    """Runs `orchard` as a real subprocess against one store and workspace."""

    home: Path
    database_url: str
    workspace: str
    cwd: Path

    def __call__(self, *args: str, input: str | None = None) -> CliResult:
        env = {
            **os.environ,
            "ORCHARD_HOME": str(self.home),
            "ORCHARD_DATABASE_URL": self.database_url,
            "ORCHARD_WORKSPACE": self.workspace,
            "COLUMNS": "200",
        }
        done = subprocess.run(
            [sys.executable, "-m", "orchard.cli.main", *args],
            cwd=self.cwd,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> CliResult:
        result = self(*args)
        assert result.code == 0, f"orchard {' '.join(args)} failed:\n{result.stderr}{result.stdout}"
        return result


@pytest.fixture
def cli(orchard_home: Path, workspace_name: str, tmp_path: Path) -> Cli:
    """The CLI over SQLite: it is thin over the SDK, whose suite covers both back ends."""
    work = tmp_path / "work"
    work.mkdir()
    url = f"sqlite:///{orchard_home / 'orchard.db'}"
    return Cli(home=orchard_home, database_url=url, workspace=workspace_name, cwd=work)
