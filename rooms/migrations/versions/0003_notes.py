"""shared notes: the durable log of each note's Yjs updates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'note_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('gathering_id', sa.String(length=32), nullable=False),
        sa.Column('note_id', sa.String(length=16), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('gathering_id', 'note_id', 'seq'),
    )


def downgrade() -> None:
    op.drop_table('note_updates')
