"""Expose one virtual controller on the sensors' link as HCI over TCP (like bumble's
``controllers`` app with ``tcp-server:127.0.0.1:PORT``), so a recorder's bumble host in another
process attaches with ``tcp-client:127.0.0.1:PORT``.

Unlike bumble's stock tcp-server transport, a host that goes away (recorder crash, test end)
takes its links with it: its connections are dropped as a lost radio would drop them, so the
sensors start advertising again instead of staying bound to a dead central.
"""

from __future__ import annotations

import asyncio
import logging

from bumble.link import LocalLink
from bumble.transport.common import StreamPacketSource

from sensors.ble.transport import VirtualController, drop_le_connections

logger = logging.getLogger(__name__)


class _Sink:
    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def on_packet(self, packet: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(packet)


class HciTcpServer:
    """A TCP server with one virtual controller behind it; one host at a time (the newest)."""

    def __init__(self, link: LocalLink, name: str = "hci-tcp", *, report_cancelled_connect: bool = True) -> None:
        # report_cancelled_connect=False: behave like bumble's stock controller, which never
        # reports a cancelled connect (tests of the client's connect timeout use it).
        self.controller = VirtualController(name, link=link, report_cancelled_connect=report_cancelled_connect)
        self._server: asyncio.Server | None = None
        self._active: asyncio.Transport | None = None
        self.port: int | None = None
        self.host: str | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on HOST:PORT (0 = a free port); returns the port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), host, port)
        sockname = self._server.sockets[0].getsockname()
        self.host, self.port = sockname[0], int(sockname[1])
        return self.port

    @property
    def transport_spec(self) -> str:
        """What a client passes as its bumble transport."""
        if self.port is None:
            raise RuntimeError("HCI TCP server not started")
        return f"tcp-client:{self.host}:{self.port}"

    def _attach(self, transport: asyncio.Transport, source: StreamPacketSource) -> None:
        # The newest host wins: a recorder that reconnects may arrive before the server has
        # noticed its previous socket closing. The old host's links are dropped first.
        if self._active is not None:
            old = self._active
            self._detach(old)
            old.close()
        self._active = transport
        source.set_packet_sink(self.controller)
        self.controller.host = _Sink(transport)

    def _detach(self, transport: asyncio.Transport) -> None:
        if self._active is not transport:
            return
        self._active = None
        self.controller.host = None
        dropped = drop_le_connections(self.controller)
        self.controller.pending_le_connection = None
        logger.info("HCI TCP host left; dropped %d connection(s)", dropped)

    async def close(self) -> None:
        if self._active is not None:
            active = self._active
            self._detach(active)
            active.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.controller.link.remove_controller(self.controller)


class _Protocol(asyncio.Protocol):
    def __init__(self, server: HciTcpServer) -> None:
        self.server = server
        self.source = StreamPacketSource()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._attach(transport, self.source)

    def data_received(self, data: bytes) -> None:
        if self.transport is self.server._active:
            self.source.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server._detach(self.transport)
