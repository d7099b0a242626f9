"""Alembic migrations of the study database (run by :func:`muvi.study.db.upgrade`)."""
