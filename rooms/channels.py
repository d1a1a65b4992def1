"""The socket.io rooms a gathering's messages go to, by name: everyone who joined the
gathering, one person's tabs in it, and one person's tabs anywhere."""

from __future__ import annotations


def room_of(gathering_id: str) -> str:
    return f"g:{gathering_id}"


def person_room(gathering_id: str, person_id: int) -> str:
    """The socket.io room of one person's tabs in a gathering (entered at `room.join`), so
    a message reaches all of them on whichever worker they are connected."""
    return f"person:{gathering_id}:{person_id}"


def person_anywhere(person_id: int) -> str:
    """The socket.io room of all one person's connections, on every worker (entered at
    connect): erasing the person closes them all (server/pages/privacy.py)."""
    return f"who:{person_id}"
