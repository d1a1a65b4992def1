"""Who is coming, over real HTTP, real socket.io clients and a real SMTP server: members sign
up and change their answer; a runner sees the expected municipalities with their stages
and proposes breakout groups by the item's rule; the item opens those groups on the day,
adjusted for who came; the day-before reminder with the .ics goes out once from two
workers on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from facilitation.grouping import propose_groups
from facilitation.signups import advance_members
from facilitation.state import AdvanceGroups, BreakoutPlan, Group, Member
from rooms import signups
from rooms.forum_models import SignUp
from rooms.models import Gathering, Membership, Municipality, Person, Project
from server.app import create_app
from server.keys import LIVE, POSTBOX
from server.mail.compose import GATHERING_REMINDER
from server.mail.jobs import run_jobs_once
from server.settings import Settings
from tests.conftest import Connect, send
from tests.factories import World, add_gathering
from tests.mailbox import Inbox, with_smtp
from tests.server.browsing import Browser, PageOutline, csrf_of
from tests.server.test_breakouts_story import groups_by_name, people  # noqa: F401 (fixture)
from tests.server.test_pages import signed_in

NEXT_WEEK = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
SUBJECT = "Påminnelse: "  # the reminder's subject in bokmål


async def future_gathering(sessions: async_sessionmaker, world: World, number: int = 2,
                           starts_at: datetime = NEXT_WEEK,
                           agenda: list[tuple[str, str, int]] | None = None) -> Gathering:
    return await add_gathering(sessions, world.theme, number, starts_at=starts_at,
                               title=f"Samling {number}: innkjøp", agenda=agenda)


async def sign_up(browser: Browser, gathering: Gathering,
                  **form: str) -> tuple[int, str, str]:
    path = f"/gatherings/{gathering.id}/signup"
    status, page, response = await browser.submit(path, path, form, allow_redirects=False)
    return status, page, response.headers.get("Location", "")


async def rows(sessions: async_sessionmaker, gathering: Gathering) -> list[SignUp]:
    async with sessions() as session:
        return list(await session.scalars(select(SignUp).where(
            SignUp.gathering_id == gathering.id)))


async def test_a_member_signs_up_changes_the_answer_and_keeps_what_was_typed(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    gathering = await future_gathering(sessions, world)
    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.get(f"/gatherings/{gathering.id}/signup")
        assert status == 200 and PageOutline(page).unlabelled_inputs() == []
        assert "<legend>Kommer du til denne samlingen?</legend>" in page
        assert "Du har ikke svart ennå." in page
        status, _, location = await sign_up(alice, gathering, answer="coming",
                                            wish="Hvordan måle matsvinn <i>i skolen</i>")
        assert status == 303 and location.endswith("/signup?saved=1#answer")
        status, page, _ = await alice.get(location)
        assert "Svaret ditt er lagret." in page and "Jeg kommer" in page
        assert "Hvordan måle matsvinn &lt;i&gt;i skolen&lt;/i&gt;" in page  # escaped
        assert 'value="coming" required checked' in page

        status, _, _ = await sign_up(alice, gathering, answer="colleague", wish="")
        assert status == 303
        [row] = await rows(sessions, gathering)
        assert (row.answer, row.wish) == ("colleague", "")

        status, page, _ = await sign_up(alice, gathering, answer="coming", wish="x" * 501)
        assert status == 400 and "maks 500 tegn" in page
        assert "x" * 501 in page  # nothing typed is lost
        status, page, _ = await sign_up(alice, gathering, answer="maybe", wish="hei")
        assert status == 400 and ">hei</textarea>" in page
        [row] = await rows(sessions, gathering)
        assert (row.answer, row.wish) == ("colleague", "")  # bad input changed nothing


async def test_the_answer_cannot_change_once_the_gathering_has_started(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    gathering = await future_gathering(sessions, world)
    async with await signed_in(server, sessions, world.bjorn) as bjorn:
        status, page, _ = await bjorn.get(f"/gatherings/{gathering.id}/signup")
        token = csrf_of(page)
        async with sessions() as session:  # it starts while the form is open
            row = await session.get(Gathering, gathering.id)
            assert row is not None
            row.starts_at = datetime.now(UTC) - timedelta(minutes=1)
            await session.commit()
        status, page, _ = await bjorn.post(f"/gatherings/{gathering.id}/signup",
                                           {"csrf_token": token, "answer": "coming"})
        assert status == 409 and "svar kan ikke lenger endres" in page
        assert await rows(sessions, gathering) == []
        status, page, _ = await bjorn.get(f"/gatherings/{gathering.id}/signup")
        assert status == 200 and 'name="answer"' not in page


async def test_a_non_member_gets_403_and_a_participant_does_not_see_the_runners_list(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    gathering = await future_gathering(sessions, world)
    theirs = await add_gathering(sessions, world.other_theme, 2, starts_at=NEXT_WEEK)
    async with await signed_in(server, sessions, world.outsider) as outsider:
        status, _, _ = await outsider.get(f"/gatherings/{gathering.id}/signup")
        assert status == 403
        _, page, _ = await outsider.get(f"/gatherings/{theirs.id}/signup")
        status, _, _ = await outsider.post(f"/gatherings/{gathering.id}/signup",
                                           {"csrf_token": csrf_of(page), "answer": "coming"})
        assert status == 403
        assert await rows(sessions, gathering) == []
    async with await signed_in(server, sessions, world.alice) as alice:
        status, _, _ = await alice.get(f"/gatherings/{gathering.id}/expected")
        assert status == 403


async def add_member(sessions: async_sessionmaker, world: World, name: str,
                     stage: str | None) -> Person:
    """A participant from a municipality of their own, with a project at `stage`."""
    async with sessions() as s:
        place = Municipality(name=f"{name} kommune")
        s.add(place)
        await s.flush()
        if stage is not None:
            s.add(Project(municipality_id=place.id, theme_id=world.theme.id,
                          title=f"Matsvinn i {name}", stage=stage, grant_year=2025))
        person = Person(email=f"{name.lower()}@example.org", name=f"Deltaker {name}",
                        municipality_id=place.id)
        s.add(person)
        await s.flush()
        s.add(Membership(person_id=person.id, theme_id=world.theme.id, role="participant"))
        await s.commit()
        return person


async def answer(sessions: async_sessionmaker, person: Person, gathering: Gathering,
                 kind: str, wish: str = "") -> None:
    await signups.sign_up(sessions, person, gathering.id, answer=kind, wish=wish,
                          now=datetime.now(UTC))


async def test_a_runner_sees_who_is_expected_and_proposes_groups_by_the_items_rule(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    gathering = await future_gathering(sessions, world)
    stages = {"Alta": "oppstart", "Bø": "oppstart", "Dal": "oppstart",
              "Eid": "gjennomforing", "Fet": "gjennomforing", "Gol": "videreforing"}
    made = {name: await add_member(sessions, world, name, stage)
            for name, stage in stages.items()}
    for name in ["Alta", "Bø", "Dal", "Eid", "Fet"]:
        await answer(sessions, made[name], gathering, "coming", f"Lære av {name}")
    await answer(sessions, made["Gol"], gathering, "colleague")
    await answer(sessions, world.alice, gathering, "not_coming", "Ikke denne gangen")

    async with await signed_in(server, sessions, world.facilitator) as frida:
        path = f"/gatherings/{gathering.id}/expected"
        status, page, _ = await frida.get(path)
        assert status == 200
        assert "5 kommer, 1 sender en kollega, 1 kommer ikke; 6 kommuner ventes." in page
        assert '<th scope="row">Alta kommune</th>' in page and "Gjennomføring" in page
        assert "Lære av Eid" in page and "Ikke denne gangen" not in page
        assert "en kollega" in page  # Gol kommune
        breakout = next(i for i in gathering.items if i.kind == "breakout")
        action = f"/gatherings/{gathering.id}/expected/{breakout.id}/propose"
        status, _, response = await frida.submit(path, action, allow_redirects=False)
        assert status == 303
        assert response.headers["Location"] == f"{path}#item-{breakout.id}"
        status, page, _ = await frida.get(path)
        assert "en kollega fra Gol kommune" in page and "Foreslå gruppene på nytt" in page

    async with sessions() as session:
        stored = await session.get(Gathering, gathering.id)
        assert stored is not None
        [saved] = signups.proposals_of(stored).values()
    plan = BreakoutPlan()  # the item has no settings: same stage, groups of 4
    answers = await signups.answers(sessions, gathering)
    newest = {p.municipality_id: (p.stage, ()) for p in await all_projects(sessions)}
    expected = propose_groups(advance_members(answers, newest), plan, stage_names={
        "oppstart": "Oppstart", "gjennomforing": "Gjennomføring", "videreforing": "Videreføring"},
        seed=f"{gathering.id}:advance:{breakout.id}")
    assert saved.advance == AdvanceGroups(breakout.id, plan, expected)
    # by stage: the colleague's seat (Gol, alone at its stage) joins the nearest stage
    assert [(g.name, sorted(m.name for m in g.members)) for g in expected] == [
        ("Oppstart", ["Deltaker Alta", "Deltaker Bø", "Deltaker Dal"]),
        ("Gjennomføring", ["Deltaker Eid", "Deltaker Fet", "Gol kommune"])]


async def all_projects(sessions: async_sessionmaker) -> list[Project]:
    async with sessions() as session:
        return list(await session.scalars(select(Project)))


async def test_the_breakout_item_opens_the_advance_groups_for_those_who_came(
        world: World, people: dict[str, Person], connect: Connect,  # noqa: F811
        server: TestServer, sessions: async_sessionmaker) -> None:
    """Through the one command path: the proposal kept before the day (not what the rule
    would propose now) opens, Dal (absent) left out."""
    gid = world.gathering.id
    breakout = next(i for i in world.gathering.items if i.kind == "breakout")

    def member(name: str, stage: str) -> Member:
        person = people[name]
        return Member(person.id, person.name, f"{name} kommune", stage, ("skole",))

    proposal = (Group("g1", "Blanding 1", (member("Alta", "oppstart"), member("Eid",
                                                                              "gjennomforing"))),
                Group("g2", "Blanding 2", (member("Bø", "oppstart"), member("Dal", "oppstart"),
                                           member("Fet", "gjennomforing"))))
    await signups.save_proposal(sessions, world.facilitator, gid,
                                AdvanceGroups(breakout.id, BreakoutPlan(), proposal),
                                datetime.now(UTC))
    frida = await connect(world.facilitator)
    await send(frida, gid, "room.join")
    clients = {}
    for name in ["Alta", "Bø", "Eid", "Fet"]:
        clients[name] = await connect(people[name])
        assert (await send(clients[name], gid, "room.join"))["ok"]
    items = [i["id"] for i in (await send(frida, gid, "room.sync", since=10**6))["snapshot"]
             ["agenda"]]
    assert (await send(frida, gid, "room.open"))["ok"]
    for from_item in [None, items[0], items[1]]:
        assert (await send(frida, gid, "agenda.next", from_item=from_item))["ok"]
    snapshot = (await send(clients["Alta"], gid, "room.sync", since=10**6))["snapshot"]
    assert snapshot["breakouts"]["status"] == "open"
    assert groups_by_name(snapshot) == {"Blanding 1": {"Deltaker Alta", "Deltaker Eid"},
                                        "Blanding 2": {"Deltaker Bø", "Deltaker Fet"}}
    state = await server.app[LIVE].state(gid)
    assert state.breakouts is not None and [g.id for g in state.breakouts.groups] == ["g1", "g2"]


# --- the reminder ----------------------------------------------------------------------------


@pytest.fixture
async def two_workers(settings: Settings, world: World,
                      inbox: tuple[Inbox, int]) -> AsyncIterator[list[TestServer]]:
    servers = []
    for _ in range(2):
        app = create_app(with_smtp(settings, inbox[1]))
        app[POSTBOX].first_delay = 0.05
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
    yield servers
    for server in servers:
        await server.close()


async def run_both(servers: list[TestServer], now: datetime) -> None:
    """Both workers run the scheduled mail at the same moment; then all their mail is out."""
    await asyncio.gather(*(run_jobs_once(s.app, now) for s in servers))
    for s in servers:
        await s.app[POSTBOX].close()


def reminders(inbox: Inbox) -> list[str]:
    return sorted(m["To"].addresses[0].addr_spec for m in inbox.messages
                  if str(m["Subject"]).startswith(SUBJECT))


async def test_the_day_before_each_person_coming_gets_one_reminder_with_the_ics(
        two_workers: list[TestServer], sessions: async_sessionmaker, world: World,
        inbox: tuple[Inbox, int]) -> None:
    mails, _ = inbox
    start = NEXT_WEEK + timedelta(days=7)  # out of the real clock's window
    gathering = await future_gathering(sessions, world, 3, starts_at=start)
    soon = await future_gathering(sessions, world, 4, starts_at=start - timedelta(hours=23))
    carl = await add_member(sessions, world, "Carl", "oppstart")
    dina = await add_member(sessions, world, "Dina", "oppstart")
    async with sessions() as session:  # Dina stopped non-essential mail
        row = await session.get(Person, dina.id)
        assert row is not None
        row.mail_opt_out = True
        await session.commit()
    await answer(sessions, world.alice, gathering, "coming", "Innkjøp")
    await answer(sessions, carl, gathering, "coming")
    await answer(sessions, dina, gathering, "coming")
    await answer(sessions, world.bjorn, gathering, "not_coming")
    await answer(sessions, world.expert, gathering, "colleague")

    await run_both(two_workers, start - timedelta(hours=30))  # too early
    assert reminders(mails) == []
    await answer(sessions, world.bjorn, soon, "coming")  # 1 h before it: too late
    await run_both(two_workers, start - timedelta(hours=24))
    await run_both(two_workers, start - timedelta(hours=23, minutes=59))  # again: no repeat
    assert reminders(mails) == ["alice@example.org", "carl@example.org"]
    # all claimed (Dina's too, who gets none): a worker's next look finds nothing to do
    assert await signups.reminders_due(sessions, start - timedelta(hours=20),
                                       GATHERING_REMINDER) == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SignUp)) == 6

    [mail] = [m for m in mails.to("alice@example.org")
              if str(m["Subject"]).startswith(SUBJECT)]
    assert mail["Subject"] == f"{SUBJECT}{gathering.title}"
    assert "List-Unsubscribe" in mail  # stopped like other non-essential mail
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert f"https://forum.example.org/g/{gathering.id}" in body and "Innkjøp" in body
    [ics] = list(mail.iter_attachments())
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_filename() == f"samling-{gathering.year}-3.ics"
    [event] = Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert event.decoded("dtstart") == start
    assert str(event.get("location")).endswith(f"/g/{gathering.id}")


async def gathering_with_sign_ups(sessions: async_sessionmaker, world: World) -> str:
    """For the pages' accessibility check (tests/e2e/test_new_pages_axe.py): a gathering
    next week that Alice comes to with a wish and Bjørn sends a colleague to, and its
    breakout item's groups proposed in advance. Its id."""
    # item titles that are no UI text in either language (the theme page shows them)
    gathering = await future_gathering(sessions, world, 5, agenda=[
        ("welcome", "Hei, alle sammen", 10), ("breakout", "Grupper om innkjøp", 25)])
    await answer(sessions, world.alice, gathering, "coming", "Lære om innkjøp")
    await answer(sessions, world.bjorn, gathering, "colleague")
    breakout = next(i for i in gathering.items if i.kind == "breakout")
    place = world.bjorn.municipality_id or 0
    group = Group("g1", "Oppstart", (
        Member(world.alice.id, world.alice.name, "Askvik kommune", "oppstart"),
        Member(-place, "Brekke kommune", "Brekke kommune", "oppstart")))
    await signups.save_proposal(sessions, world.facilitator, gathering.id,
                                AdvanceGroups(breakout.id, BreakoutPlan(), (group,)),
                                datetime.now(UTC))
    return gathering.id
