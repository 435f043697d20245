"""`VirtualSensorHub`: several virtual sensors on one shared virtual radio (a bumble LocalLink),
reachable in-process as transport ``local:NAME`` and, optionally, from another process as HCI over
TCP (``tcp-client:127.0.0.1:PORT``). The hub's sensors are worn by one body: they share one
`BodyClock` for their motion (each keeps its own µs clock)."""

from __future__ import annotations

import itertools
import logging
from types import TracebackType
from typing import Self

from bumble.link import LocalLink

from sensors.ble.transport import register_local_link, unregister_local_link
from sensors.virtual.hci_server import HciTcpServer
from sensors.virtual.peripheral import VirtualSensor, VirtualSensorConfig
from sensors.virtual.source import BodyClock, MotionSource

logger = logging.getLogger(__name__)
_hub_ids = itertools.count(1)


class VirtualSensorHub:
    """Owns the link, the sensors, their shared body clock and the optional HCI TCP server.
    Use as ``async with``.

    ``body_clock``: the motion timeline of the body wearing the sensors; by default a new one
    that starts at the first start command any of the sensors receives (call
    ``hub.body_clock.start()`` to start the drill earlier, e.g. at hub start)."""

    def __init__(self, link_name: str | None = None, *, body_clock: BodyClock | None = None) -> None:
        self.link_name = link_name or f"hub{next(_hub_ids)}"
        self.link = LocalLink()
        self.body_clock = body_clock if body_clock is not None else BodyClock()
        self.sensors: dict[str, VirtualSensor] = {}
        self.hci_server: HciTcpServer | None = None
        self._started = False

    @property
    def transport(self) -> str:
        """Transport spec for a central in this process."""
        return f"local:{self.link_name}"

    @property
    def tcp_transport(self) -> str:
        """Transport spec for a central in another process (after `serve_hci_tcp`)."""
        if self.hci_server is None:
            raise RuntimeError(f"hub {self.link_name}: serve_hci_tcp() was not called")
        return self.hci_server.transport_spec

    def add_sensor(self, config: VirtualSensorConfig, source: MotionSource) -> VirtualSensor:
        if config.name in self.sensors:
            raise ValueError(f"hub {self.link_name}: a sensor named {config.name!r} already exists")
        sensor = VirtualSensor(config, source, self.link, body_clock=self.body_clock)
        self.sensors[config.name] = sensor
        return sensor

    def restart_motion(self, sources: dict[str, MotionSource]) -> None:
        """The body does something new from the next start on: each named sensor gets its new
        source (keys: sensor names or roles ``thigh``/``pelvis`` matched against the names) and the
        shared body clock restarts, so thigh and pelvis begin the new motion together."""
        chosen = {}
        for name in self.sensors:
            source = sources.get(name)
            if source is None:
                source = next((src for role, src in sources.items() if f"-{role}-" in name), None)
            if source is None:
                raise KeyError(f"hub {self.link_name}: no new motion for sensor {name!r}")
            chosen[name] = source
        for name, source in chosen.items():  # all or nothing: one body does one thing
            self.sensors[name].source = source
        self.body_clock.restart()

    async def start(self) -> None:
        register_local_link(self.link_name, self.link)
        for sensor in self.sensors.values():
            await sensor.power_on()
        self._started = True

    async def add_and_start(self, config: VirtualSensorConfig, source: MotionSource) -> VirtualSensor:
        sensor = self.add_sensor(config, source)
        if self._started:
            await sensor.power_on()
        return sensor

    async def serve_hci_tcp(self, host: str = "127.0.0.1", port: int = 0, *, report_cancelled_connect: bool = True) -> str:
        """Put one more controller on the link behind an HCI TCP server; returns its client spec.
        ``report_cancelled_connect=False`` mimics bumble's stock controller (see HciTcpServer)."""
        if self.hci_server is None:
            self.hci_server = HciTcpServer(
                self.link, name=f"{self.link_name}-hci", report_cancelled_connect=report_cancelled_connect
            )
            await self.hci_server.start(host, port)
        return self.hci_server.transport_spec

    async def stop(self) -> None:
        for sensor in self.sensors.values():
            await sensor.power_off()
        if self.hci_server is not None:
            await self.hci_server.close()
            self.hci_server = None
        unregister_local_link(self.link_name, self.link)
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
