"""SQLAlchemy models: the forum's directory, plans and the live event log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time: stored in UTC, always read back aware, in UTC, on every database.

    SQLite has no zone-aware type: SQLAlchemy writes the wall-clock digits, drops the
    offset and reads a naive value back, so 09:00+01:00 came back as 09:00 (UTC, as read).
    Naive values are taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Theme(Base):
    __tablename__ = "themes"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class Municipality(Base):
    __tablename__ = "municipalities"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    county: Mapped[bool] = mapped_column(Boolean, default=False)  # a county municipality
    county_name: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    is_programme_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(5))  # None: never chosen (bokmål)
    mail_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the forum between gatherings: whether peers see their address, and how they hear of
    # what is new (instant: a mail at once; weekly: a digest; never)
    show_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notify: Mapped[str] = mapped_column(String(10), default="weekly", server_default="weekly")
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")


class Membership(Base):
    """A person's role in one theme."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "theme_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))


class ProjectStage(Base):
    __tablename__ = "project_stages"
    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"))
    title: Mapped[str] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(ForeignKey("project_stages.slug"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_year: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    can_share: Mapped[str] = mapped_column(Text, default="", server_default="")
    needs_help: Mapped[str] = mapped_column(Text, default="", server_default="")
    amount: Mapped[int | None] = mapped_column(Integer)  # the grant, in kroner


class ProjectStageChange(Base):
    """A project moved to `stage` (its first stage included), when and by whom."""

    __tablename__ = "project_stage_changes"
    __table_args__ = (Index("ix_project_stage_changes_project", "project_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(ForeignKey("project_stages.slug"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class ProjectContact(Base):
    __tablename__ = "project_contacts"
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


class Gathering(Base):
    __tablename__ = "gatherings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_minutes: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # iCalendar
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # iCalendar LAST-MODIFIED
    # times its event log was rewritten in place (a person erased): cached states reload
    log_rewrites: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # breakout groups proposed before the day from the sign-ups, by agenda item id (str):
    # {"plan": {...}, "groups": [...], "made_at": iso}; rooms/signups.py
    breakout_proposals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict,
                                                               server_default="{}")
    theme: Mapped[Theme] = relationship(lazy="joined")
    items: Mapped[list[AgendaItem]] = relationship(
        order_by="AgendaItem.position", lazy="selectin", cascade="all, delete-orphan"
    )


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    planned_minutes: Mapped[int] = mapped_column(Integer)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # a breakout item's settings: rule, group_size, task, note_template, spread_municipalities
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


class _Token:
    """What a sign-in link and a browser's session share: a person's secret token, of
    which only the hash is stored, valid for a while."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invitation(_Token, Base):
    """A sign-in link."""

    __tablename__ = "invitations"
    reusable: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(_Token, Base):
    """A signed-in browser; its cookie holds the token."""

    __tablename__ = "web_sessions"


class GatheringEvent(Base):
    """The event log of live gatherings: the record everything else is folded from."""

    __tablename__ = "gathering_events"
    __table_args__ = (UniqueConstraint("gathering_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[float] = mapped_column(Float)
    person_id: Mapped[int | None] = mapped_column(Integer)


class CommandReceipt(Base):
    """The first answer to a client's command id, so a resend changes nothing."""

    __tablename__ = "command_receipts"
    __table_args__ = (UniqueConstraint("person_id", "command_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    command_id: Mapped[str] = mapped_column(String(64))
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[float] = mapped_column(Float)


class NoteUpdate(Base):
    """The durable log of a shared note (a Yjs document): one row per accepted update.

    `kind` is `update` (a client's update), `seed` (the note's template, written once, at
    seq 1) or `snapshot` (the whole document up to and including this seq; compaction
    replaces every earlier row with it). Replaying the rows in seq order gives the note."""

    __tablename__ = "note_updates"
    __table_args__ = (UniqueConstraint("gathering_id", "note_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    note_id: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    data: Mapped[bytes] = mapped_column()  # LargeBinary: BLOB on SQLite, bytea on PostgreSQL
    at: Mapped[float] = mapped_column(Float)
    person_id: Mapped[int | None] = mapped_column(Integer)


class Summary(Base):
    """A gathering's summary: the facilitator's introduction and whether it is published.
    The rest of the summary (agenda as run, attendance, groups, notes) is folded from the
    event log and the notes whenever it is shown."""

    __tablename__ = "summaries"
    gathering_id: Mapped[str] = mapped_column(
        ForeignKey("gatherings.id", ondelete="CASCADE"), primary_key=True)
    intro: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class Recording(Base):
    """A recorded expert slot. The file is `<RECORDINGS_DIR>/<id>.mp4` (recordings/storage.py);
    the consent it was made under is in the event log and copied here (who: `person_id`,
    when: `consent_at`)."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_gathering", "gathering_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    person_name: Mapped[str] = mapped_column(String(200))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    streams: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(12), default="recording")


class Notice(Base):
    """News for a theme's members in the forum (a gathering rescheduled or cancelled...):
    `kind` says which, `data` holds what the text is made from, in each reader's language."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_theme", "theme_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    gathering_id: Mapped[str | None] = mapped_column(
        ForeignKey("gatherings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ImportMapping(Base):
    """A saved mapping from a grant list's column headers to the fields the importer reads."""

    __tablename__ = "import_mappings"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    columns: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
