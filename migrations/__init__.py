"""Alembic migrations of the Huiqi database (configured in code by ``api.db.migrate``)."""
