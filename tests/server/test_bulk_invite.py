"""Inviting a pasted list of people to a theme; who has signed in; a new link, or taking
the links back."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.invitations import Invitee, parse_people
from rooms.models import Invitation, Membership, Person
from server.keys import POSTBOX
from tests.factories import World
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
