"""review pool, conflicts and rubrics

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import workflow.models  # custom column types the revisions name


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('expert_profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', workflow.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', workflow.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('rubrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', workflow.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_id', 'version')
    )
    op.create_index('ix_rubrics_call_id', 'rubrics', ['call_id'], unique=False)
    op.create_table('conflict_declarations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_at', workflow.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], ),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    for column in ('application_id', 'declared_at', 'institution_id', 'reviewer_id'):
        op.create_index(f'ix_conflict_declarations_{column}', 'conflict_declarations', [column], unique=False)

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disagreement_spread', sa.Float(), nullable=False, server_default='20'))

    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('institution_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_partners_institution_id', ['institution_id'], unique=False)
        batch_op.create_foreign_key('fk_partners_institution_id', 'institutions', ['institution_id'], ['id'])

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rubric_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('scores', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('declared_at', workflow.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_reviews_rubric_id', 'rubrics', ['rubric_id'], ['id'])
        batch_op.create_foreign_key('fk_reviews_replaces_id', 'reviews', ['replaces_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_constraint('fk_reviews_replaces_id', type_='foreignkey')
        batch_op.drop_constraint('fk_reviews_rubric_id', type_='foreignkey')
        for column in ('replaces_id', 'declared_at', 'scores', 'rubric_id'):
            batch_op.drop_column(column)
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_constraint('fk_partners_institution_id', type_='foreignkey')
        batch_op.drop_index('ix_partners_institution_id')
        batch_op.drop_column('institution_id')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('disagreement_spread')
    op.drop_table('conflict_declarations')
    op.drop_table('rubrics')
    op.drop_table('expert_profiles')
