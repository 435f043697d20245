"""Alembic migration scripts for the store (run via store.db.upgrade)."""
