"""Agenda planning over the real server: the commands over python-socketio clients, the
planner's HTML forms (which use the same command path), and the published agenda."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.keys import LIVE
from tests.conftest import WAIT, Connect, send
from tests.factories import World, add_gathering
from tests.server.browsing import Browser, PageOutline, csrf_of
from tests.server.live_helpers import eventually, received
from tests.server.test_pages import XSS, signed_in

Message = dict[str, Any]


async def agenda_of(server: TestServer, gid: str) -> list[tuple[str, str, int]]:
    state = await server.app[LIVE].state(gid)
    return [(s.kind, s.title, s.planned_minutes) for s in state.agenda]


async def ids_of(server: TestServer, gid: str) -> list[int]:
    return [s.id for s in (await server.app[LIVE].state(gid)).agenda]


# --- over the socket ---------------------------------------------------------------------------


async def test_planning_commands_change_every_open_room(world: World, connect: Connect,
                                                        server: TestServer,
                                                        sessions: async_sessionmaker) -> None:
    gid = world.gathering.id
    frida, kari, alice = [await connect(p) for p in (world.facilitator, world.cofacilitator,
                                                      world.alice)]
    for client in (frida, kari, alice):
        await send(client, gid, "room.join")
    ids = await ids_of(server, gid)
    new = max(ids) + 1

    answer = await send(frida, gid, "agenda.add_item", kind="breakout", title="Ekstra grupper",
                        planned_minutes=15, position=1,
                        breakout={"rule": "mixed", "group_size": 3, "task": "Hva nå?",
                                  "note_template": "Vi lærte:", "spread_municipalities": False})
    assert answer["ok"], answer
    assert (await send(kari, gid, "agenda.update_item", item_id=new, title="Grupper 2",
                       planned_minutes=20))["ok"]
    assert (await send(frida, gid, "agenda.move_item", item_id=new, position=3))["ok"]
    assert (await send(kari, gid, "agenda.update_item", item_id=ids[1],
                       expert_id=world.expert.id))["ok"]
    assert (await send(frida, gid, "agenda.remove_item", item_id=ids[3]))["ok"]

    types = ["agenda.item_added", "agenda.item_updated", "agenda.item_moved",
             "agenda.item_updated", "agenda.item_removed"]
    for client in (frida, kari, alice):  # every open room hears every change, in order
        await eventually(lambda c=client: [m["type"] for m in received(c)
                                           if m["type"].startswith("agenda.")] == types,
                         what="the planning events")
    added = next(m for m in received(alice) if m["type"] == "agenda.item_added")["data"]
    assert added["position"] == 1
    assert {k: v for k, v in added["item"].items() if v is not None} == {
        "id": new, "title": "Ekstra grupper", "kind": "breakout", "planned_minutes": 15,
        "breakout": {"rule": "mixed", "group_size": 3, "task": "Hva nå?",
                     "note_template": "Vi lærte:", "spread_municipalities": False},
        "follow_ups": False}

    # a fresh snapshot shows the same agenda that the events built
    snapshot = (await send(alice, gid, "room.join"))["snapshot"]
    assert [(i["id"], i["title"], i["planned_minutes"]) for i in snapshot["agenda"]] == [
        (ids[0], "Velkommen og innsjekk", 10), (ids[1], "Innlegg: matsvinn i skolen", 20),
        (ids[2], "Grupperom etter prosjektfase", 25), (new, "Grupper 2", 20)]
    assert snapshot["agenda"][1]["expert_id"] == world.expert.id
    assert snapshot["agenda"][3]["breakout"]["rule"] == "mixed"

    # a template, then a copy of another gathering of the theme
    assert (await send(frida, gid, "agenda.use_template", template="workshop"))["ok"]
    assert [k for k, _, _ in await agenda_of(server, gid)][:3] == [
        "welcome", "plenary", "breakout"]
    spare = await add_gathering(sessions, world.theme, 2,
                                agenda=[("welcome", "Hei igjen", 15), ("qa", "Spørsmål", 45)])
    assert (await send(kari, gid, "agenda.copy_from", from_gathering=spare.id))["ok"]
    assert await agenda_of(server, gid) == [("welcome", "Hei igjen", 15), ("qa", "Spørsmål", 45)]
    # the copy has new ids, above every id the gathering had
    assert min(await ids_of(server, gid)) > new


@pytest.mark.parametrize(("fields", "code"), [
    ({"kind": "break", "title": "x" * 201, "planned_minutes": 5}, "too_large"),
    ({"kind": "break", "title": "", "planned_minutes": 5}, "invalid_format"),
    ({"kind": "break", "title": "Pause", "planned_minutes": 0}, "invalid_format"),
    ({"kind": "break", "title": "Pause", "planned_minutes": 241}, "invalid_format"),
    ({"kind": "break", "title": "Pause", "planned_minutes": "5"}, "invalid_format"),
    ({"kind": "party", "title": "Fest", "planned_minutes": 5}, "invalid_format"),
    ({"kind": "break", "title": "Pause", "planned_minutes": 5, "colour": "red"},
     "invalid_format"),
    ({"kind": "breakout", "title": "G", "planned_minutes": 5,
      "breakout": {"task": "x" * 1001}}, "too_large"),
    ({"kind": "breakout", "title": "G", "planned_minutes": 5,
      "breakout": {"note_template": "x" * 2001}}, "too_large"),
    ({"kind": "breakout", "title": "G", "planned_minutes": 5,
      "breakout": {"group_size": 1}}, "invalid_format"),
    ({"kind": "break", "title": "Pause", "planned_minutes": 5,
      "breakout": {"group_size": 3}}, "rejected"),
    ({"kind": "expert_talk", "title": "Innlegg", "planned_minutes": 5, "expert_id": 99999},
     "rejected"),
    # a check-in poll: on a welcome item only, by the bounds and rules of poll.launch
    ({"kind": "plenary", "title": "Runde", "planned_minutes": 5,
      "checkin_poll": {"question": "Hei?", "kind": "word"}}, "rejected"),
    ({"kind": "welcome", "title": "Hei", "planned_minutes": 5,
      "checkin_poll": {"question": "x" * 301, "kind": "word"}}, "too_large"),
    ({"kind": "welcome", "title": "Hei", "planned_minutes": 5,
      "checkin_poll": {"question": "Hei?", "kind": "single",
                       "options": [f"Valg {n}" for n in range(9)]}}, "too_large"),
    ({"kind": "welcome", "title": "Hei", "planned_minutes": 5,
      "checkin_poll": {"question": "Hei?", "kind": "single", "options": ["Ja", "x" * 101]}},
     "too_large"),
    ({"kind": "welcome", "title": "Hei", "planned_minutes": 5,
      "checkin_poll": {"question": "Hei?", "kind": "scale"}}, "invalid_format"),
    ({"kind": "welcome", "title": "Hei", "planned_minutes": 5,
      "checkin_poll": {"question": "Hei?", "kind": "word", "colour": "red"}}, "invalid_format"),
    ({"kind": "welcome", "title": "Hei", "planned_minutes": 5,
      "checkin_poll": {"question": "Hei?", "kind": "single", "options": ["Ja"]}}, "rejected"),
    ({"kind": "welcome", "title": "Hei", "planned_minutes": 5,
      "checkin_poll": {"question": "Hei?", "kind": "word", "options": ["Ja"]}}, "rejected"),
])
async def test_bad_items_are_refused(fields: Message, code: str, world: World, connect: Connect,
                                     server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    before = await agenda_of(server, gid)
    answer = await send(frida, gid, "agenda.add_item", **fields)
    assert answer["ok"] is False and answer["error"]["code"] == code, answer
    assert await agenda_of(server, gid) == before


@pytest.mark.parametrize("position", [5, 41, 10_000])
async def test_a_place_past_the_end_is_rejected_however_far(position: int, world: World,
                                                            connect: Connect,
                                                            server: TestServer) -> None:
    """Where an item may go depends on the agenda now: the rule says no, not the schema."""
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    before = await agenda_of(server, gid)
    first = (await ids_of(server, gid))[0]
    for command, fields in [("agenda.move_item", {"item_id": first}),
                            ("agenda.add_item", {"kind": "break", "title": "Pause",
                                                 "planned_minutes": 5})]:
        answer = await send(frida, gid, command, **fields, position=position)
        assert answer["ok"] is False and answer["error"]["code"] == "rejected", answer
    assert await agenda_of(server, gid) == before


async def test_a_check_in_poll_over_the_socket(world: World, connect: Connect,
                                               server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    assert (await send(frida, gid, "room.join"))["ok"]
    ids = await ids_of(server, gid)
    poll = {"question": "Ett ord om dagen?", "kind": "word"}
    assert (await send(frida, gid, "agenda.add_item", kind="welcome", title="Innsjekk",
                       planned_minutes=5, checkin_poll=poll))["ok"]
    await eventually(lambda: any(m["type"] == "agenda.item_added" for m in received(frida)),
                     what="the added item")
    added = next(m for m in received(frida) if m["type"] == "agenda.item_added")["data"]
    assert added["item"]["checkin_poll"] == {**poll, "options": []}
    assert (await send(frida, gid, "agenda.update_item", item_id=ids[1],
                       checkin_poll=poll))["error"]["code"] == "rejected"
    # null removes it; an update that leaves it out keeps it
    assert (await send(frida, gid, "agenda.update_item", item_id=ids[0],
                       checkin_poll={**poll, "question": "Hvordan går det?"}))["ok"]
    assert (await send(frida, gid, "agenda.update_item", item_id=ids[0], title="Hei"))["ok"]
    welcome = (await server.app[LIVE].state(gid)).agenda[0]
    assert welcome.checkin_poll is not None and welcome.checkin_poll.question == "Hvordan går det?"
    assert (await send(frida, gid, "agenda.update_item", item_id=ids[0],
                       checkin_poll=None))["ok"]
    assert (await server.app[LIVE].state(gid)).agenda[0].checkin_poll is None
    snapshot = (await send(frida, gid, "room.join"))["snapshot"]
    assert [i["checkin_poll"] for i in snapshot["agenda"]][0] is None
    assert snapshot["agenda"][-1]["checkin_poll"] == {**poll, "options": []}


async def test_copy_only_within_the_theme(world: World, connect: Connect,
                                          server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    for other in (world.other_gathering.id, "0" * 32, gid):
        answer = await send(frida, gid, "agenda.copy_from", from_gathering=other)
        assert answer["error"]["code"] == "rejected", answer
    per = await connect(world.lead)  # even the programme lead, who sees both themes
    answer = await send(per, gid, "agenda.copy_from", from_gathering=world.other_gathering.id)
    assert answer["error"]["code"] == "rejected"


async def test_live_only_the_items_that_have_not_started_change(world: World, connect: Connect,
                                                                server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    ids = await ids_of(server, gid)
    await send(frida, gid, "room.open")
    await send(frida, gid, "agenda.next", from_item=None)
    await send(frida, gid, "agenda.next", from_item=ids[0])
    for type_, fields in [("agenda.update_item", {"item_id": ids[0], "title": "Ny"}),
                          ("agenda.update_item", {"item_id": ids[1], "planned_minutes": 40}),
                          ("agenda.remove_item", {"item_id": ids[1]}),
                          ("agenda.move_item", {"item_id": ids[3], "position": 1}),
                          ("agenda.add_item", {"kind": "break", "title": "Pause",
                                               "planned_minutes": 5, "position": 0}),
                          ("agenda.use_template", {"template": "standard"})]:
        answer = await send(frida, gid, type_, **fields)
        assert answer["error"]["code"] == "rejected", (type_, answer)
    assert (await send(frida, gid, "agenda.move_item", item_id=ids[3], position=2))["ok"]
    assert (await send(frida, gid, "agenda.add_item", kind="break", title="Pause",
                       planned_minutes=5, position=2))["ok"]
    assert await ids_of(server, gid) == [ids[0], ids[1], max(ids) + 1, ids[3], ids[2]]
    state = await server.app[LIVE].state(gid)
    assert state.current is not None and state.current_slot().id == ids[1]  # type: ignore[union-attr]
    # and the next item is the one now planned next
    assert (await send(frida, gid, "agenda.next", from_item=ids[1]))["ok"]
    assert (await server.app[LIVE].state(gid)).current_slot().id == max(ids) + 1  # type: ignore[union-attr]
    await send(frida, gid, "gathering.end")
    answer = await send(frida, gid, "agenda.remove_item", item_id=ids[2])
    assert answer["error"]["code"] == "rejected"


async def test_a_resent_planning_command_acts_once(world: World, connect: Connect,
                                                   server: TestServer) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    message = {"id": "add-once", "type": "agenda.add_item", "gathering": gid, "kind": "break",
               "title": "Pause", "planned_minutes": 5}
    first = await frida.call("command", message, timeout=WAIT)
    again = await frida.call("command", message, timeout=WAIT)
    assert first == again and first["ok"]
    assert [t for _, t, _ in await agenda_of(server, gid)].count("Pause") == 1


# --- the planner page: forms on the same command path -------------------------------------------


async def test_who_may_open_the_planner(server: TestServer, sessions: async_sessionmaker,
                                        world: World) -> None:
    for who, status in [("facilitator", 200), ("lead", 200), ("alice", 403), ("expert", 403),
                        ("observer", 403), ("outsider", 403)]:
        async with await signed_in(server, sessions, getattr(world, who)) as browser:
            got, _, _ = await browser.get(f"/g/{world.gathering.id}/plan")
            assert got == status, who
            got, _, _ = await browser.post(f"/g/{world.gathering.id}/plan/add", {
                "csrf_token": "x", "kind": "break", "title": "Pause", "planned_minutes": "5"})
            assert got == 403, who  # a forged form fails its CSRF check, whoever sends it
    async with Browser(server) as visitor:
        _, _, response = await visitor.get(f"/g/{world.gathering.id}/plan",
                                           allow_redirects=False)
        assert response.status == 303


async def test_the_planner_shows_the_planned_clock_and_whether_it_fits(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    gid = world.gathering.id
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await frida.get(f"/g/{gid}/plan")
        assert status == 200
        # 09:00 UTC is 10:00 in Oslo; 10 + 20 + 25 + 5 minutes fill the hour exactly
        starts = re.findall(r'<time datetime="[^"]+">(\d\d:\d\d)</time>–', page)
        assert starts == ["10:00", "10:10", "10:30", "10:55"]
        assert "Planen går opp: 60 minutter planlagt, 0 minutter til overs." in page
        outline = PageOutline(page)
        assert len(outline.all("h1")) == 1 and not outline.unlabelled_inputs()

        status, _, _ = await frida.submit(f"/g/{gid}/plan", f"/g/{gid}/plan/add", {
            "kind": "break", "title": "Pause", "planned_minutes": "15", "position": "1",
            "expert_id": str(world.expert.id)})  # an expert on a break is ignored
        assert status == 200
        assert await agenda_of(server, gid) == [
            ("welcome", "Velkommen og innsjekk", 10), ("break", "Pause", 15),
            ("expert_talk", "Innlegg: matsvinn i skolen", 20),
            ("breakout", "Grupperom etter prosjektfase", 25), ("wrap_up", "Oppsummering", 5)]
        _, page, _ = await frida.get(f"/g/{gid}/plan")
        assert ("Planen går ikke opp: 75 minutter planlagt, 15 minutter mer enn samlingens "
                "lengde.") in page
        assert re.findall(r'<time datetime="[^"]+">(\d\d:\d\d)</time>–', page)[2] == "10:25"


async def test_the_planned_clock_counts_one_minute_as_one(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gid = world.gathering.id
    kari = await connect(world.cofacilitator)
    wrap_up = (await ids_of(server, gid))[-1]
    async with await signed_in(server, sessions, world.facilitator) as frida:
        for minutes, said in [(4, "Planen går opp: 59 minutter planlagt, 1 minutt til overs."),
                              (6, "Planen går ikke opp: 61 minutter planlagt, 1 minutt mer enn "
                                  "samlingens lengde.")]:
            await send(kari, gid, "agenda.update_item", item_id=wrap_up, planned_minutes=minutes)
            assert said in text_of((await frida.get(f"/g/{gid}/plan"))[1])


async def test_every_planner_form(server: TestServer, sessions: async_sessionmaker,
                                  world: World, connect: Connect) -> None:
    gid = world.gathering.id
    kari = await connect(world.cofacilitator)  # another console, open meanwhile
    await send(kari, gid, "room.join")
    ids = await ids_of(server, gid)
    plan = f"/g/{gid}/plan"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        # edit the expert talk: name its expert, change minutes
        status, _, _ = await frida.submit(f"{plan}/{ids[1]}", f"{plan}/{ids[1]}", {
            "kind": "expert_talk", "title": "Innlegg fra Eva", "planned_minutes": "25",
            "expert_id": str(world.expert.id)})
        assert status == 200
        state = await server.app[LIVE].state(gid)
        assert (state.agenda[1].title, state.agenda[1].planned_minutes,
                state.agenda[1].expert_id) == ("Innlegg fra Eva", 25, world.expert.id)
        # the breakout item's settings
        status, _, _ = await frida.submit(f"{plan}/{ids[2]}", f"{plan}/{ids[2]}", {
            "kind": "breakout", "title": "Grupper", "planned_minutes": "25", "rule": "by_tag",
            "group_size": "3", "task": "Hva\r\nnå?", "note_template": "Mal"})
        assert status == 200
        plan_of_groups = (await server.app[LIVE].state(gid)).agenda[2].breakout
        assert plan_of_groups is not None
        assert (plan_of_groups.rule, plan_of_groups.group_size, plan_of_groups.task,
                plan_of_groups.spread_municipalities) == ("by_tag", 3, "Hva\nnå?", False)
        # move the wrap-up up, then remove it
        await frida.submit(plan, f"{plan}/{ids[3]}/move", {"position": "2"})
        assert (await ids_of(server, gid)) == [ids[0], ids[1], ids[3], ids[2]]
        await frida.submit(plan, f"{plan}/{ids[3]}/remove")
        assert (await ids_of(server, gid)) == [ids[0], ids[1], ids[2]]
        # a template (seen first, then confirmed), then a copy
        await confirm_template(frida, plan, "standard")
        assert len(await agenda_of(server, gid)) == 7
        spare = await add_gathering(sessions, world.theme, 2, agenda=[("welcome", "Hei", 5)])
        await frida.submit(plan, f"{plan}/copy", {"from_gathering": spare.id})
        assert await agenda_of(server, gid) == [("welcome", "Hei", 5)]
    # the other console heard each change as an event
    await eventually(lambda: [m["type"] for m in received(kari)
                              if m["type"].startswith("agenda.")] == [
        "agenda.item_updated", "agenda.item_updated", "agenda.item_moved",
        "agenda.item_removed", "agenda.replaced", "agenda.replaced"], what="events")


def text_of(page: str) -> str:
    """The page's text as a reader gets it: tags and runs of white space as one space."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


