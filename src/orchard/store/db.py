"""Opening a store: engine set-up per back end, migrations, and transactions.

SQLite runs in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE`` so two writers queue instead of failing on lock upgrade. Writers in
one process (a server's request threads) queue on a lock here first: SQLite's busy
handler waits by sleeping, up to 100 ms a turn, so a few concurrent writers would spend
most of their time asleep; other processes still meet the busy timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from orchard.errors import StoreUnavailable
from orchard.store.logged_models import LoggedModelRepository
from orchard.store.migrate import upgrade
from orchard.store.registry import RegistryRepository
from orchard.store.repositories import (
    AssetRepository,
    ExperimentRepository,
    JobRepository,
    ResourceRepository,
    SecretRepository,
    WorkspaceRepository,
)
from orchard.store.schedule_firings import ScheduleFiringRepository
from orchard.store.step_reuse import StepReuseRepository

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Transaction:
    """One unit of work: every repository call inside shares one database transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.workspaces = WorkspaceRepository(session)
        self.assets = AssetRepository(session)
        self.resources = ResourceRepository(session)
        self.secrets = SecretRepository(session)
        self.experiments = ExperimentRepository(session)
        self.jobs = JobRepository(session)
        self.registry = RegistryRepository(session)
        self.logged_models = LoggedModelRepository(session)
        self.step_reuse = StepReuseRepository(session)
        self.schedule_firings = ScheduleFiringRepository(session)


class Store:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = _create_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
        if migrate:
            self.migrate()

    @cached_property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        try:
            upgrade(self.engine)
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot open store {self.safe_url}: {exc.orig}") from None

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Transaction]:
        """A read-write transaction, committed on success and rolled back on any error."""
        with self._writer, self._sessions() as session, session.begin():
            if self.dialect == "sqlite":
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            yield Transaction(session)

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._sessions() as session, session.begin():
            yield Transaction(session)

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def close(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            return _sqlite_engine(url)
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return create_engine(url, pool_pre_ping=True, future=True)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise StoreUnavailable(f"cannot use database URL: {exc}") from None


def _sqlite_engine(url: str) -> Engine:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself, so we choose its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine
