"""The mesh's signaling across two real worker processes sharing Redis: the media peers
are in Redis, and a signal to a peer connected to the other worker arrives."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import WAIT, send
from tests.signaling.conftest import open_the_groups
from tests.test_two_workers import Cluster, cluster, eventually  # noqa: F401  (fixture)


async def test_signals_reach_a_peer_on_the_other_worker(cluster: Cluster) -> None:  # noqa: F811
    gid, world = cluster.world.gathering.id, cluster.world
    frida = await cluster.connect(cluster.a, world.facilitator)
    alice = await cluster.connect(cluster.a, world.alice)
    bjorn = await cluster.connect(cluster.b, world.bjorn)
    media: dict[str, list[dict[str, Any]]] = {"alice": [], "bjorn": []}
    signals: list[dict[str, Any]] = []
    alice.on("media", media["alice"].append)
    bjorn.on("media", media["bjorn"].append)
    bjorn.on("signal", signals.append)
    for client in (frida, alice, bjorn):
        assert (await send(client, gid, "room.join"))["ok"]
    await open_the_groups(frida, gid)

    on_b = await bjorn.call("media.join", {"gathering": gid}, timeout=WAIT)
    on_a = await alice.call("media.join", {"gathering": gid}, timeout=WAIT)
    assert [p["peer"] for p in on_a["peers"]] == [on_b["peer"]]  # worker A sees B's peer
    await eventually(lambda: any(m["type"] == "peer_joined" and m["peer"] == on_a["peer"]
                                 for m in media["bjorn"]), "peer_joined across workers")
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    answer = await alice.call("signal", {"gathering": gid, "to": on_b["peer"],
                                         "description": offer}, timeout=WAIT)
    assert answer == {"ok": True}
    await eventually(lambda: signals == [{"gathering": gid, "from": on_a["peer"],
                                          "description": offer}], "the offer on worker B")
    await bjorn.disconnect()
    await eventually(lambda: any(m["type"] == "peer_left" and m["peer"] == on_b["peer"]
                                 for m in media["alice"]), "peer_left across workers")
    gone = await alice.call("signal", {"gathering": gid, "to": on_b["peer"],
                                       "candidate": None}, timeout=WAIT)
    assert gone["error"]["code"] == "not_found"


async def test_a_tab_on_the_other_worker_takes_over_the_persons_video(
        cluster: Cluster) -> None:  # noqa: F811
    gid, world = cluster.world.gathering.id, cluster.world
    frida = await cluster.connect(cluster.a, world.facilitator)
    laptop = await cluster.connect(cluster.a, world.alice)
    phone = await cluster.connect(cluster.b, world.alice)
    bjorn = await cluster.connect(cluster.a, world.bjorn)
    heard: dict[str, list[dict[str, Any]]] = {"laptop": [], "phone": [], "bjorn": []}
    for name, client in (("laptop", laptop), ("phone", phone), ("bjorn", bjorn)):
        client.on("media", heard[name].append)
        assert (await send(client, gid, "room.join"))["ok"]
    assert (await send(frida, gid, "room.join"))["ok"]
    await open_the_groups(frida, gid)

    first = await laptop.call("media.join", {"gathering": gid}, timeout=WAIT)
    on_b = await bjorn.call("media.join", {"gathering": gid}, timeout=WAIT)
    assert [p["peer"] for p in on_b["peers"]] == [first["peer"]]
    second = await phone.call("media.join", {"gathering": gid}, timeout=WAIT)  # on worker B
    await eventually(lambda: {"gathering": gid, "type": "replaced", "peer": first["peer"],
                              "presence": first["presence"]} in heard["laptop"],
                     "replaced across workers")
    await eventually(lambda: {"gathering": gid, "type": "peer_left", "peer": first["peer"]}
                     in heard["bjorn"], "peer_left for the laptop across workers")
    again = await bjorn.call("media.join", {"gathering": gid}, timeout=WAIT)
    assert [p["peer"] for p in again["peers"]] == [second["peer"]]
    gone = await bjorn.call("signal", {"gathering": gid, "to": first["peer"],
                                       "candidate": None}, timeout=WAIT)
    assert gone["error"]["code"] == "not_found"

    # both join at once (the laptop takes it back as the phone re-joins): one of them holds
    # the video; the other is told that its join ended, the holder at most of an earlier one
    heard["laptop"].clear()
    heard["phone"].clear()
    both = await asyncio.gather(*(tab.call("media.join", {"gathering": gid}, timeout=WAIT)
                                  for tab in (laptop, phone)))
    now = await bjorn.call("media.join", {"gathering": gid}, timeout=WAIT)
    assert len(now["peers"]) == 1
    lost = next(j for j in both if j["peer"] != now["peers"][0]["peer"])
    ended = {(j["peer"], j["presence"]) for j in both}
    told = lambda: [(m["peer"], m["presence"])  # noqa: E731
                    for m in heard["laptop"] + heard["phone"]
                    if m["type"] == "replaced" and (m["peer"], m["presence"]) in ended]
    await eventually(lambda: told() != [], "the other tab told")
    assert told() == [(lost["peer"], lost["presence"])]
