"""Database connection and schema migrations of the study application.

SQLite is the default (a file path or ``sqlite:///...`` URL); a
``postgresql://`` URL uses PostgreSQL through psycopg 3. The schema is created
and upgraded by Alembic, so an existing study database is carried forward
when the application is updated.

Examples:
    >>> normalise_db_url("study.db")
    'sqlite:///study.db'
    >>> normalise_db_url("postgresql://u:p@127.0.0.1:5432/muvi")
    'postgresql+psycopg://u:p@127.0.0.1:5432/muvi'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from muvi.errors import MuviError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_db_url(db: str | Path) -> str:
    """Turn a file path or a database URL into a SQLAlchemy URL.

    Args:
        db: ``sqlite:///file.db``, ``postgresql://user:pw@host:port/name``, or a
            plain path (read as an SQLite file).

    Returns:
        A URL with an explicit driver (``postgresql+psycopg`` for PostgreSQL).
    """
    text = str(db)
    if "://" not in text:
        return f"sqlite:///{text}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme.startswith("postgresql+") or scheme.startswith("sqlite"):
        return text
    raise MuviError(f"unsupported database URL {text!r}: use an SQLite file or a postgresql:// URL")


def make_engine(db: str | Path) -> Engine:
    """An engine for the study database, tuned for many small concurrent writes.

    SQLite runs in WAL mode with a busy timeout, so sample batches from many
    participants wait for each other instead of failing, and a committed batch
    survives a killed server process.
    """
    url = normalise_db_url(db)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Create or upgrade the study tables to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def open_database(db: str | Path) -> tuple[Engine, sessionmaker[Session]]:
    """Connect to (and migrate) the study database.

    Args:
        db: a path or URL, see :func:`normalise_db_url`.

    Returns:
        The engine and a session factory.
    """
    engine = make_engine(db)
    try:
        upgrade(engine)
    except Exception as err:  # connection refused, bad credentials, ...
        from sqlalchemy.exc import OperationalError

        if isinstance(err, OperationalError):
            raise MuviError(f"cannot open the study database {db}: {err.orig}") from err
        raise
    return engine, session_factory(engine)
