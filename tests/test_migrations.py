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



def _downgrade(engine, revision: str) -> None:
    from alembic import command

    from workflow.migrate import alembic_config

    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def _diff(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def test_the_newest_migration_goes_down_and_up_again(app):
    """Downgrading the newest revision undoes it; upgrading again builds the models' schema."""
    with app.app_context():
        engine = db.engine()
        _downgrade(engine, "-1")
        assert _diff(engine), "the downgrade changed nothing the models describe"
        upgrade(engine)
        assert _diff(engine) == []


def test_the_read_side_indexes_give_back_the_ones_they_replaced(app):
    """Down to 0004 the single-column indexes that 0005's composites begin with are back, the new ones gone."""
    from sqlalchemy import inspect

    with app.app_context():
        engine = db.engine()
        _downgrade(engine, "0004")
        indexes = {table: {ix["name"] for ix in inspect(engine).get_indexes(table)}
                   for table in ("applications", "partners", "milestones", "reviews", "documents")}
        assert {"ix_applications_channel", "ix_applications_field"} <= indexes["applications"]
        assert {"ix_partners_application_id", "ix_partners_country"} <= indexes["partners"]
        assert "ix_milestones_application_id" in indexes["milestones"]
        assert not any(name.startswith(("ix_applications_routed_", "ix_partners_application_country"))
                       for names in indexes.values() for name in names)
        assert "ix_reviews_state_reviewer" not in indexes["reviews"]
        assert "ix_documents_sha256" not in indexes["documents"]
        upgrade(engine)
        assert _diff(engine) == []
