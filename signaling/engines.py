"""The media engines a gathering's plenary stage can run on, chosen by MEDIA_ENGINE:
`aiortc` (signaling/stage.py: this process decodes once and encodes once; nothing else to run)
or `janus` (signaling/janus_stage.py: a Janus VideoRoom forwards; signaling/janus_pool.py
picks the instance). The stage's owner (signaling/stage_host.py) only sees `StageEngine`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiortc import RTCIceServer, RTCPeerConnection

from signaling.ice import IceConfig
from signaling.stage import Stage, StageConfig, server_configuration

Gone = Callable[[str], Awaitable[None]]  # a gathering whose stage went away with its engine


class StageEngine(Protocol):
    """One gathering's stage, whatever runs it."""

    on_unpublished: Callable[[str], Any] | None
    on_published: Callable[[str], Any] | None

    @property
    def publishers(self) -> list[str]: ...

    @property
    def listeners(self) -> list[str]: ...

    def kinds(self, publisher_id: str) -> list[str]: ...

    def listener_tracks(self, listener_id: str) -> list[tuple[str, str, str]]: ...

    async def publish(self, publisher_id: str, offer_sdp: str) -> str: ...

    async def listen(self, listener_id: str) -> str | None: ...

    async def answer(self, listener_id: str, answer_sdp: str) -> None: ...

    async def listen_offered(self, listener_id: str, offer_sdp: str) -> str: ...

    async def unpublish(self, publisher_id: str) -> None: ...

    async def leave(self, listener_id: str) -> None: ...

    async def close(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...


class Engine(Protocol):
    """Makes the stage of a gathering; tells `on_gone` about stages it lost on its own."""

    on_gone: Gone | None

    async def open(self, gathering_id: str) -> StageEngine: ...

    def forget(self, gathering_id: str) -> None:
        """The gathering's stage closed."""

    async def close(self) -> None: ...


def server_ice_servers(ice: IceConfig, now: float) -> list[RTCIceServer]:
    """The server peers' ICE servers: the same settings as the browsers' (none: [])."""
    return [RTCIceServer(urls=s["urls"], username=s.get("username"),
                         credential=s.get("credential")) for s in ice.servers(0, now)]


class _Stage(Stage):
    """A Stage whose peers get fresh ICE servers (TURN credentials expire) from settings."""

    def __init__(self, config: StageConfig, ice: IceConfig) -> None:
        super().__init__(config)
        self.ice = ice

    def _new_pc(self) -> RTCPeerConnection:
        return RTCPeerConnection(server_configuration(server_ice_servers(self.ice, time.time())))


class AiortcEngine:
    """Every stage in this process (the default)."""

    def __init__(self, config: StageConfig, ice: IceConfig) -> None:
        self.config = config
        self.ice = ice
        self.on_gone: Gone | None = None

    async def open(self, gathering_id: str) -> StageEngine:
        return _Stage(self.config, self.ice)

    def forget(self, gathering_id: str) -> None:
        return None

    async def close(self) -> None:
        return None
