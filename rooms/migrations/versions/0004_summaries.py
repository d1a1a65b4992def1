"""summaries: a gathering's introduction and its publication

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'summaries',
        sa.Column('gathering_id', sa.String(length=32), nullable=False),
        sa.Column('intro', sa.Text(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['published_by'], ['people.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('gathering_id'),
    )


def downgrade() -> None:
    op.drop_table('summaries')
