"""The signaling relay: offers, answers and ICE candidates between two media peers of a
gathering, only while facilitation.media.may_connect allows them (checked both ways, now,
on every message). The socket.io edge is server/sockets/media.py; this module validates and
decides, and raises SignalRefused with a protocol error code."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from facilitation import Actor, GatheringState
from facilitation.media import may_connect
from signaling.peers import PeerRegistry

SDP_MAX = 64 * 1024  # characters of one session description
CANDIDATE_MAX = 1024  # characters of one ICE candidate line
SIGNALS_PER_SECOND = 50  # ICE trickles in bursts: one connection's allowance
SIGNAL_BURST = 200


class SignalRefused(Exception):
    """A signal (or media request) the server did not relay; `code` is a protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Description(Strict):
    type: Literal["offer", "answer", "rollback"]
    sdp: Annotated[str, StringConstraints(max_length=SDP_MAX)] = ""


class Candidate(Strict):
    candidate: Annotated[str, StringConstraints(max_length=CANDIDATE_MAX)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None  # noqa: N815
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1023)] | None = None  # noqa: N815
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None  # noqa: N815


GatheringId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class MediaRef(Strict):
    gathering: GatheringId


class MediaJoin(MediaRef):
    group: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class Signal(Strict):
    gathering: GatheringId
    to: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    description: Description | None = None
    candidate: Candidate | None = None  # present and null: the end of candidates

    @model_validator(mode="after")
    def _one_of(self) -> Signal:
        given = {"description", "candidate"} & self.model_fields_set
        if len(given) != 1:
            raise ValueError("send exactly one of description and candidate")
        if "description" in given and self.description is None:
            raise ValueError("description is an object")
        return self

    def relayed(self, sender: str) -> dict[str, Any]:
        """The `signal` message the target gets."""
        message: dict[str, Any] = {"gathering": self.gathering, "from": sender}
        if self.description is not None:
            message["description"] = self.description.model_dump()
        else:
            message["candidate"] = (None if self.candidate is None
                                    else self.candidate.model_dump(exclude_none=True))
        return message


async def check_signal(registry: PeerRegistry, state: GatheringState, sender_sid: str,
                       sender: Actor, signal: Signal) -> None:
    """Refuse unless both are media peers of the gathering and may connect now."""
    gathering = signal.gathering
    me = await registry.get(gathering, sender_sid)
    if me is None:
        raise SignalRefused("rejected", "send media.join for this gathering first")
    target = await registry.get(gathering, signal.to)
    if target is None:
        raise SignalRefused("not_found", "no such media peer in this gathering")
    who = (sender.person_id, sender.role, me.visiting)  # the role as of now, the visit joined
    if not (may_connect(state, who, target.who) and may_connect(state, target.who, who)):
        raise SignalRefused("forbidden", "you may not connect to this peer now")
