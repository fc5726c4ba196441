"""agreement record, milestone kinds and evidence

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import workflow.models  # custom column types the revisions name


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('signed_attachment_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('partners', sa.JSON(), nullable=False),
    sa.Column('commitments_domestic', sa.Text(), nullable=False),
    sa.Column('commitments_foreign', sa.Text(), nullable=False),
    sa.Column('created_at', workflow.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['signed_attachment_id'], ['attachments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id')
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('milestone_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_attachments_milestone_id', ['milestone_id'], unique=False)
        batch_op.create_foreign_key('fk_attachments_milestone_id', 'milestones', ['milestone_id'], ['id'])

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guide', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('guide_en', sa.Text(), nullable=True))

    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=40), nullable=False,
                                      server_default='joint_research_output'))
        batch_op.add_column(sa.Column('evidence', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('return_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('accepted_at', workflow.models.UTCDateTime(), nullable=True))

    # One open request per kind per project: the database holds it under concurrency.
    op.create_index('uq_change_requests_open', 'change_requests', ['application_id', 'kind'], unique=True,
                    sqlite_where=sa.text("state = 'submitted'"), postgresql_where=sa.text("state = 'submitted'"))


def downgrade() -> None:
    op.drop_index('uq_change_requests_open', table_name='change_requests')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        for column in ('accepted_at', 'return_reason', 'evidence', 'kind'):
            batch_op.drop_column(column)
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('guide_en')
        batch_op.drop_column('guide')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attachments_milestone_id', type_='foreignkey')
        batch_op.drop_index('ix_attachments_milestone_id')
        batch_op.drop_column('milestone_id')
    op.drop_table('agreements')
