"""Migrations that change data: a store written by an older Orchard upgrades in place."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from orchard.entities.tracking import Metric
from orchard.services import Services
from orchard.services.context import Context
from orchard.store import Store
from orchard.store.migrate import HEAD_REVISION, alembic_config, current_revision


def test_migration_0004_keeps_one_copy_of_each_metric_point(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    services = Services(Context(store=Store(url), home=tmp_path))
    services.workspaces.ensure("old-ws")
    run_id = services.runs.create("old-ws", "0").info.run_id
    points = [Metric(key="loss", value=v, step=s, timestamp=1) for s, v in ((0, 1.0), (1, 0.5))]
    services.runs.log_batch("old-ws", run_id, metrics=points)
    services.close()

    # Back to 0003, whose plain index let the client's repeated points in twice.
    store = Store(url, migrate=False)
    config = alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO metrics (job_id, key, step, timestamp, value, is_nan) "
                "SELECT job_id, key, step, timestamp, value, is_nan FROM metrics"
            )
        )
        assert connection.execute(text("SELECT COUNT(*) FROM metrics")).scalar() == 4
    store.close()

    services = Services(Context(store=Store(url), home=tmp_path))
    try:
        engine = services.context.store.engine
        assert current_revision(engine) == HEAD_REVISION
        unique = {i["name"]: i["unique"] for i in inspect(engine).get_indexes("metrics")}
        assert unique == {"ux_metrics_job_key_point": 1}
        history, _ = services.runs.metric_history("old-ws", run_id, "loss")
        assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5)]
    finally:
        services.close()


def test_the_migrations_build_the_tables_the_models_declare(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from orchard.store.tables import Base

    store = Store(database_url)
    try:
        with store.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        store.close()
    # Type spellings differ between back ends and reflection; tables, columns, keys and
    # indexes must not.
    assert [d for d in differences if d[0] != "modify_type"] == []
