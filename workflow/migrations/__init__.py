"""Alembic migrations; `fundflow init-db` applies them."""
