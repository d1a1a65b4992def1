"""TURN over TCP and over TLS (`turns:`), as behind a strict firewall that lets only TCP out.

Debian's coturn is started on loopback with no UDP listener at all (`--no-udp --no-dtls`), a
plain TCP port and a TLS port with a self-signed certificate made in the test. Two relay-only
peers, aiortc and Chromium, get credentials issued by the server (`media.ice`) and are given
only the `turn:...?transport=tcp` or only the `turns:...?transport=tcp` URL; they connect
through coturn and video flows.

The TLS port is 443 itself when the tests run as root (CI does) and 127.0.0.1:443 is free;
otherwise (not root, or 443 taken) it is a free high port: `Coturn.tls_port` and
`Coturn.why_not_443` say which, and a root run that could not use 443 warns. Two runs of the
suite on one machine take turns on 443 (a file lock).

Both clients verify the TURN server's certificate, as they should: aioice (aiortc) uses
Python's default SSL context (system trust store and host name, so `turns:127.0.0.1` needs an
IP address in the certificate), Chromium its own certificate verifier; each refuses the
self-signed certificate until the test (never the product) trusts it: aioice through
`SSL_CERT_FILE`, Chromium through `--ignore-certificate-errors-spki-list` (this key only)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import fcntl
import hashlib
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCIceServer

from server.settings import Settings
from tests.conftest import START_WAIT, WAIT
from tests.factories import World
from tests.signaling.conftest import TURN_SECRET, Group, turnserver_path
from tests.signaling.mesh_peer import MeshPeer
from tests.signaling.test_turn import (
    browsers_connect,
    free_port,
    read_log,
    relay_only_peers,
    stop_turnserver,
    turn_settings,
)

TLS_PORT = 443
# Two runs of the suite on one machine take turns on 127.0.0.1:443 (the lock goes with the
# process that held it, however it ends).
TLS_PORT_LOCK = Path(tempfile.gettempdir()) / "klimasats-forum-tests-port-443.lock"


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    der: bytes
    spki_sha256: str  # base64, as Chromium's --ignore-certificate-errors-spki-list wants it


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (an IP address SAN), valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "turn.forum.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256()))
    certificate = Certificate(
        directory / "turn-cert.pem", directory / "turn-key.pem",
        cert.public_bytes(serialization.Encoding.DER),
        base64.b64encode(hashlib.sha256(key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo,
        )).digest()).decode("ascii"))
    certificate.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificate.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return certificate


def log_text(log: Path) -> str:
    return log.read_text(errors="replace")


@dataclass
class Coturn:
    port: int  # plain TCP (coturn also accepts TLS here)
    tls_port: int
    log: Path
    certificate: Certificate
    why_not_443: str | None

    def sessions(self, person_id: int) -> list[str]:
        """coturn's "new session" lines of one person's allocations (TCP or TLS)."""
        pattern = re.compile(rf"session \d+: new, realm=<forum\.test>, "
                             rf"username=<\d+:{person_id}>, lifetime=\d+(, .*)?$")
        return [line for line in log_text(self.log).splitlines()
                if pattern.search(line)]


def port_443_unusable() -> str | None:
    """Why coturn cannot listen on 127.0.0.1:443 here, or None."""
    if os.geteuid() != 0:
        return "not root: port 443 needs root"
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", TLS_PORT))
        except OSError as error:
            return f"127.0.0.1:443 is taken ({error})"
    return None


@contextlib.asynccontextmanager
async def port_443_for_this_test() -> AsyncIterator[str | None]:
    """Port 443 for this test alone among the test runs on this machine; yields why coturn
    cannot listen there, or None."""
    if os.geteuid() != 0:
        yield port_443_unusable()
        return
    with TLS_PORT_LOCK.open("a") as lock:
        deadline = time.monotonic() + START_WAIT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield "another test run held port 443 all along"
                    return
                await asyncio.sleep(0.1)
        try:
            yield port_443_unusable()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start_tcp_tls_turnserver(port: int, tls_port: int, relay_from: int,
                             certificate: Certificate, tmp_path: Path) -> subprocess.Popen[bytes]:
    """coturn that strict firewalls can reach: TCP on `port`, TLS on `tls_port`, no UDP."""
    command = [
        turnserver_path(), "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}",
        "--realm=forum.test", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        f"--listening-port={port}", f"--tls-listening-port={tls_port}",
        f"--cert={certificate.cert}", f"--pkey={certificate.key}",
        "--no-udp", "--no-dtls", "--allow-loopback-peers", "--no-cli", "--verbose", "-n",
        "--log-file=stdout", f"--min-port={relay_from}", f"--max-port={relay_from + 50}",
        f"--pidfile={tmp_path / 'turnserver.pid'}", f"--userdb={tmp_path / 'turndb'}"]
    with (tmp_path / "turnserver.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


async def listeners_opened(process: subprocess.Popen[bytes], log: Path, ports: list[int],
                           within: float = START_WAIT) -> bool:
    """True once coturn says it listens on every port; False if it cannot bind one."""
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise AssertionError(f"turnserver exited: {read_log(log)}")
        text = log_text(log)
        if "Cannot bind" in text:
            return False
        if all(f"listener opened on : 127.0.0.1:{port}\n" in text for port in ports):
            return True
        assert time.monotonic() < deadline, f"turnserver did not listen: {read_log(log)}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def coturn(tmp_path: Path) -> AsyncIterator[Coturn]:
    async with (port_443_for_this_test() as why_not_443,
                coturn_on(tmp_path, why_not_443) as running):
        yield running


@contextlib.asynccontextmanager
async def coturn_on(tmp_path: Path, why_not_443: str | None) -> AsyncIterator[Coturn]:
    certificate = make_certificate(tmp_path)
    log = tmp_path / "turnserver.log"
    port = free_port()
    tls_port = TLS_PORT if why_not_443 is None else free_port()
    process = start_tcp_tls_turnserver(port, tls_port, free_port(), certificate, tmp_path)
    try:
        if not await listeners_opened(process, log, [port, tls_port]):
            # lost a race for 443 (or a free port) with another process: once more, high ports
            stop_turnserver(process)
            why_not_443 = why_not_443 or "coturn could not bind 127.0.0.1:443 (taken meanwhile)"
            port, tls_port = free_port(), free_port()
            process = start_tcp_tls_turnserver(port, tls_port, free_port(), certificate,
                                               tmp_path)
            assert await listeners_opened(process, log, [port, tls_port]), read_log(log)
        if why_not_443 is not None and os.geteuid() == 0:
            warnings.warn(f"TURN/TLS tested on port {tls_port}, not 443: {why_not_443}",
                          stacklevel=1)
        yield Coturn(port, tls_port, log, certificate, why_not_443)
    finally:
        stop_turnserver(process)


@pytest.fixture
def settings(sqlite_url: str, coturn: Coturn) -> Settings:
    """TURN_URLS as README's coturn section has them for a strict firewall: TCP and TLS."""
    return turn_settings(sqlite_url, f"turn:127.0.0.1:{coturn.port}?transport=tcp,"
                                     f"turns:127.0.0.1:{coturn.tls_port}?transport=tcp")


