"""The theme's forum between gatherings: its tables, in one place (the live gathering's
tables are in rooms/models.py). Each area's writes go through its own module:
announcements (rooms/announcements.py), follow-ups (rooms/follow_ups.py), help requests
and peers (rooms/network.py), expert bookings and advance questions (rooms/experts.py),
sign-ups (rooms/signups.py), take-home pages (rooms/take_home.py), search
(rooms/search.py), unread marks and notification choices (rooms/forum_home.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from rooms.models import Base, UTCDateTime

PEOPLE = "people.id"


class ThemeVisit(Base):
    """When a person last looked at a theme's page: what is newer is unread."""

    __tablename__ = "theme_visits"
    person_id: Mapped[int] = mapped_column(
        ForeignKey(PEOPLE, ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Announcement(Base):
    """A facilitator's (or the lead's) Markdown message to a theme, to some of its
    municipalities (`municipality_ids`, empty: all), or to every theme (`theme_id` None)."""

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_theme", "theme_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # Markdown, rendered safely
    municipality_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    emailed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnnouncementReply(Base):
    __tablename__ = "announcement_replies"
    __table_args__ = (Index("ix_announcement_replies_announcement", "announcement_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FollowUp(Base):
    """"What will you try before the next gathering": owned by a municipality, made during
    or after `gathering_id`, due before `due_gathering_id` (the theme's next gathering)."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_theme", "theme_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    gathering_id: Mapped[str | None] = mapped_column(
        ForeignKey("gatherings.id", ondelete="SET NULL"))
    due_gathering_id: Mapped[str | None] = mapped_column(
        ForeignKey("gatherings.id", ondelete="SET NULL"))
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text, default="", server_default="")  # the note line
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|doing|done|dropped
    report: Mapped[str] = mapped_column(Text, default="", server_default="")
    link: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))


class HelpRequest(Base):
    """A participant asks the network for help on their project."""

    __tablename__ = "help_requests"
    __table_args__ = (Index("ix_help_requests_theme", "theme_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(40))  # the project's stage when asked
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # brought to a gathering's agenda by a facilitator
    agenda_gathering_id: Mapped[str | None] = mapped_column(
        ForeignKey("gatherings.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HelpAnswer(Base):
    __tablename__ = "help_answers"
    __table_args__ = (Index("ix_help_answers_request", "request_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    helpful: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ForumMessage(Base):
    """A message from one member to another through the forum (their address unshown)."""

    __tablename__ = "forum_messages"
    __table_args__ = (Index("ix_forum_messages_recipient", "recipient_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey(PEOPLE, ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExpertBooking(Base):
    """An expert invited to a gathering's expert slot, who answers by a link (the token's
    hash is stored, never the token)."""

    __tablename__ = "expert_bookings"
    __table_args__ = (Index("ix_expert_bookings_gathering", "gathering_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    # the live agenda's item id (facilitation AgendaSlot.id): no foreign key, since items
    # added in the planner live in the gathering's log, not in agenda_items
    item_id: Mapped[int | None] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    organisation: Mapped[str] = mapped_column(String(200), default="", server_default="")
    topic: Mapped[str] = mapped_column(String(300))
    minutes: Mapped[int] = mapped_column(Integer)
    brief: Mapped[str] = mapped_column(Text, default="", server_default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="invited")  # invited|accepted|declined
    invited_by: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AdvanceQuestion(Base):
    """A question for a gathering (its expert slot) asked before the day."""

    __tablename__ = "advance_questions"
    __table_args__ = (Index("ix_advance_questions_gathering", "gathering_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey(PEOPLE, ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    brought_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # into the live Q&A


class AdvanceVote(Base):
    __tablename__ = "advance_votes"
    question_id: Mapped[int] = mapped_column(
        ForeignKey("advance_questions.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey(PEOPLE, ondelete="CASCADE"),
                                           primary_key=True)


class SignUp(Base):
    """A member's answer to "are you coming to the next gathering?"."""

    __tablename__ = "sign_ups"
    gathering_id: Mapped[str] = mapped_column(
        ForeignKey("gatherings.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey(PEOPLE, ondelete="CASCADE"),
                                           primary_key=True)
    answer: Mapped[str] = mapped_column(String(12))  # coming|not_coming|colleague
    wish: Mapped[str] = mapped_column(String(500), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TakeHomeLink(Base):
    """A read-only share link to a person's "what I bring home" page for one gathering."""

    __tablename__ = "take_home_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey(PEOPLE, ondelete="CASCADE"))
    gathering_id: Mapped[str] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OnceJob(Base):
    """Scheduled work done once across workers: the worker whose insert of (kind, key)
    commits does it; every other worker's insert clashes and it does nothing."""

    __tablename__ = "once_jobs"
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SearchDoc(Base):
    """One findable thing in the archive (rooms/search.py keeps the full-text index of
    `title` and `body`). Who may read it: the lead always; with `theme_id` None every
    member; else the theme's members, and of them only the municipalities in `audience`
    when it is not empty."""

    __tablename__ = "search_docs"
    __table_args__ = (UniqueConstraint("kind", "ref"), Index("ix_search_docs_theme", "theme_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # summary|note|question|help|answer|...
    ref: Mapped[str] = mapped_column(String(120))  # the source's key within its kind
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    gathering_id: Mapped[str | None] = mapped_column(
        ForeignKey("gatherings.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    audience: Mapped[list[int]] = mapped_column(JSON, default=list)  # municipality ids
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500))  # the exact place, with its #anchor
    # where it stands, when that is worth showing: a question answered|open, a help
    # request open|closed, an answer helpful...
    state: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

