"""The store contract: every back end migrates, hands out versions safely, rolls back."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from orchard.entities import Data, Workspace
from orchard.errors import Conflict, StoreUnavailable
from orchard.store import Store
from orchard.store.migrate import HEAD_REVISION, alembic_config, current_revision


@pytest.fixture
def store(database_url: str) -> Store:
    opened = Store(database_url)
    yield opened  # type: ignore[misc]
    opened.close()


def make_workspace(store: Store, name: str) -> int:
    with store.begin() as tx:
        tx.workspaces.create(Workspace(name=name))
        return tx.workspaces.id_of(name)


def test_head_revision_constant_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_migrations_match_the_table_definitions(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from orchard.store.tables import Base

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, Base.metadata) == []
    assert current_revision(store.engine) == HEAD_REVISION


def test_a_store_from_a_newer_orchard_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    Store(url).close()
    newer = Store(url, migrate=False)
    with newer.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    newer.close()
    with pytest.raises(StoreUnavailable, match="newer"):
        Store(url)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'o.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_failed_transaction_leaves_nothing(store: Store, workspace_name: str) -> None:
    workspace_id = make_workspace(store, workspace_name)
    with pytest.raises(RuntimeError), store.begin() as tx:
        tx.assets.create(workspace_id, Data(name="half", path="s3://b/k"))
        raise RuntimeError("crash mid-transaction")
    with store.read() as tx:
        assert tx.assets.latest_of_each(workspace_id, "data") == []
        assert not tx.assets.exists(workspace_id, "data", "half")


def test_concurrent_auto_versions_are_unique(database_url: str, workspace_name: str) -> None:
    stores = [Store(database_url) for _ in range(4)]
    workspace_id = make_workspace(stores[0], workspace_name)
    versions: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def register(store: Store) -> None:
        try:
            for _ in range(10):
                with store.begin() as tx:
                    made = tx.assets.create(workspace_id, Data(name="race", path="s3://b/k"))
                with lock:
                    versions.append(made.version or "")
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=register, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert failures == []
    assert sorted(versions, key=int) == [str(n) for n in range(1, 41)]


def test_duplicate_explicit_version_conflicts(store: Store, workspace_name: str) -> None:
    workspace_id = make_workspace(store, workspace_name)
    with store.begin() as tx:
        tx.assets.create(workspace_id, Data(name="dup", version="1", path="s3://b/k"))
    with pytest.raises(Conflict), store.begin() as tx:
        tx.assets.create(workspace_id, Data(name="dup", version="1", path="s3://b/other"))


def test_unusable_database_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot"):
        Store("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailable):
        Store("notadb://x")
