"""recordings: recorded expert slots, with the consent they were made under

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 23:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'recordings',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('gathering_id', sa.String(length=32), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('person_name', sa.String(length=200), nullable=False),
        sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('seconds', sa.Float(), nullable=True),
        sa.Column('size_bytes', sa.Integer(), nullable=True),
        sa.Column('streams', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['started_by'], ['people.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_recordings_gathering', 'recordings', ['gathering_id'])


def downgrade() -> None:
    op.drop_index('ix_recordings_gathering', 'recordings')
    op.drop_table('recordings')