@pytest.fixture
def trust_certificate(coturn: Coturn, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test only: Python's default SSL context (which aioice uses) trusts the test's
    self-signed certificate, as a system trust store trusts a real one."""
    monkeypatch.setenv("SSL_CERT_FILE", str(coturn.certificate.cert))


async def issued(client: Any, gathering: str, url_prefix: str) -> dict[str, Any]:
    """The server's `media.ice` answer, cut to the one TURN URL starting with url_prefix."""
    fresh = await client.call("media.ice", {"gathering": gathering}, timeout=WAIT)
    assert fresh["ok"], fresh
    [turn] = fresh["ice_servers"]
    [url] = [u for u in turn["urls"] if u.startswith(url_prefix)]
    return {"urls": [url], "username": turn["username"], "credential": turn["credential"]}


def turn_link(peer: MeshPeer) -> asyncio.Transport:
    """The connection over which the nominated pair's relay candidate reaches coturn."""
    from aioice.turn import TurnClientTcpProtocol, TurnTransport

    transceiver = peer.pc.getTransceivers()[0]
    assert transceiver.sender.transport is not None
    connection = transceiver.sender.transport.transport._connection  # aioice.Connection
    pair = connection._nominated.get(1)
    assert pair is not None and pair.local_candidate.type == "relay", pair
    turn: Any = pair.protocol.transport
    assert isinstance(turn, TurnTransport), turn
    inner = vars(turn)["_TurnTransport__inner_protocol"]  # its TURN client protocol
    assert isinstance(inner, TurnClientTcpProtocol), inner  # not turn/udp
    return inner.transport


async def connect_relay_only(open_group: Group, url_prefix: str) -> list[MeshPeer]:
    gid, c = open_group.gid, open_group.clients
    servers = {name: [RTCIceServer(**await issued(c[name], gid, url_prefix))]
               for name in ("alice", "bjorn")}
    return await relay_only_peers(open_group, servers)


async def test_two_aiortc_peers_connect_relay_only_over_turn_tcp(
        open_group: Group, loopback_ice: None, coturn: Coturn, world: World) -> None:
    """coturn has no UDP listener; the peers only know `turn:...?transport=tcp`: video flows
    through TCP allocations (no TLS) made with the server's credentials."""
    peers = await connect_relay_only(open_group, "turn:")
    try:
        for p in peers:
            link = turn_link(p)
            assert link.get_extra_info("peername")[:2] == ("127.0.0.1", coturn.port)
            assert link.get_extra_info("ssl_object") is None
        for person in (world.alice, world.bjorn):
            [session] = coturn.sessions(person.id)
            assert "cipher=" not in session, session
    finally:
        for p in peers:
            await p.close()


async def test_two_aiortc_peers_connect_relay_only_over_turn_tls(
        open_group: Group, loopback_ice: None, coturn: Coturn, trust_certificate: None,
        world: World) -> None:
    """The peers only know `turns:127.0.0.1:<tls port>?transport=tcp` (443 as root, see the
    module's docstring): video flows through TLS allocations, each TLS session presenting the
    test's certificate, made with the server's credentials."""
    peers = await connect_relay_only(open_group, "turns:")
    try:
        for p in peers:
            link = turn_link(p)
            assert link.get_extra_info("peername")[:2] == ("127.0.0.1", coturn.tls_port)
            tls = link.get_extra_info("ssl_object")
            assert tls is not None and tls.version() in ("TLSv1.2", "TLSv1.3")
            assert tls.getpeercert(binary_form=True) == coturn.certificate.der
        for person in (world.alice, world.bjorn):
            [session] = coturn.sessions(person.id)
            assert "cipher=" in session and "method=TLSv1" in session, session
        if coturn.why_not_443 is None:
            assert coturn.tls_port == TLS_PORT
    finally:
        for p in peers:
            await p.close()


async def test_aioice_verifies_the_turn_tls_certificate(
        coturn: Coturn, monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice checks the TURN server's certificate (trust and host name): a self-signed one is
    refused until trusted, and then only for the name it was issued for (127.0.0.1, not
    localhost)."""
    from aioice import turn

    from signaling.ice import turn_credentials

    credentials = turn_credentials(TURN_SECRET, 7, expires=int(time.time()) + 60)

    async def allocate(host: str) -> None:
        transport, _ = await turn.create_turn_endpoint(
            asyncio.DatagramProtocol, (host, coturn.tls_port), *credentials, ssl=True,
            transport="tcp")
        transport.close()

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed"):
        await allocate("127.0.0.1")
    monkeypatch.setenv("SSL_CERT_FILE", str(coturn.certificate.cert))
    await allocate("127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await allocate("localhost")


BROWSER_GATHER = """async (iceServers) => {
  const pc = new RTCPeerConnection({iceServers, iceTransportPolicy: "relay"});
  pc.createDataChannel("probe");
  const candidates = [], errors = [];
  pc.addEventListener("icecandidate", (e) => {
    if (e.candidate) candidates.push(e.candidate.candidate);
  });
  pc.addEventListener("icecandidateerror", (e) => errors.push(e.errorCode));
  const gathered = new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered;
  pc.close();
  return {candidates, errors};
}"""


def chromium_trusting(certificate: Certificate) -> Any:
    """tests.e2e.conftest.chromium(), but trusting the test's certificate (its key only):
    Chromium checks TURN/TLS certificates like any other."""
    from tests.e2e.conftest import chromium

    return chromium(f"--ignore-certificate-errors-spki-list={certificate.spki_sha256}")


@pytest.mark.e2e
@pytest.mark.parametrize(("url_prefix", "relay_protocol"), [("turn:", "tcp"), ("turns:", "tls")])
async def test_two_chromium_contexts_connect_relay_only_over_turn_tcp_and_tls(
        open_group: Group, coturn: Coturn, server: Any, world: World, url_prefix: str,
        relay_protocol: str) -> None:
    """Chromium given only the TCP or only the TLS URL (with the server's credentials, and
    the TLS port 443 as root, see the module's docstring): relay-only, video decoded on both
    sides, and the selected local candidate is a relay reached over TCP or TLS."""
    gid, c = open_group.gid, open_group.clients
    ice = {name: [await issued(c[name], gid, url_prefix)] for name in ("alice", "bjorn")}
    async with chromium_trusting(coturn.certificate) as browser:
        stats = await browsers_connect(browser, server, open_group, ice=ice)
    for s, name in zip(stats, ("alice", "bjorn"), strict=True):
        assert s["local"] == {"type": "relay", "relay": relay_protocol,
                              "url": ice[name][0]["urls"][0]}, s
    for person in (world.alice, world.bjorn):
        sessions = coturn.sessions(person.id)
        assert sessions, read_log(coturn.log)
        tls = ["cipher=" in line for line in sessions]
        assert all(tls) if relay_protocol == "tls" else not any(tls), sessions


@pytest.mark.e2e
async def test_chromium_refuses_an_untrusted_turn_tls_certificate(
        coturn: Coturn, server: Any) -> None:
    """Without the test's trust flag Chromium gets no relay candidate from the self-signed
    TURN/TLS server (error 701), while plain TCP to the same coturn works: a real deployment
    needs a certificate browsers trust (README: Let's Encrypt)."""
    from signaling.ice import turn_credentials
    from tests.e2e.conftest import chromium

    username, credential = turn_credentials(TURN_SECRET, 7, expires=int(time.time()) + 60)
    async with chromium() as browser:
        page = await (await browser.new_context()).new_page()
        await page.goto(str(server.make_url("/healthz")))
        results = {}
        for url in (f"turns:127.0.0.1:{coturn.tls_port}?transport=tcp",
                    f"turn:127.0.0.1:{coturn.port}?transport=tcp"):
            results[url.split(":")[0]] = await page.evaluate(BROWSER_GATHER, [
                {"urls": [url], "username": username, "credential": credential}])
    assert results["turns"]["candidates"] == [], results
    assert results["turns"]["errors"] and set(results["turns"]["errors"]) == {701}, results
    assert any("typ relay" in c for c in results["turn"]["candidates"]), results
