"""TURN: Debian's coturn started on loopback with a shared secret; two aiortc peers that
may use relay candidates only connect through it with credentials issued by the server
(`media.ice`), signaled through the server's relay."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCIceServer

from server.settings import Settings
from tests.conftest import START_WAIT, WAIT
from tests.factories import World
from tests.server.live_helpers import eventually, fetched_until
from tests.signaling.conftest import TURN_SECRET, Group, turnserver_path
from tests.signaling.mesh_peer import MeshPeer


def free_port() -> int:
    """A port free for both UDP and TCP on loopback."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


async def listening(port: int, process: subprocess.Popen[bytes], log: Path,
                    within: float = START_WAIT) -> None:
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise AssertionError(f"turnserver exited: {read_log(log)}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("turnserver did not start listening") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


def start_turnserver(port: int, relay_from: int, tmp_path: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [turnserver_path(), "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}",
         "--realm=forum.test", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
         f"--listening-port={port}", "--allow-loopback-peers", "--no-tls", "--no-dtls",
         "--no-cli", "-n", "--log-file=stdout", f"--min-port={relay_from}",
         f"--max-port={relay_from + 50}", f"--pidfile={tmp_path / 'turnserver.pid'}",
         f"--userdb={tmp_path / 'turndb'}"],
        stdout=(tmp_path / "turnserver.log").open("wb"), stderr=subprocess.STDOUT)


def stop_turnserver(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
async def turn_port(tmp_path: Any) -> AsyncIterator[int]:
    port = free_port()
    process = start_turnserver(port, free_port(), tmp_path)
    try:
        await listening(port, process, tmp_path / "turnserver.log")
        yield port
    finally:
        stop_turnserver(process)


def turn_settings(sqlite_url: str, turn_urls: str) -> Settings:
    """The server's settings with coturn at `turn_urls`, sharing the test's secret."""
    return Settings(database_url=sqlite_url, secret_key="test-secret", host="127.0.0.1",
                    turn_urls=turn_urls, turn_secret=TURN_SECRET, turn_ttl=600)


@pytest.fixture
def settings(sqlite_url: str, turn_port: int) -> Settings:
    return turn_settings(sqlite_url, f"turn:127.0.0.1:{turn_port}?transport=udp")


def ice_servers(answer: dict[str, Any]) -> list[RTCIceServer]:
    return [RTCIceServer(urls=s["urls"], username=s.get("username"),
                         credential=s.get("credential")) for s in answer["ice_servers"]]


IceServers = dict[str, list[Any]]  # alice's and bjorn's ICE servers


async def relay_only_peers(group: Group, servers: IceServers | None = None) -> list[MeshPeer]:
    """Alice's and Bjørn's aiortc peers, relay only, connected through the server's relay
    with `servers` (the ones their `media.join` answers issued if None): video flows both
    ways. The caller closes them."""
    gid, c = group.gid, group.clients
    bjorn = await c["bjorn"].call("media.join", {"gathering": gid}, timeout=WAIT)
    alice = await c["alice"].call("media.join", {"gathering": gid}, timeout=WAIT)
    servers = servers or {"alice": ice_servers(alice), "bjorn": ice_servers(bjorn)}
    peers = [MeshPeer(c["alice"], gid, servers["alice"], relay_only=True),
             MeshPeer(c["bjorn"], gid, servers["bjorn"], relay_only=True)]
    try:
        assert (await peers[0].offer(bjorn["peer"])) == {"ok": True}
        await eventually(lambda: all(p.frames >= 3 for p in peers),
                         what="video both ways")
        assert "typ host" not in peers[0].pc.localDescription.sdp
    except BaseException:
        for p in peers:
            await p.close()
        raise
    return peers


async def test_two_peers_connect_through_coturn_with_server_issued_credentials(
        open_group: Group, loopback_ice: None, turn_port: int, world: World) -> None:
    gid, c = open_group.gid, open_group.clients
    asked = int(time.time())
    fresh = await c["alice"].call("media.ice", {"gathering": gid}, timeout=WAIT)
    answered = time.time()
    assert fresh["ok"] and fresh["ice_ttl"] == 600
    [turn] = fresh["ice_servers"]
    assert turn["urls"] == [f"turn:127.0.0.1:{turn_port}?transport=udp"]
    expires, person = turn["username"].split(":")
    # issued for 600 s from a moment between the question and the answer
    assert asked + 600 <= int(expires) <= answered + 600 and int(person) == world.alice.id
    peers = await relay_only_peers(open_group)
    try:
        for p in peers:
            pair = p.selected_pair_types()
            assert pair is not None and pair[0] == "relay", pair
    finally:
        for p in peers:
            await p.close()


async def test_coturn_accepts_issued_credentials_and_refuses_expired_or_forged_ones(
        turn_port: int) -> None:
    from aioice import stun, turn

    from signaling.ice import turn_credentials

    async def allocate(username: str, password: str) -> bool:
        try:
            transport, _ = await turn.create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", turn_port), username, password)
        except stun.TransactionFailed:
            return False
        transport.close()
        return True

    now = int(time.time())
    assert await allocate(*turn_credentials(TURN_SECRET, 7, expires=now + 60))
    assert not await allocate(*turn_credentials(TURN_SECRET, 7, expires=now - 60))  # expired
    assert not await allocate(*turn_credentials("forged", 7, expires=now + 60))


BROWSER_PEER = """async ({iceServers, offer}) => {
  const pc = new RTCPeerConnection({iceServers, iceTransportPolicy: "relay"});
  window.pc = pc;
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  const gathered = new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
  if (offer) {
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
  } else {
    await pc.setLocalDescription(await pc.createOffer());
  }
  await gathered;  // no trickle: every (relay) candidate is in the description
  return {type: pc.localDescription.type, sdp: pc.localDescription.sdp};
}"""

BROWSER_STATS = """async () => {
  const stats = await window.pc.getStats();
  let decoded = 0, local = null;
  const byId = new Map();
  stats.forEach((s) => byId.set(s.id, s));
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") decoded = s.framesDecoded || 0;
    if (s.type === "transport" && s.selectedCandidatePairId) {
      const pair = byId.get(s.selectedCandidatePairId);
      const candidate = pair && byId.get(pair.localCandidateId);
      local = candidate && {type: candidate.candidateType, relay: candidate.relayProtocol,
                            url: candidate.url};
    }
  });
  return {decoded, local, state: window.pc.connectionState};
}"""


async def browsers_connect(browser: Any, server: Any, group: Group,
                           ice: IceServers | None = None) -> list[dict[str, Any]]:
    """Alice's and Bjørn's pages (two contexts of `browser`) connect relay only through the
    server's relay, with `ice` (the servers their `media.join` answers issued if None);
    returns BROWSER_STATS of each page once both decode video over a selected pair (`local`:
    its local candidate)."""
    gid, c = group.gid, group.clients
    alice = await c["alice"].call("media.join", {"gathering": gid}, timeout=WAIT)
    bjorn = await c["bjorn"].call("media.join", {"gathering": gid}, timeout=WAIT)
    ice = ice or {"alice": alice["ice_servers"], "bjorn": bjorn["ice_servers"]}
    relayed: list[dict[str, Any]] = []
    c["bjorn"].on("signal", relayed.append)
    c["alice"].on("signal", relayed.append)
    pages = []
    for _ in range(2):
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(str(server.make_url("/healthz")))
        pages.append(page)
    offer = await pages[0].evaluate(BROWSER_PEER, {"iceServers": ice["alice"], "offer": None})
    assert "typ relay" in offer["sdp"] and "typ host" not in offer["sdp"]
    sent = await c["alice"].call("signal", {"gathering": gid, "to": bjorn["peer"],
                                            "description": offer}, timeout=WAIT)
    assert sent == {"ok": True}
    await eventually(lambda: len(relayed) == 1, what="the offer at Bjørn")
    answer = await pages[1].evaluate(BROWSER_PEER, {"iceServers": ice["bjorn"],
                                                    "offer": relayed[0]["description"]})
    sent = await c["bjorn"].call("signal", {"gathering": gid, "to": alice["peer"],
                                            "description": answer}, timeout=WAIT)
    assert sent == {"ok": True}
    await eventually(lambda: len(relayed) == 2, what="the answer at Alice")
    await pages[0].evaluate("(answer) => window.pc.setRemoteDescription(answer)",
                            relayed[1]["description"])
    async def stats() -> list[dict[str, Any]]:
        return [await page.evaluate(BROWSER_STATS) for page in pages]

    return await fetched_until(stats, lambda both: all(s["decoded"] > 0 and s["local"]
                                                       for s in both),
                               what="video decoded on both pages over a selected pair")


@pytest.mark.e2e
async def test_two_chromium_contexts_connect_through_coturn_relay_only(
        open_group: Group, turn_port: int, server: Any) -> None:
    from tests.e2e.conftest import chromium

    async with chromium() as browser:
        stats = await browsers_connect(browser, server, open_group)
        assert [s["local"]["type"] for s in stats] == ["relay", "relay"]

