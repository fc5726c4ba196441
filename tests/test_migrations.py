"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workflow import db
from workflow.migrate import upgrade
from workflow.models import Base


@pytest.mark.parametrize("app_fixture", ["app", "pg_app"])
def test_migrations_match_the_models(request, app_fixture):
    app = request.getfixturevalue(app_fixture)
    with app.app_context():
        engine = db.engine()
        upgrade(engine)  # already at head: a second run changes nothing
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                    Base.metadata)
    assert diff == []
