"""indexes for the read side at national scale

The officers' lists and counts, the statistics, reviewer suggestions, the compliance list, the country
report, the public list and document verification, each index chosen from the query plans at 100,000
applications (`fundflow bench --queries R`, README). The applications indexes are partial, over the
routed applications (submitted at least once), the only ones officers list and the statistics count, so
a count, a page at any depth or a grouped sum is read from the index alone. Five single-column indexes
give way to composites that begin with the same column and serve every query the old ones did.

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROUTED = "submitted_at IS NOT NULL"
HAS_OUTCOMES = "outcomes IS NOT NULL"

# (name, table, columns, partial WHERE or None)
NEW = (
    ('ix_applications_routed_id', 'applications', ['id', 'budget_central', 'approved_amount'], ROUTED),
    ('ix_applications_routed_state', 'applications', ['state'], ROUTED),
    ('ix_applications_routed_channel', 'applications',
     ['channel', 'field', 'state', 'budget_central', 'approved_amount', 'institution_id', 'id'], ROUTED),
    ('ix_applications_routed_field', 'applications', ['field', 'state'], ROUTED),
    ('ix_applications_routed_base', 'applications', ['base_id', 'state', 'budget_central', 'approved_amount'],
     ROUTED),
    ('ix_applications_outcomes', 'applications', ['submitted_at'], HAS_OUTCOMES),
    ('ix_partners_application_country', 'partners', ['application_id', 'country'], None),
    ('ix_partners_country_application', 'partners', ['country', 'application_id'], None),
    ('ix_milestones_application_state', 'milestones', ['application_id', 'state', 'due_date', 'reported_at'],
     None),
    ('ix_reviews_state_reviewer', 'reviews', ['state', 'reviewer_id'], None),
    ('ix_documents_sha256', 'documents', ['sha256'], None),
)
# Single-column indexes that a composite above begins with: (name, table, column).
REPLACED = (
    ('ix_applications_channel', 'applications', 'channel'),
    ('ix_applications_field', 'applications', 'field'),
    ('ix_partners_application_id', 'partners', 'application_id'),
    ('ix_partners_country', 'partners', 'country'),
    ('ix_milestones_application_id', 'milestones', 'application_id'),
)


def _where(clause):
    return {} if clause is None else {'sqlite_where': sa.text(clause), 'postgresql_where': sa.text(clause)}


def upgrade() -> None:
    for name, table, columns, where in NEW:
        op.create_index(name, table, columns, unique=False, **_where(where))
    for name, table, _column in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in REPLACED:
        op.create_index(name, table, [column], unique=False)
    for name, table, _columns, _where_clause in reversed(NEW):
        op.drop_index(name, table_name=table)
