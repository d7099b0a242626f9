"""The Alembic migrations build exactly the schema of the ORM models, on
SQLite and on PostgreSQL, and a second start on the same database is a no-op."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import muvi.study.online_models  # noqa: F401  (its tables belong to Base.metadata)
from muvi.study.db import MIGRATIONS_DIR, open_database
from muvi.study.models import Base


def _head() -> str:
    """The newest revision of the migrations folder."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _differences(db: str) -> list[object]:
    engine, _sessions = open_database(db)
    open_database(db)  # upgrading an up-to-date database changes nothing
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert version == _head()
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    return list(diffs)


def test_migrations_match_models_sqlite(tmp_path: Path) -> None:
    assert _differences(str(tmp_path / "study.db")) == []


@pytest.mark.postgres
def test_migrations_match_models_postgresql(postgres_url: str) -> None:
    assert _differences(postgres_url) == []