async def confirm_template(browser: Browser, plan: str, name: str) -> tuple[int, str]:
    """Choose a template on the planner, then confirm what it changes."""
    status, page, _ = await browser.get(plan)
    assert status == 200 and f'<form method="get" action="{plan}/template">' in page
    status, page, _ = await browser.get(f"{plan}/template?template={name}")
    assert status == 200
    status, page, _ = await browser.post(f"{plan}/template", hidden_fields(page))
    return status, page


async def test_a_template_shows_what_it_keeps_adds_and_removes_and_applies_when_confirmed(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gid = world.gathering.id
    plan = f"/g/{gid}/plan"
    kari = await connect(world.cofacilitator)
    ids = await ids_of(server, gid)
    await send(kari, gid, "agenda.update_item", item_id=ids[1], expert_id=world.expert.id)
    await send(kari, gid, "agenda.add_item", kind="expert_talk", title="Innlegg to",
               planned_minutes=15)
    before = await agenda_of(server, gid)
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await frida.get(f"{plan}/template?template=standard")
        assert status == 200
        outline = PageOutline(page)
        assert len(outline.all("h1")) == 1 and not outline.unlabelled_inputs()
        text = text_of(page)
        assert "Bruk malen «Standard samling (to timer)»?" in text
        assert "Beholdt: 4 av punktene dine" in text
        assert ("«Innlegg: matsvinn i skolen» tar plassen til malens «Innlegg» "
                "(Innlegg, 20 minutter, Eva Ekspert)") in text
        assert "«Grupperom etter prosjektfase» tar plassen til malens" in text
        assert "Lagt til fra malen: 3 punkter" in text
        assert "Spørsmål og svar (Spørsmål og svar, 15 minutter)" in text
        assert "Fjernet: 1 punkt som malen ikke har plass til" in text
        assert "Innlegg to (Innlegg, 15 minutter)" in text
        assert await agenda_of(server, gid) == before  # seeing it changes nothing
        form = hidden_fields(page)

        # meanwhile the other console changes the agenda: the form no longer shows what
        # the template would do, so it is shown again, and nothing changes
        await send(kari, gid, "agenda.add_item", kind="plenary", title="Runde", planned_minutes=5)
        before = await agenda_of(server, gid)
        status, page, _ = await frida.post(f"{plan}/template", form)
        assert status == 409 and 'role="alert"' in page and "Agendaen er endret" in page
        assert ("«Runde» tar plassen til malens «Deling i plenum» (Deling i plenum, 5 minutter)"
                in text_of(page))  # the plenary item is kept now
        assert await agenda_of(server, gid) == before
        # a form that was never shown anything only shows the confirmation
        status, page, _ = await frida.post(f"{plan}/template", {
            "csrf_token": form["csrf_token"], "template": "standard"})
        assert status == 200 and 'role="alert"' not in page
        assert await agenda_of(server, gid) == before

        status, page = await confirm_template(frida, plan, "standard")
        assert status == 200 and "Planlegg agendaen" in page
    assert await agenda_of(server, gid) == [
        ("welcome", "Velkommen og innsjekk", 10), ("expert_talk", "Innlegg: matsvinn i skolen", 20),
        ("qa", "Spørsmål og svar", 15), ("break", "Pause", 10),
        ("breakout", "Grupperom etter prosjektfase", 25), ("plenary", "Runde", 5),
        ("wrap_up", "Oppsummering", 5)]
    assert (await server.app[LIVE].state(gid)).agenda[1].expert_id == world.expert.id


async def test_a_template_needs_an_agenda_that_has_not_started(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gid = world.gathering.id
    plan = f"/g/{gid}/plan"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        assert (await frida.get(f"{plan}/template?template=party"))[0] == 404
        kari = await connect(world.cofacilitator)
        await send(kari, gid, "room.open")
        await send(kari, gid, "agenda.next", from_item=None)
        status, page, _ = await frida.get(f"{plan}/template?template=standard")
        assert status == 409 and "Agendaen har startet" in page
    async with await signed_in(server, sessions, world.alice) as alice:
        assert (await alice.get(f"{plan}/template?template=standard"))[0] == 403


async def test_the_planner_sets_the_check_in_poll_that_the_welcome_item_launches(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gid = world.gathering.id
    ids = await ids_of(server, gid)
    plan = f"/g/{gid}/plan"
    welcome = f"{plan}/{ids[0]}"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get(welcome)
        outline = PageOutline(page)
        assert "<legend>Innsjekk-avstemning</legend>" in page
        assert not outline.unlabelled_inputs()
        for name in ("checkin_question", "checkin_kind", "checkin_options"):
            assert f'name="{name}"' in page
        status, page, _ = await frida.submit(welcome, welcome, {
            "kind": "welcome", "title": "Velkommen og innsjekk", "planned_minutes": "10",
            "checkin_question": "  Hvordan går det i prosjektet? ", "checkin_kind": "single",
            "checkin_options": "Godt\r\n\r\n  Sånn passe\r\nTungt\r\n"})
        assert status == 200
        checkin = (await server.app[LIVE].state(gid)).agenda[0].checkin_poll
        assert checkin is not None
        assert (checkin.question, checkin.kind, checkin.options) == (
            "Hvordan går det i prosjektet?", "single", ("Godt", "Sånn passe", "Tungt"))
        # the plan list shows the question; the edit form shows the poll as it is
        _, page, _ = await frida.get(plan)
        assert "Innsjekk: Hvordan går det i prosjektet?" in page
        _, page, _ = await frida.get(welcome)
        assert 'value="Hvordan går det i prosjektet?"' in page
        assert '<option value="single" selected>' in page
        assert ">Godt\nSånn passe\nTungt</textarea>" in page
        # a poll the rules refuse is shown, and changes nothing
        status, page, _ = await frida.submit(welcome, welcome, {
            "kind": "welcome", "title": "Velkommen", "planned_minutes": "10",
            "checkin_question": "Hvordan?", "checkin_kind": "single", "checkin_options": "Ja"})
        assert status == 409 and "Sjekk innsjekk-avstemningen" in page
        status, page, _ = await frida.submit(welcome, welcome, {
            "kind": "welcome", "title": "Velkommen", "planned_minutes": "10",
            "checkin_question": "x" * 301, "checkin_kind": "word"})
        assert status == 400 and "Sjekk innsjekk-avstemningen" in page
        assert (await server.app[LIVE].state(gid)).agenda[0].checkin_poll == checkin
        # a new welcome item with a word poll: the options of a word poll are left out
        status, _, _ = await frida.submit(plan, f"{plan}/add", {
            "kind": "welcome", "title": "Velkommen tilbake", "planned_minutes": "5",
            "checkin_question": "Ett ord?", "checkin_kind": "word", "checkin_options": "Ja"})
        assert status == 200
        added = (await server.app[LIVE].state(gid)).agenda[-1]
        assert added.checkin_poll is not None
        assert (added.checkin_poll.kind, added.checkin_poll.options) == ("word", ())
        # an empty question removes the poll
        last = f"{plan}/{added.id}"
        await frida.submit(last, last, {"kind": "welcome", "title": "Velkommen tilbake",
                                        "planned_minutes": "5", "checkin_question": " ",
                                        "checkin_kind": "word"})
        assert (await server.app[LIVE].state(gid)).agenda[-1].checkin_poll is None

    # live: starting the welcome item launches the poll the planner set
    kari, alice = await connect(world.cofacilitator), await connect(world.alice)
    for client in (kari, alice):
        assert (await send(client, gid, "room.join"))["ok"]
    assert (await send(kari, gid, "room.open"))["ok"]
    assert (await send(kari, gid, "agenda.next", from_item=None))["ok"]
    await eventually(lambda: any(m["type"] == "poll.launched" for m in received(alice)),
                     what="the check-in poll")
    launched = next(m for m in received(alice) if m["type"] == "poll.launched")["data"]
    assert {k: launched[k] for k in ("question", "kind", "options", "item_id")} == {
        "question": "Hvordan går det i prosjektet?", "kind": "single",
        "options": ["Godt", "Sånn passe", "Tungt"], "item_id": ids[0]}
    assert (await send(alice, gid, "poll.answer", poll_id=launched["poll_id"],
                       choices=[1]))["ok"]


async def test_planner_errors_are_shown_and_change_nothing(
        server: TestServer, sessions: async_sessionmaker, world: World, connect: Connect) -> None:
    gid = world.gathering.id
    ids = await ids_of(server, gid)
    plan = f"/g/{gid}/plan"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        status, page, _ = await frida.submit(plan, f"{plan}/add", {
            "kind": "break", "title": "Pause", "planned_minutes": "0"})
        assert status == 400 and 'role="alert"' in page and "1 til 240 minutter" in page
        status, page, _ = await frida.submit(plan, f"{plan}/add", {
            "kind": "break", "title": "Pause", "planned_minutes": "mange"})
        assert status == 400
        # the running item cannot change
        helper = await connect(world.cofacilitator)
        await send(helper, gid, "room.open")
        await send(helper, gid, "agenda.next", from_item=None)
        status, page, _ = await frida.post(f"{plan}/{ids[0]}/remove",
                                           {"csrf_token": csrf_of(page)})
        assert status == 409 and "kan ikke lenger endres" in page
        status, page, _ = await frida.get(f"{plan}/{ids[0]}")
        assert status == 200 and f'action="{plan}/{ids[0]}"' not in page
    assert await ids_of(server, gid) == ids


async def test_a_form_sent_twice_acts_once(server: TestServer, sessions: async_sessionmaker,
                                           world: World) -> None:
    gid = world.gathering.id
    plan = f"/g/{gid}/plan"
    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get(plan)
        command_id = re.search(r'name="command_id" value="([0-9a-f]+)"', page)
        assert command_id
        form = {"csrf_token": csrf_of(page), "command_id": command_id.group(1),
                "kind": "break", "title": "Pause", "planned_minutes": "5"}
        for _ in range(2):
            status, _, _ = await frida.post(f"{plan}/add", form)
            assert status == 200
        # a refused form sent again is refused again (its first answer)
        item = (await ids_of(server, gid))[0]
        for _ in range(2):
            status, page, _ = await frida.post(f"{plan}/{item}/move", {
                **form, "command_id": "move-too-far", "position": "39"})
            assert status == 409 and "kan ikke plasseres der" in page
    assert [t for _, t, _ in await agenda_of(server, gid)].count("Pause") == 1


# --- the published agenda ----------------------------------------------------------------------


async def test_participants_see_the_agenda_with_planned_times(
        server: TestServer, sessions: async_sessionmaker, world: World,
        connect: Connect) -> None:
    gid = world.gathering.id
    frida = await connect(world.facilitator)
    ids = await ids_of(server, gid)
    await send(frida, gid, "agenda.update_item", item_id=ids[1], expert_id=world.expert.id)
    await send(frida, gid, "agenda.add_item", kind="plenary", title=XSS, planned_minutes=5)
    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.get(f"/g/{gid}/agenda")
        assert status == 200
        rows = re.findall(r'<time datetime="[^"]+">(\d\d:\d\d)</time></td>\s*<th scope="row">'
                          r"([^<]+)", page)
        assert [(t, title.strip()) for t, title in rows] == [
            ("10:00", "Velkommen og innsjekk"), ("10:10", "Innlegg: matsvinn i skolen"),
            ("10:30", "Grupperom etter prosjektfase"), ("10:55", "Oppsummering"),
            ("11:00", "&lt;img src=x onerror=alert(1)&gt;")]
        assert XSS not in page
        assert "Eva Ekspert" in page
        assert f'href="/g/{gid}.ics"' in page
        assert f'href="/g/{gid}/plan"' not in page  # planning is for runners
        _, listing, _ = await alice.get("/gatherings")
        assert f'href="/g/{gid}/agenda"' in listing and f'href="/g/{gid}.ics"' in listing
        assert f'href="/g/{gid}/plan"' not in listing
    async with await signed_in(server, sessions, world.outsider) as ulf:
        assert (await ulf.get(f"/g/{gid}/agenda"))[0] == 403
    async with await signed_in(server, sessions, world.facilitator) as frida_page:
        _, page, _ = await frida_page.get(f"/g/{gid}/plan")
        assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


async def test_the_room_is_still_the_room(server: TestServer, sessions: async_sessionmaker,
                                          world: World) -> None:
    """`/g/{id}.ics` is registered before `/g/{id}`; the room keeps its address."""
    async with await signed_in(server, sessions, world.alice) as alice:
        status, page, _ = await alice.get(f"/g/{world.gathering.id}")
        assert status == 200 and 'id="boot"' in page


def selected_expert(page: str, prefix: str) -> str | None:
    """The value of the option chosen in the form's expert select (None: none chosen)."""
    select = re.search(rf'<select id="{prefix}-expert".*?</select>', page, re.S)
    assert select, f"no expert select {prefix!r}"
    chosen = re.search(r'<option value="(\d*)" selected>', select.group(0))
    return chosen.group(1) if chosen else None


async def test_the_planner_proposes_the_talks_expert_for_a_qa_after_it(
        server: TestServer, sessions: async_sessionmaker, world: World) -> None:
    gid = world.gathering.id
    ids = await ids_of(server, gid)  # welcome, expert talk, breakout, wrap-up
    plan = f"/g/{gid}/plan"
    eva = str(world.expert.id)
    async with await signed_in(server, sessions, world.facilitator) as frida:
        _, page, _ = await frida.get(plan)
        assert selected_expert(page, "add") is None  # the agenda ends with a wrap-up
        for item in ids[2:]:
            await frida.submit(plan, f"{plan}/{item}/remove")
        await frida.submit(f"{plan}/{ids[1]}", f"{plan}/{ids[1]}", {
            "kind": "expert_talk", "title": "Innlegg fra Eva", "planned_minutes": "20",
            "expert_id": eva})

        # the talk ends the agenda: the form to add an item proposes Eva, and says why
        _, page, _ = await frida.get(plan)
        assert selected_expert(page, "add") == eva
        assert 'aria-describedby="add-expert-help"' in page
        assert "Foreslått: innlederen i «Innlegg fra Eva»" in text_of(page)
        status, _, _ = await frida.submit(plan, f"{plan}/add", {
            "kind": "qa", "title": "Spørsmål til Eva", "planned_minutes": "10",
            "expert_id": eva})
        assert status == 200
        qa = (await server.app[LIVE].state(gid)).agenda[-1]
        assert (qa.kind, qa.expert_id) == ("qa", world.expert.id)

        # the Q&A's own form names its expert, and can name another
        _, page, _ = await frida.get(f"{plan}/{qa.id}")
        assert selected_expert(page, "edit") == eva
        await frida.submit(f"{plan}/{qa.id}", f"{plan}/{qa.id}", {
            "kind": "qa", "title": "Spørsmål til Eva", "planned_minutes": "10",
            "expert_id": str(world.facilitator.id)})
        assert (await server.app[LIVE].state(gid)).agenda[-1].expert_id == world.facilitator.id
        # nothing is proposed after a Q&A
        _, page, _ = await frida.get(plan)
        assert selected_expert(page, "add") is None and "add-expert-help" not in page
