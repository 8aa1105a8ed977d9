"""Bring a database to the newest schema with Alembic.

Opening a store that is already current must be cheap (every CLI call does it), so
the revision is read with one query and Alembic is imported only to upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from orchard.errors import StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision; tests check it is Alembic's head.
HEAD_REVISION = "0006"


def alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    known = {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}
    if current is not None and current not in known:
        raise StoreUnavailable(
            f"the store's schema revision {current} is newer than this Orchard knows; "
            "upgrade Orchard"
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
