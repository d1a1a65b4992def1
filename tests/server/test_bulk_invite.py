"""Inviting a pasted list of people to a theme; who has signed in; a new link, or taking
the links back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.bulk_invite import invite_waiting, waiting
from rooms.grant_store import import_grants
from rooms.invitations import Invitee, parse_people, people_status
from rooms.models import Invitation, Membership, Person, Theme
from server.keys import POSTBOX
from tests.factories import World, build_world
from tests.server.browsing import Browser, csrf_of
from tests.server.test_project_pages import browser_of


@pytest.mark.parametrize(("line", "read"), [
    ("Kari Nordmann <Kari@Askvik.kommune.no>; Askvik kommune",
     ("Kari Nordmann", "kari@askvik.kommune.no", "Askvik kommune")),
    ("Kari Nordmann <kari@askvik.no>", ("Kari Nordmann", "kari@askvik.no", "")),
    ("Kari  Nordmann;kari@askvik.no;Askvik", ("Kari Nordmann", "kari@askvik.no", "Askvik")),
    ("Kari Nordmann, kari@askvik.no, Askvik", ("Kari Nordmann", "kari@askvik.no", "Askvik")),
    ("Kari Nordmann\tkari@askvik.no", ("Kari Nordmann", "kari@askvik.no", "")),
])
def test_lines_are_read_in_each_shape(line: str, read: tuple[str, str, str]) -> None:
    assert parse_people(f"\n{line}\n\n") == ([Invitee(2, *read)], [])


@pytest.mark.parametrize(("text", "reason"), [
    ("Kari Nordmann", "format"),
    ("a;b;c;d", "format"),
    ("Kari <kari@askvik>", "email"),
    ("Kari;kari askvik.no;Askvik", "email"),
    ("<kari@askvik.no>", "name"),
    ("Kari <kari@askvik.no>\nKari N <KARI@askvik.no>", "duplicate"),
    ("\n".join(f"P{n};p{n}@x.no" for n in range(501)), "too-many"),
])
def test_wrong_lines_are_told_with_why(text: str, reason: str) -> None:
    people, errors = parse_people(text)
    assert [e.reason for e in errors] == [reason]


@pytest.fixture
def mailed(server: TestServer, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(server.app[POSTBOX], "post_sign_in_link",
                        lambda to, link, *args, **kwargs: sent.append((to, link)))
    return sent


async def count(sessions: async_sessionmaker, what: Any) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(what)) or 0)


LIST = ("Kari Nordmann <kari@askvik.no>; Askvik\n"
        "Per Brekke;per@brekke.no;Brekke kommune\n"
        "Alice Aas <ALICE@example.org>; Askvik kommune\n")


async def test_the_facilitator_invites_a_list_and_follows_up(
        world: World, server: TestServer, sessions: async_sessionmaker,
        mailed: list[tuple[str, str]]) -> None:
    async with await browser_of(server, sessions, world.facilitator) as frida:
        status, html, _ = await frida.submit("/themes/mat/people", "/themes/mat/people",
                                             {"people": LIST, "role": "participant"})
        assert status == 200, html
        assert "Inviterte 3" in html
        assert sorted(to for to, _ in mailed) == ["alice@example.org", "kari@askvik.no",
                                                   "per@brekke.no"]
        async with sessions() as s:
            kari = await s.scalar(select(Person).where(Person.email == "kari@askvik.no"))
            assert kari is not None and kari.municipality is not None
            assert kari.municipality.name == "Askvik kommune"
            alice = await s.get(Person, world.alice.id)
            assert alice is not None and alice.name == "Alice Aas"  # updated, not doubled
        # Kari signs in from her e-mail: the list says so
        link = next(link for to, link in mailed if to == "kari@askvik.no")
        async with Browser(server) as kari_browser:
            token = link.rsplit("/", 1)[1]
            await kari_browser.sign_in(token)
        html = (await frida.get("/themes/mat/people"))[1]
        row = html.split("Kari Nordmann", 1)[1].split("</tr>", 1)[0]
        assert "Ja" in row
        per_row = html.split("Per Brekke", 1)[1].split("</tr>", 1)[0]
        assert "Ikke ennå" in per_row
        async with sessions() as s:
            per = await s.scalar(select(Person.id).where(Person.email == "per@brekke.no"))
        # revoke Per's link: it no longer signs in
        per_link = next(link for to, link in mailed if to == "per@brekke.no")
        status, _, _ = await frida.submit("/themes/mat/people",
                                          f"/themes/mat/people/{per}/revoke")
        assert status == 200
        async with Browser(server) as per_browser:
            response = await per_browser.sign_in(per_link.rsplit("/", 1)[1])
            assert response.status == 410
        mailed.clear()
        status, _, _ = await frida.submit("/themes/mat/people",
                                          f"/themes/mat/people/{per}/resend")
        assert status == 200 and [to for to, _ in mailed] == ["per@brekke.no"]
        async with Browser(server) as per_browser:
            response = await per_browser.sign_in(mailed[0][1].rsplit("/", 1)[1])
            assert response.status == 303


async def test_one_wrong_line_invites_nobody_and_keeps_the_list(
        world: World, server: TestServer, sessions: async_sessionmaker,
        mailed: list[tuple[str, str]]) -> None:
    people, invitations = await count(sessions, Person), await count(sessions, Invitation)
    memberships = await count(sessions, Membership)
    wrong = LIST + "Ola Nomansland <ola@x.no>; Atlantis\nTore;tore-at-x.no\n"
    async with await browser_of(server, sessions, world.facilitator) as frida:
        invitations += 1  # Frida's own sign-in
        status, html, _ = await frida.submit("/themes/mat/people", "/themes/mat/people",
                                             {"people": wrong, "role": "participant"})
        assert status == 400 and 'role="alert"' in html
        assert "Linje 5" in html and "tore-at-x.no" in html  # the broken format, first
        assert "Kari Nordmann &lt;kari@askvik.no&gt;" in html  # nothing typed is lost
        status, html, _ = await frida.submit(
            "/themes/mat/people", "/themes/mat/people",
            {"people": LIST + "Ola Nomansland <ola@x.no>; Atlantis", "role": "participant"})
        assert status == 400 and "Linje 4" in html and "Atlantis" in html
    assert mailed == []
    assert (await count(sessions, Person), await count(sessions, Invitation),
            await count(sessions, Membership)) == (people, invitations, memberships)


async def test_only_the_themes_runners_invite_and_only_to_roles_they_may_give(
        world: World, server: TestServer, sessions: async_sessionmaker,
        mailed: list[tuple[str, str]]) -> None:
    async with await browser_of(server, sessions, world.alice) as alice:
        assert (await alice.get("/themes/mat/people"))[0] == 403
    async with await browser_of(server, sessions, world.facilitator) as frida:
        assert (await frida.get("/themes/areal/people"))[0] == 403
        status, _, _ = await frida.submit("/themes/mat/people", "/themes/mat/people",
                                          {"people": LIST, "role": "facilitator"})
        assert status == 403
        csrf = csrf_of((await frida.get("/themes/mat/people"))[1])
        status, _, _ = await frida.post(f"/themes/mat/people/{world.outsider.id}/revoke",
                                        {"csrf_token": csrf})
        assert status == 404  # not a member of this theme
    async with await browser_of(server, sessions, world.lead) as lead:
        status, _, _ = await lead.submit("/themes/areal/people", "/themes/areal/people",
                                         {"people": "Nils <nils@x.no>", "role": "facilitator"})
        assert status == 200
    async with sessions() as s:
        role = await s.scalar(select(Membership.role).join(Person).where(
            Person.email == "nils@x.no", Membership.theme_id == world.other_theme.id))
        assert role == "facilitator"
    assert [to for to, _ in mailed] == ["nils@x.no"]


# ---- everyone in the theme waiting for a link (a grant import's contacts), in one go

GRANTS = Path(__file__).resolve().parents[1] / "data" / "tilskudd_2026.csv"


async def test_the_facilitator_invites_the_imported_contacts_in_one_go(
        world: World, server: TestServer, sessions: async_sessionmaker,
        mailed: list[tuple[str, str]]) -> None:
    async with sessions() as s:
        s.add(Theme(slug="sirkular", name="Sirkulærøkonomi"))
        await s.commit()
    async with await browser_of(server, sessions, world.facilitator) as frida:
        # the test world's own members who never signed in get theirs first
        status, _, _ = await frida.submit("/themes/mat/people",
                                          "/themes/mat/people/invite-waiting")
        assert status == 200
        mailed.clear()
        plan = await import_grants(sessions, GRANTS.read_bytes(), apply=True)
        contacts = {r.row.contact_email for r in plan.rows if r.row.theme == "mat"}
        assert len(contacts) >= 2 and all(r.action == "create" for r in plan.rows)
        html = (await frida.get("/themes/mat/people"))[1]
        assert f"Send innloggingslenker til disse {len(contacts)} personene" in html
        status, html, _ = await frida.submit("/themes/mat/people",
                                             "/themes/mat/people/invite-waiting")
        assert status == 200 and f"Inviterte {len(contacts)} personer" in html
        assert sorted(to for to, _ in mailed) == sorted(contacts)  # one mail each
        assert "Alle i temaet har logget inn eller har en åpen lenke." in html
        # the links work
        async with Browser(server) as contact:
            assert (await contact.sign_in(mailed[0][1].rsplit("/", 1)[1])).status == 303
        # a second press (a page left open) sends nothing
        csrf = csrf_of(html)
        status, html, _ = await frida.post("/themes/mat/people/invite-waiting",
                                           {"csrf_token": csrf})
        assert status == 200 and "Ingen fikk tilsendt lenke" in html
        assert len(mailed) == len(contacts)
        # the other themes' contacts are left for their own facilitators
        async with sessions() as s:
            others = set(await s.scalars(select(Person.email).join(Invitation).where(
                Person.email.in_({r.row.contact_email for r in plan.rows} - contacts))))
        assert others == set()


async def test_the_links_taken_back_stay_taken_back_and_participants_may_not(
        world: World, server: TestServer, sessions: async_sessionmaker,
        mailed: list[tuple[str, str]]) -> None:
    async with await browser_of(server, sessions, world.facilitator) as frida:
        await frida.submit("/themes/mat/people", "/themes/mat/people",
                           {"people": "Per Brekke;per@brekke.no", "role": "participant"})
        per = await frida_person(sessions, "per@brekke.no")
        await frida.submit("/themes/mat/people", f"/themes/mat/people/{per}/revoke")
        mailed.clear()
        await frida.submit("/themes/mat/people", "/themes/mat/people/invite-waiting")
        assert "per@brekke.no" not in [to for to, _ in mailed]
        csrf = csrf_of((await frida.get("/themes/mat/people"))[1])
        status, _, _ = await frida.post("/themes/areal/people/invite-waiting",
                                        {"csrf_token": csrf})
        assert status == 403  # not her theme
    mailed.clear()
    async with await browser_of(server, sessions, world.alice) as alice:
        csrf = csrf_of((await alice.get("/gatherings"))[1])
        status, html, _ = await alice.post("/themes/mat/people/invite-waiting",
                                           {"csrf_token": csrf})
        assert status == 403 and "Bare temalederen for dette temaet" in html
    assert mailed == []


async def frida_person(sessions: async_sessionmaker, email: str) -> int:
    async with sessions() as s:
        found = await s.scalar(select(Person.id).where(Person.email == email))
    assert found is not None
    return found


async def test_waiting_people_get_one_link_each_on_both_databases(
        db: async_sessionmaker) -> None:
    world = await build_world(db)
    async with db() as s:
        s.add(Theme(slug="sirkular", name="Sirkulærøkonomi"))
        await s.commit()
    await invite_waiting(db, world.theme.id, days=7)  # the test world's own members
    plan = await import_grants(db, GRANTS.read_bytes(), apply=True)
    shown = sorted(p.email for p in waiting(await people_status(db, world.theme.id)))
    invited = await invite_waiting(db, world.theme.id, days=7)
    assert sorted(i.email for i in invited) == shown == sorted(
        {r.row.contact_email for r in plan.rows if r.row.theme == "mat"})
    assert await invite_waiting(db, world.theme.id, days=7) == []
    assert waiting(await people_status(db, world.theme.id)) == []
