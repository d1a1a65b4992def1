"""theme forum: between the gatherings (announcements and replies, follow-ups, help
requests and answers, messages, expert bookings, advance questions, sign-ups, take-home
links, once-only jobs, the search archive; people's contact and notification choices)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:07:43.162621
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('once_jobs',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key')
    )
    op.create_table('advance_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gathering_id', sa.String(length=32), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('brought_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('advance_questions', schema=None) as batch_op:
        batch_op.create_index('ix_advance_questions_gathering', ['gathering_id'], unique=False)

    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('municipality_ids', sa.JSON(), nullable=False),
    sa.Column('emailed', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index('ix_announcements_theme', ['theme_id'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('gathering_id', sa.String(length=32), nullable=True),
    sa.Column('due_gathering_id', sa.String(length=32), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('source', sa.Text(), server_default='', nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('report', sa.Text(), server_default='', nullable=False),
    sa.Column('link', sa.String(length=500), server_default='', nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['due_gathering_id'], ['gatherings.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['people.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_theme', ['theme_id'], unique=False)

    op.create_table('forum_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recipient_id'], ['people.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sender_id'], ['people.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forum_messages', schema=None) as batch_op:
        batch_op.create_index('ix_forum_messages_recipient', ['recipient_id'], unique=False)

    op.create_table('help_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('stage', sa.String(length=40), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agenda_gathering_id', sa.String(length=32), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agenda_gathering_id'], ['gatherings.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.create_index('ix_help_requests_theme', ['theme_id'], unique=False)

    op.create_table('search_docs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('ref', sa.String(length=120), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.Column('gathering_id', sa.String(length=32), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=40), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'ref')
    )
    with op.batch_alter_table('search_docs', schema=None) as batch_op:
        batch_op.create_index('ix_search_docs_theme', ['theme_id'], unique=False)

    op.create_table('sign_ups',
    sa.Column('gathering_id', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=12), nullable=False),
    sa.Column('wish', sa.String(length=500), server_default='', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('gathering_id', 'person_id')
    )
    op.create_table('take_home_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('gathering_id', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('theme_visits',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'theme_id')
    )
    op.create_table('advance_votes',
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['advance_questions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', 'person_id')
    )
    op.create_table('announcement_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('announcement_replies', schema=None) as batch_op:
        batch_op.create_index('ix_announcement_replies_announcement', ['announcement_id'],
                              unique=False)

    op.create_table('expert_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gathering_id', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('organisation', sa.String(length=200), server_default='', nullable=False),
    sa.Column('topic', sa.String(length=300), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('brief', sa.Text(), server_default='', nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('invited_by', sa.Integer(), nullable=True),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['gathering_id'], ['gatherings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('expert_bookings', schema=None) as batch_op:
        batch_op.create_index('ix_expert_bookings_gathering', ['gathering_id'], unique=False)

    op.create_table('help_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('helpful', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['help_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('help_answers', schema=None) as batch_op:
        batch_op.create_index('ix_help_answers_request', ['request_id'], unique=False)

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_email', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('notify', sa.String(length=10), server_default='weekly',
                                      nullable=False))

    with op.batch_alter_table('gatherings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breakout_proposals', sa.JSON(), server_default='{}',
                                      nullable=False))


    _create_fulltext()


# The archive's full-text index (rooms/search.py, rooms/fulltext.py), outside the models:
# PostgreSQL: the `norwegian` tsvector of title (weight A) and body (B) as a stored
# generated column with a GIN index (stored, not an expression index: ranking thousands of
# matches re-parsed every body, 400 ms a query; bench/search.py). SQLite: an FTS5 table of
# the stems of title and
# body, kept in step with search_docs by triggers calling forum_fts_text (registered on
# every connection by rooms/db.py). A later batch migration that recreates search_docs on
# SQLite drops these triggers and must create them again.
FULLTEXT_PG = [
    "ALTER TABLE search_docs ADD COLUMN fulltext tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('norwegian'::regconfig, title), 'A') || "
    "setweight(to_tsvector('norwegian'::regconfig, body), 'B')) STORED",
    "CREATE INDEX ix_search_docs_fulltext ON search_docs USING gin (fulltext)",
]
FULLTEXT_SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "title, body, tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_docs BEGIN "
    "INSERT INTO search_fts(rowid, title, body) "
    "VALUES (new.id, forum_fts_text(new.title), forum_fts_text(new.body)); END",
    "CREATE TRIGGER search_fts_update AFTER UPDATE OF title, body ON search_docs BEGIN "
    "DELETE FROM search_fts WHERE rowid = old.id; "
    "INSERT INTO search_fts(rowid, title, body) "
    "VALUES (new.id, forum_fts_text(new.title), forum_fts_text(new.body)); END",
    "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_docs BEGIN "
    "DELETE FROM search_fts WHERE rowid = old.id; END",
]


def _create_fulltext() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        for statement in FULLTEXT_PG:
            op.execute(statement)
    elif dialect == 'sqlite':
        for statement in FULLTEXT_SQLITE:
            op.execute(statement)


def _drop_fulltext() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_search_docs_fulltext")
        op.execute("ALTER TABLE search_docs DROP COLUMN IF EXISTS fulltext")
    elif dialect == 'sqlite':
        for trigger in ('search_fts_insert', 'search_fts_update', 'search_fts_delete'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")


def downgrade() -> None:
    _drop_fulltext()
    with op.batch_alter_table('gatherings', schema=None) as batch_op:
        batch_op.drop_column('breakout_proposals')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('notify')
        batch_op.drop_column('show_email')

    with op.batch_alter_table('help_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_help_answers_request')

    op.drop_table('help_answers')
    with op.batch_alter_table('expert_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_expert_bookings_gathering')

    op.drop_table('expert_bookings')
    with op.batch_alter_table('announcement_replies', schema=None) as batch_op:
        batch_op.drop_index('ix_announcement_replies_announcement')

    op.drop_table('announcement_replies')
    op.drop_table('advance_votes')
    op.drop_table('theme_visits')
    op.drop_table('take_home_links')
    op.drop_table('sign_ups')
    with op.batch_alter_table('search_docs', schema=None) as batch_op:
        batch_op.drop_index('ix_search_docs_theme')

    op.drop_table('search_docs')
    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_help_requests_theme')

    op.drop_table('help_requests')
    with op.batch_alter_table('forum_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_messages_recipient')

    op.drop_table('forum_messages')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_theme')

    op.drop_table('follow_ups')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_theme')

    op.drop_table('announcements')
    with op.batch_alter_table('advance_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_advance_questions_gathering')

    op.drop_table('advance_questions')
    op.drop_table('once_jobs')
