"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workflow import db
from workflow.migrate import upgrade
from workflow.models import Base


def test_migrations_match_the_models(app):
    with app.app_context():
        engine = db.engine()
        upgrade(engine)  # already at head: a second run changes nothing
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                    Base.metadata)
    assert diff == []
