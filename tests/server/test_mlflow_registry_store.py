"""The store under the MLflow registry: migration 0003 upgrades a store that already
holds models, and Orchard models created without MLflow show in MLflow's registry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from orchard.entities.assets import Model
from orchard.errors import Conflict
from orchard.sdk.client import MLClient
from orchard.services import Services
from orchard.store import Store
from orchard.store.migrate import HEAD_REVISION, alembic_config, current_revision


def test_migration_0003_keeps_existing_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workspaces (id, name, spec, created_at, updated_at) "
                "VALUES (1, 'w', '{}', '2024-01-01', '2024-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO asset_containers (workspace_id, kind, name, next_version, archived, "
                "created_at) VALUES (1, 'model', 'old', 2, 0, '2024-01-01')"
            )
        )
    engine.dispose()
    store = Store(url)
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        columns = {c["name"] for c in inspect(store.engine).get_columns("asset_containers")}
        assert {"description", "tags", "updated_at"} <= columns
        with store.read() as tx:
            model = tx.registry.get(1, "old")
        assert (model.name, model.description, model.tags) == ("old", "", [])
    finally:
        store.close()


def test_orchard_models_show_in_the_registry(
    ml_client: MLClient, services: Services, workspace_name: str
) -> None:
    ml_client.models.create_or_update(
        Model(name="made-here", path="https://example.com/model.pkl", tags={"k": "v"})
    )
    found, _ = services.registry.search(workspace_name, filter_string="name = 'made-here'")
    assert [m.name for m in found] == ["made-here"]
    version = services.model_versions.get(workspace_name, "made-here", "1")
    assert version.source == "https://example.com/model.pkl"
    assert [(t.key, t.value) for t in version.tags] == [("k", "v")]
    services.registry.rename(workspace_name, "made-here", "moved")
    assert ml_client.models.get("moved", version="1").tags == {"k": "v"}


def test_concurrent_creates_of_one_name_conflict_cleanly(
    services: Services, workspace_name: str
) -> None:
    def create(_: int) -> str:
        try:
            services.registry.create(workspace_name, "raced")
            return "created"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(create, range(4)))
    assert outcomes == ["conflict", "conflict", "conflict", "created"]
