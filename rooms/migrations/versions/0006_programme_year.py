"""programme year: people's language and mail choice, counties, projects' details and stage
history, contacts, rescheduled and cancelled gatherings, notices to a theme, saved import
mappings

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as people:
        people.add_column(sa.Column('language', sa.String(length=5), nullable=True))
        people.add_column(sa.Column('mail_opt_out', sa.Boolean(), nullable=False,
                                    server_default=sa.false()))
    with op.batch_alter_table('municipalities') as municipalities:
        municipalities.add_column(sa.Column('county_name', sa.String(length=200),
                                            nullable=False, server_default=''))
    with op.batch_alter_table('projects') as projects:
        projects.add_column(sa.Column('description', sa.Text(), nullable=False,
                                      server_default=''))
        projects.add_column(sa.Column('can_share', sa.Text(), nullable=False,
                                      server_default=''))
        projects.add_column(sa.Column('needs_help', sa.Text(), nullable=False,
                                      server_default=''))
        projects.add_column(sa.Column('amount', sa.Integer(), nullable=True))
    with op.batch_alter_table('gatherings') as gatherings:
        gatherings.add_column(sa.Column('sequence', sa.Integer(), nullable=False,
                                        server_default='0'))
        gatherings.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True),
                                        nullable=True))
        gatherings.add_column(sa.Column('updated_at', sa.DateTime(timezone=True),
                                        nullable=True))
        gatherings.add_column(sa.Column('log_rewrites', sa.Integer(), nullable=False,
                                        server_default='0'))
    op.create_table(
        'project_stage_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['stage'], ['project_stages.slug']),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_project_stage_changes_project', 'project_stage_changes',
                    ['project_id'])
    op.create_table(
        'project_contacts',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', 'person_id'),
    )
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('theme_id', sa.Integer(), nullable=False),
        sa.Column('gathering_id', sa.String(length=32), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notices_theme', 'notices', ['theme_id'])
    op.create_table(
        'import_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('import_mappings')
    op.drop_index('ix_notices_theme', 'notices')
    op.drop_table('notices')
    op.drop_table('project_contacts')
    op.drop_index('ix_project_stage_changes_project', 'project_stage_changes')
    op.drop_table('project_stage_changes')
    with op.batch_alter_table('gatherings') as gatherings:
        gatherings.drop_column('log_rewrites')
        gatherings.drop_column('updated_at')
        gatherings.drop_column('cancelled_at')
        gatherings.drop_column('sequence')
    with op.batch_alter_table('projects') as projects:
        for column in ('amount', 'needs_help', 'can_share', 'description'):
            projects.drop_column(column)
    with op.batch_alter_table('municipalities') as municipalities:
        municipalities.drop_column('county_name')
    with op.batch_alter_table('people') as people:
        people.drop_column('mail_opt_out')
        people.drop_column('language')
