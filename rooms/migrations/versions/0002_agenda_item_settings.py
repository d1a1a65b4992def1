"""agenda item settings: an expert talk's expert, a breakout item's settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 19:38:57.246593
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

FK = "fk_agenda_items_expert_id_people"


def upgrade() -> None:
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expert_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('settings', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.create_foreign_key(FK, 'people', ['expert_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.drop_column('settings')
        batch_op.drop_column('expert_id')
