"""Alembic environment: runs the migrations on the connection that
:func:`muvi.study.db.upgrade` hands over (no ini file needed).

Importing this module outside an Alembic run (e.g. doctest collection) does
nothing: the migrations run only when Alembic has set up its context.
"""

from __future__ import annotations

from alembic import context

from muvi.study.models import Base


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:  # alembic run by hand with sqlalchemy.url set
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):
    run_migrations()
