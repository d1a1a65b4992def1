"""The breakout mesh over the real server: media.join, the signal relay and its refusals,
with real aiortc peer connections exchanging video through the server's signaling."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from server.settings import Settings
from tests.conftest import WAIT, Connect
from tests.factories import World
from tests.server.live_helpers import code, eventually, joined, round_trip
from tests.signaling.conftest import Group, collect
from tests.signaling.mesh_peer import MeshPeer


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # Messages up to 256 KiB reach the server, so the relay's own 64 KiB SDP limit is tested.
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                    max_message_bytes=256 * 1024)


async def media_join(client: socketio.AsyncClient, gid: str) -> dict[str, Any]:
    answer: dict[str, Any] = await client.call("media.join", {"gathering": gid}, timeout=WAIT)
    return answer


async def signal(client: socketio.AsyncClient, message: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await client.call("signal", message, timeout=WAIT)
    return answer


async def test_two_group_members_connect_and_exchange_video(
        open_group: Group, loopback_ice: None) -> None:
    gid, c = open_group.gid, open_group.clients
    joined_alice = collect(c["alice"], "media")
    bjorn = await media_join(c["bjorn"], gid)
    assert bjorn["ok"] and bjorn["peers"] == [] and bjorn["ice_servers"] == []
    assert bjorn["ice_ttl"] == 3600
    alice = await media_join(c["alice"], gid)
    assert alice["peer"] == c["alice"].get_sid()
    assert [(p["peer"], p["name"]) for p in alice["peers"]] == [(bjorn["peer"], "Bjørn Brekke")]
    assert joined_alice == []  # Alice was not a peer yet when Bjørn joined
    peers = [MeshPeer(c["alice"], gid), MeshPeer(c["bjorn"], gid)]
    try:
        assert (await peers[0].offer(bjorn["peer"])) == {"ok": True}
        await eventually(lambda: all(p.frames >= 3 for p in peers),
                         what="frames both ways")
        assert all(a == {"ok": True} for p in peers for a in p.answers)
        assert peers[0].pc.connectionState == peers[1].pc.connectionState == "connected"
    finally:
        for p in peers:
            await p.close()


async def test_joining_tells_the_peers_one_may_connect_to_and_leaving_tells_everyone(
        open_group: Group, world: World) -> None:
    gid, c = open_group.gid, open_group.clients
    heard = {name: collect(client, "media") for name, client in c.items()}
    ola = await media_join(c["ola"], gid)  # the observer: in no group
    frida = await media_join(c["frida"], gid)  # the facilitator: visits
    assert ola["peers"] == [] and frida["peers"] == []
    alice = await media_join(c["alice"], gid)
    assert {p["name"] for p in alice["peers"]} == {"Frida Fasilitator"}
    await eventually(lambda: len(heard["frida"]) == 1, what="peer_joined to the facilitator")
    assert heard["frida"][0] == {"gathering": gid, "type": "peer_joined",
                                 "peer": alice["peer"], "person_id": world.alice.id,
                                 "name": "Alice Askvik"}
    bjorn = await media_join(c["bjorn"], gid)
    assert {p["name"] for p in bjorn["peers"]} == {"Frida Fasilitator", "Alice Askvik"}
    await eventually(lambda: len(heard["alice"]) == 1, what="peer_joined to Alice")
    assert heard["ola"] == []  # the observer is told about nobody
    visit = {"gathering": gid, "to": alice["peer"], "candidate": None}
    assert (await signal(c["frida"], visit)) == {"ok": True}  # the facilitator visits
    assert code(await signal(c["ola"], visit)) == "forbidden"
    assert (await c["bjorn"].call("media.leave", {"gathering": gid}, timeout=WAIT)) == {"ok": True}
    left = {"gathering": gid, "type": "peer_left", "peer": bjorn["peer"]}
    for name in ("alice", "frida", "ola"):
        await eventually(lambda n=name: left in heard[n], what=f"peer_left to {name}")
    # after leaving, Bjørn is no peer: a signal to him is not found
    answer = await signal(c["alice"], {"gathering": gid, "to": bjorn["peer"],
                                       "candidate": None})
    assert code(answer) == "not_found"


async def test_a_runner_visits_the_one_group_they_name(open_group: Group, world: World) -> None:
    gid, c = open_group.gid, open_group.clients
    heard = {name: collect(c[name], "media") for name in ("alice", "bjorn")}
    alice = await media_join(c["alice"], gid)
    await media_join(c["bjorn"], gid)
    frida = await c["frida"].call("media.join", {"gathering": gid, "group": "g1"}, timeout=WAIT)
    assert {p["name"] for p in frida["peers"]} == {"Alice Askvik", "Bjørn Brekke"}
    visiting = {"gathering": gid, "type": "peer_joined", "peer": frida["peer"],
                "person_id": world.facilitator.id, "name": "Frida Fasilitator"}
    await eventually(lambda: visiting in heard["alice"], what="the visit announced")
    to_alice = {"gathering": gid, "to": alice["peer"], "candidate": None}
    assert (await signal(c["frida"], to_alice)) == {"ok": True}

    # naming another group (none such here) ends the visit: the group is told she left
    away = await c["frida"].call("media.join", {"gathering": gid, "group": "g9"}, timeout=WAIT)
    assert away["ok"] and away["peers"] == []
    left = {"gathering": gid, "type": "peer_left", "peer": frida["peer"]}
    for name in ("alice", "bjorn"):
        await eventually(lambda n=name: left in heard[n], what=f"peer_left to {name}")
    assert code(await signal(c["frida"], to_alice)) == "forbidden"
    to_frida = {"gathering": gid, "to": frida["peer"], "candidate": None}
    assert code(await signal(c["alice"], to_frida)) == "forbidden"

    # only a runner visits: the observer naming the group is told about nobody
    ola = await c["ola"].call("media.join", {"gathering": gid, "group": "g1"}, timeout=WAIT)
    assert ola["ok"] and ola["peers"] == []
    bad = await c["ola"].call("media.join", {"gathering": gid, "group": 1}, timeout=WAIT)
    assert code(bad) == "invalid_format"


async def test_a_disconnected_peer_is_gone(open_group: Group) -> None:
    gid, c = open_group.gid, open_group.clients
    heard = collect(c["alice"], "media")
    await media_join(c["alice"], gid)
    bjorn = await media_join(c["bjorn"], gid)
    await c["bjorn"].disconnect()
    await eventually(lambda: {"gathering": gid, "type": "peer_left", "peer": bjorn["peer"]}
                     in heard, what="peer_left on disconnect")
    answer = await signal(c["alice"], {"gathering": gid, "to": bjorn["peer"], "candidate": None})
    assert code(answer) == "not_found"


async def test_candidates_and_their_end_are_relayed(open_group: Group) -> None:
    gid, c = open_group.gid, open_group.clients
    got = collect(c["bjorn"], "signal")
    alice = await media_join(c["alice"], gid)
    bjorn = await media_join(c["bjorn"], gid)
    candidate = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
                 "sdpMid": "0", "sdpMLineIndex": 0}
    for body in ({"candidate": candidate}, {"candidate": None},
                 {"description": {"type": "rollback"}}):
        answer = await signal(c["alice"], {"gathering": gid, "to": bjorn["peer"], **body})
        assert answer == {"ok": True}
    await eventually(lambda: len(got) == 3, what="three relayed signals")
    assert got == [
        {"gathering": gid, "from": alice["peer"], "candidate": candidate},
        {"gathering": gid, "from": alice["peer"], "candidate": None},
        {"gathering": gid, "from": alice["peer"], "description": {"type": "rollback",
                                                                  "sdp": ""}},
    ]


async def test_a_peer_outside_the_group_is_refused_and_nothing_is_relayed(
        open_group: Group, loopback_ice: None) -> None:
    gid, c = open_group.gid, open_group.clients
    got = {name: collect(client, "signal") for name, client in c.items()}
    alice = await media_join(c["alice"], gid)
    ola = await media_join(c["ola"], gid)
    eva = await media_join(c["eva"], gid)
    intruder = MeshPeer(c["ola"], gid)
    try:
        assert code(await intruder.offer(alice["peer"])) == "forbidden"
        # and the other way round: a group member cannot reach someone outside the group
        answer = await signal(c["alice"], {"gathering": gid, "to": ola["peer"],
                                           "candidate": None})
        assert code(answer) == "forbidden"
        answer = await signal(c["eva"], {"gathering": gid, "to": ola["peer"],
                                         "candidate": None})
        assert code(answer) == "forbidden"
        assert eva["peers"] == []
    finally:
        await intruder.close()
    # a refused signal relayed after all would have been sent before its refusal
    for client in c.values():
        await round_trip(client, gid)
    assert all(seen == [] for seen in got.values())


async def test_recalling_the_groups_stops_the_relay(open_group: Group) -> None:
    from tests.conftest import send

    gid, c = open_group.gid, open_group.clients
    await media_join(c["alice"], gid)
    bjorn = await media_join(c["bjorn"], gid)
    body = {"gathering": gid, "to": bjorn["peer"], "candidate": None}
    assert (await signal(c["alice"], body)) == {"ok": True}
    assert (await send(c["frida"], gid, "breakouts.recall"))["ok"]
    assert code(await signal(c["alice"], body)) == "forbidden"
    again = await media_join(c["alice"], gid)  # what a client does on breakout events
    assert again["ok"] and again["peers"] == []


async def test_signals_need_a_media_peer_and_a_member(open_group: Group, world: World,
                                                      connect: Connect) -> None:
    gid, c = open_group.gid, open_group.clients
    bjorn = await media_join(c["bjorn"], gid)
    body = {"gathering": gid, "to": bjorn["peer"], "candidate": None}
    assert code(await signal(c["alice"], body)) == "rejected"  # Alice did not media.join
    outsider = await connect(world.outsider)
    assert code(await media_join(outsider, gid)) == "forbidden"
    assert code(await signal(outsider, body)) == "forbidden"
    assert code(await media_join(c["alice"], "no-such-gathering")) == "not_found"
    # a member who has not joined the room is told to join it first
    alice_again = await connect(world.alice)
    assert code(await media_join(alice_again, gid)) == "rejected"


BAD: list[tuple[str, Any, str]] = [
    ("not an object", "hello", "invalid_format"),
    ("neither description nor candidate", {"to": "x"}, "invalid_format"),
    ("both", {"to": "x", "candidate": None, "description": {"type": "offer", "sdp": "v=0"}},
     "invalid_format"),
    ("description null", {"to": "x", "description": None}, "invalid_format"),
    ("unknown description type", {"to": "x", "description": {"type": "pranswer", "sdp": ""}},
     "invalid_format"),
    ("extra field", {"to": "x", "candidate": None, "note": 1}, "invalid_format"),
    ("candidate not a string", {"to": "x", "candidate": {"candidate": 5}}, "invalid_format"),
    ("no target", {"candidate": None}, "invalid_format"),
    ("sdp too large", {"to": "x", "description": {"type": "offer", "sdp": "v" * (64 * 1024 + 1)}},
     "too_large"),
    ("candidate too large", {"to": "x", "candidate": {"candidate": "c" * 1025}}, "too_large"),
]


@pytest.mark.parametrize(("case", "body", "expected"), BAD, ids=[b[0] for b in BAD])
async def test_bad_signals(case: str, body: Any, expected: str, open_group: Group) -> None:
    gid, c = open_group.gid, open_group.clients
    await media_join(c["alice"], gid)
    message = {"gathering": gid, **body} if isinstance(body, dict) else body
    assert code(await signal(c["alice"], message)) == expected


async def test_a_flood_of_signals_is_rate_limited(open_group: Group) -> None:
    gid, c = open_group.gid, open_group.clients
    await media_join(c["alice"], gid)
    bjorn = await media_join(c["bjorn"], gid)
    body = {"gathering": gid, "to": bjorn["peer"], "candidate": None}
    answers = await asyncio.gather(*(signal(c["alice"], body) for _ in range(260)))
    codes = [a["error"]["code"] if not a["ok"] else "ok" for a in answers]
    assert codes.count("ok") >= 199  # the burst (200, minus the join) gets through
    assert "rate_limited" in codes
    assert set(codes) == {"ok", "rate_limited"}


def to(gid: str, peer: str) -> dict[str, Any]:
    """The smallest signal: the end of candidates, to `peer`."""
    return {"gathering": gid, "to": peer, "candidate": None}


async def test_alices_second_tab_takes_over_her_video_in_the_group(
        open_group: Group, world: World, connect: Connect) -> None:
    gid, c = open_group.gid, open_group.clients
    heard = {name: collect(c[name], "media") for name in ("alice", "bjorn")}
    first = await media_join(c["alice"], gid)
    bjorn = await media_join(c["bjorn"], gid)
    assert [p["peer"] for p in bjorn["peers"]] == [first["peer"]]
    [alice_phone] = await joined(connect, gid, world.alice)  # her second tab
    phone_heard = collect(alice_phone, "media")
    phone = await media_join(alice_phone, gid)
    assert [p["peer"] for p in phone["peers"]] == [bjorn["peer"]]  # never her own first tab
    replaced = {"gathering": gid, "type": "replaced", "peer": first["peer"],
                "presence": first["presence"]}
    left = {"gathering": gid, "type": "peer_left", "peer": first["peer"]}
    await eventually(lambda: replaced in heard["alice"], what="the first tab told")
    await eventually(lambda: left in heard["bjorn"], what="Bjørn told it left")
    again = await media_join(c["bjorn"], gid)
    assert [p["peer"] for p in again["peers"]] == [phone["peer"]]  # one Alice in the group
    assert code(await signal(c["bjorn"], to(gid, first["peer"]))) == "not_found"
    assert code(await signal(c["alice"], to(gid, bjorn["peer"]))) == "rejected"
    assert (await signal(alice_phone, to(gid, bjorn["peer"]))) == {"ok": True}
    assert all(m["peer"] != first["peer"] for m in phone_heard)  # nothing of the old tab

    # taking it back: the first tab joins again and replaces the phone in turn
    back = await media_join(c["alice"], gid)
    assert [p["peer"] for p in back["peers"]] == [bjorn["peer"]]
    await eventually(lambda: {"gathering": gid, "type": "replaced", "peer": phone["peer"],
                              "presence": phone["presence"]} in phone_heard,
                     what="the phone told")
    assert code(await signal(c["bjorn"], to(gid, phone["peer"]))) == "not_found"
    assert (await signal(c["bjorn"], to(gid, first["peer"]))) == {"ok": True}


async def test_two_tabs_joining_at_once_leave_one_video(
        open_group: Group, world: World, connect: Connect) -> None:
    gid, c = open_group.gid, open_group.clients
    tabs = [c["alice"], *await joined(connect, gid, world.alice)]
    heard = [collect(tab, "media") for tab in tabs]
    both = await asyncio.gather(*(media_join(tab, gid) for tab in tabs))
    bjorn = await media_join(c["bjorn"], gid)
    assert len(bjorn["peers"]) == 1
    kept = bjorn["peers"][0]["peer"]
    lost = next(j for j in both if j["peer"] != kept)
    await eventually(lambda: any(m["type"] == "replaced" for m in heard[0] + heard[1]),
                     what="the other tab told")
    told = [m for m in heard[0] + heard[1] if m["type"] == "replaced"]
    assert told == [{"gathering": gid, "type": "replaced", "peer": lost["peer"],
                     "presence": lost["presence"]}]


async def test_a_runner_visits_from_one_tab_at_a_time(
        open_group: Group, world: World, connect: Connect) -> None:
    gid, c = open_group.gid, open_group.clients
    heard = collect(c["frida"], "media")
    await media_join(c["alice"], gid)
    console = await c["frida"].call("media.join", {"gathering": gid, "group": "g1"}, timeout=WAIT)
    [other_console] = await joined(connect, gid, world.facilitator)
    visit = await other_console.call("media.join", {"gathering": gid, "group": "g1"},
                                     timeout=WAIT)
    assert [p["name"] for p in visit["peers"]] == ["Alice Askvik"]
    await eventually(lambda: {"gathering": gid, "type": "replaced", "peer": console["peer"],
                              "presence": console["presence"]} in heard,
                     what="the first console told")
    alice = await media_join(c["alice"], gid)
    assert [p["peer"] for p in alice["peers"]] == [visit["peer"]]
