"""The socket.io server: python-socketio's, quiet about the binary frames a browser still
sends after its session ended.

A binary event (a shared-notes message) is a text header (`451-…`) and then its attachment
as a binary frame. A browser that has not read the server's DISCONNECT yet (the server ends
every session when a worker stops, and at an engine.io ping timeout) goes on sending them:
cursor moves, answers to awareness queries, its un-acked update. python-socketio 5.18
(`AsyncServer._handle_eio_message`) raises `ValueError('Unexpected binary packet')` for a
header whose session is gone and then reads each attachment as a text packet
(`int(b'\\x01')`): two tracebacks per message, dozens per stop. An attachment whose header
came just before the session ended (the server drops the half-received packet) gives the
second one alone. Such frames are dropped here: one INFO line per connection, DEBUG after.
So is a frame socket.io cannot read at all (`4hello`, `42[1`): the library would log a
traceback for each, which a client could use to flood the log.

This leans on the library's internals (`_handle_eio_message`, `_binary_packet`);
tests/server/test_stray_frames.py pins them."""

from __future__ import annotations

import logging
from typing import Any

import socketio
from socketio import packet

log = logging.getLogger(__name__)

BINARY_HEADERS = (str(packet.BINARY_EVENT), str(packet.BINARY_ACK))


class ForumSocketServer(socketio.AsyncServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._told: set[str] = set()  # engine.io sessions whose stray frames were logged

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            stray = self._stray(eio_sid, data)
            if stray is None:
                await super()._handle_eio_message(eio_sid, data)
            else:
                self._drop(eio_sid, stray, "sent after its session ended")
        except ValueError as error:  # socket.io's own reading of the frame failed
            self._drop(eio_sid, "a frame socket.io cannot read", str(error)[:200])

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self._told.discard(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    def _stray(self, eio_sid: str, data: Any) -> str | None:
        """What `data` is when no live session waits for it; None when one does."""
        if eio_sid in self._binary_packet:
            return None  # an attachment of the packet being received
        if isinstance(data, bytes):
            # socket.io's text packets never come as binary frames
            return "a binary attachment no packet waits for"
        if isinstance(data, str) and data[:1] in BINARY_HEADERS:
            namespace = self.packet_class(encoded_packet=data).namespace or "/"
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            # a session that is closing would drop the event anyway, once it is complete
            if sid is None or not self.manager.is_connected(sid, namespace):
                # its attachments are dropped too: no packet waits for them
                return f"a binary packet for namespace {namespace}, where it has no session"
        return None

    def _drop(self, eio_sid: str, what: str, why: str) -> None:
        first = eio_sid not in self._told
        self._told.add(eio_sid)
        log.log(logging.INFO if first else logging.DEBUG,
                "dropped %s from connection %s (%s)", what, eio_sid, why)
