"""A database outage a test can cause: a small TCP proxy between the app and PostgreSQL that
the test cuts (every connection closed, new ones refused) and restores, on the same port.
The machine's PostgreSQL itself is shared and never stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.engine import make_url


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to `upstream` (host, port) until cut."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, database_url: str) -> str:
        """`database_url` (pointing at the upstream) redirected through this proxy."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port) \
            .render_as_string(hide_password=False)

    async def restore(self) -> None:
        """Listen (again, on the same port once it had one)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop every open one, as a database going away does."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        # held from the start: a cut while this connection is still dialling the upstream
        # (a window a loaded machine makes wide) drops it too
        self._writers.add(client_writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            self._writers.discard(client_writer)
            return
        if client_writer not in self._writers:  # cut meanwhile
            upstream_writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(_pipe(client_reader, upstream_writer),
                             _pipe(upstream_reader, client_writer))
        self._writers.difference_update((client_writer, upstream_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@contextlib.asynccontextmanager
async def proxied(database_url: str) -> AsyncIterator[CuttableProxy]:
    """A running proxy in front of `database_url`'s server."""
    url = make_url(database_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()
