"""sign-in throttle, token expiry

Revision ID: 0004
Revises: 0003
"""
import datetime as dt
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import workflow.models  # custom column types the revisions name


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('sign_in_throttles',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_at', workflow.models.UTCDateTime(), nullable=False),
    sa.Column('blocked_until', workflow.models.UTCDateTime(), nullable=True),
    sa.Column('throttled_since', workflow.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('email', 'address')
    )
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_throttles_last_at'), ['last_at'], unique=False)

    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_email'))
    op.drop_table('sign_in_failures')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', workflow.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', workflow.models.UTCDateTime(), nullable=True))
    # Tokens issued before expiry existed get the default lifetime from today.
    tokens = sa.table('api_tokens', sa.column('expires_at', workflow.models.UTCDateTime()))
    op.execute(tokens.update().values(expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=workflow.models.UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')

    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', workflow.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_email'), ['email'], unique=False)

    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_throttles_last_at'))
    op.drop_table('sign_in_throttles')
