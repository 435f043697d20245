"""One bumble host per transport, shared by every scanner and client in this event loop.

A real adapter is one radio that scans and holds several connections at once; the bumble
backend mirrors that: `BumbleScanner` and each `BumbleClient` borrow the same `BumbleCentral`
(reference counted), so two sensors can be scanned for and connected over one HCI transport.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import weakref
from collections.abc import Callable
from typing import Any, Final

from bumble import hci
from bumble.device import Advertisement, Connection, Device
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, Transport

from sensors.ble.transport import (
    TransportSpec,
    VirtualController,
    VirtualHost,
    find_local_link,
    parse_transport,
    random_static_address,
)
from sensors.errors import SensorConnectionError

logger = logging.getLogger(__name__)

#: How long, past the connect timeout, the host waits for the controller to report the cancelled
#: connection attempt (LE Connection Complete after LE Create Connection Cancel). A conforming
#: controller answers within a round trip; bumble's stock virtual controller never does.
CONNECT_CANCEL_GRACE_S: Final = 0.5

#: Advertisement listeners get every report; they filter themselves.
AdvertisementListener = Callable[[Advertisement], None]

# Per event loop (weakly held: pytest and asyncio.run make and drop loops): open centrals by
# transport spec, and the lock that serialises opening/closing them.
_CENTRALS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, BumbleCentral]] = weakref.WeakKeyDictionary()
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
_counter = itertools.count(1)
_stray_tasks: set[asyncio.Task[None]] = set()
#: Bound on an orderly disconnect (the controller's Disconnection Complete).
DISCONNECT_TIMEOUT_S: Final = 2.0


class BumbleCentral:
    """A powered-on bumble `Device` in the central role on one transport."""

    def __init__(self, spec: TransportSpec) -> None:
        self.spec = spec
        self.device: Device | None = None
        self._controller: VirtualController | None = None
        self._transport: Transport | None = None
        self._users = 0
        self._scan_users = 0
        self._listeners: dict[object, AdvertisementListener] = {}
        self._connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._connecting: Any = None  # the address a connect() is waiting for
        #: Address of a connection attempt the controller never reported cancelled (it may still
        #: be pending there, and may connect later); None when every attempt ended cleanly.
        self.uncancelled_attempt: Any = None

    async def open(self) -> None:
        index = next(_counter)
        rng = random.Random(f"{os.getpid()}-{index}")
        address = random_static_address(rng)
        if self.spec.is_local:
            try:
                link = find_local_link(self.spec.argument)
            except LookupError as exc:
                raise SensorConnectionError(str(exc)) from exc
            controller = VirtualController(f"central-{index}", link=link)
            self._controller = controller
            host = VirtualHost(controller, AsyncPipeSink(controller))
        else:
            try:
                self._transport = await open_transport(self.spec.text)
            except (OSError, ValueError) as exc:
                raise SensorConnectionError(f"cannot open BLE transport {self.spec.text!r}: {exc}") from exc
            host = VirtualHost(self._transport.source, self._transport.sink)
        device = Device(name=f"rehab-central-{index}", address=address, host=host)
        device.on("advertisement", self._on_advertisement)
        device.on("connection", self._on_connection)
        try:
            await device.power_on()
        except BaseException:
            await self.close()
            raise
        self.device = device

    async def close(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            for connection in list(device.connections.values()):
                try:
                    await connection.disconnect()
                except Exception as exc:
                    logger.debug("disconnect of %s during close failed: %s", connection.peer_address, exc)
            if device.scanning:
                await device.stop_scanning()
            await device.power_off()
        if self._controller is not None:
            self._controller.link.remove_controller(self._controller)
            self._controller = None
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    # --- scanning -------------------------------------------------------------------------
    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for listener in list(self._listeners.values()):
            listener(advertisement)

    async def add_scan_listener(self, listener: AdvertisementListener, *, active: bool) -> object:
        token = object()
        self._listeners[token] = listener
        async with self._scan_lock:
            self._scan_users += 1
            if self._scan_users == 1:
                assert self.device is not None
                await self.device.start_scanning(active=active, filter_duplicates=False)
        return token

    async def remove_scan_listener(self, token: object) -> None:
        if self._listeners.pop(token, None) is None:
            return
        async with self._scan_lock:
            self._scan_users -= 1
            if self._scan_users == 0 and self.device is not None and self.device.scanning:
                await self.device.stop_scanning()

    # --- connections ----------------------------------------------------------------------
    async def connect(self, address: Any, deadline_s: float) -> Connection:
        """Connect to ADDRESS, giving up at DEADLINE_S (event-loop time); connections are made
        one at a time, as the controller allows.

        At the deadline bumble cancels the attempt and waits for the controller to report it;
        a controller that never reports it (bumble's stock one) leaves that wait hanging, so
        callers bound the whole call (deadline + `CONNECT_CANCEL_GRACE_S`). An attempt
        abandoned that way is remembered in `uncancelled_attempt`, and a connection it yields
        later, which nobody waits for, is dropped at once (`_on_connection`)."""
        assert self.device is not None
        loop = asyncio.get_running_loop()
        async with self._connect_lock:
            timeout_s = deadline_s - loop.time()
            if timeout_s <= 0:
                raise TimeoutError(f"no time left to connect to {address} over {self.spec.text!r}")
            self._connecting = address
            try:
                connection = await self.device.connect(address, timeout=timeout_s)
            except asyncio.CancelledError:
                if loop.time() >= deadline_s:  # cut off while waiting for the cancel's report
                    self.uncancelled_attempt = address
                raise
            finally:
                self._connecting = None
                if self.uncancelled_attempt is not None:
                    # bumble builds a central-role connection only while it knows the own
                    # address type of the attempt (else it asserts): keep it for the stale one.
                    self.device.connect_own_address_type = hci.OwnAddressType.RANDOM
            if self.uncancelled_attempt is not None and connection.peer_address == self.uncancelled_attempt:
                self.uncancelled_attempt = None
            return connection

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.CENTRAL or self._connecting is not None:
            return
        # Nobody is connecting: the late outcome of an attempt whose cancel the controller
        # never reported. A real stack would not hand it to anyone either; drop it.
        logger.warning(
            "%s: dropping connection to %s that no connect() waits for (a connection attempt the "
            "controller never reported cancelled)",
            self.spec.text,
            connection.peer_address,
        )
        if connection.peer_address == self.uncancelled_attempt:
            self.uncancelled_attempt = None
            if self.device is not None:
                self.device.connect_own_address_type = None
        task = asyncio.get_running_loop().create_task(self._drop_stray(connection))
        _stray_tasks.add(task)
        task.add_done_callback(_stray_tasks.discard)

    async def _drop_stray(self, connection: Connection) -> None:
        try:
            await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT_S)
        except (TimeoutError, Exception) as exc:
            logger.debug("%s: dropping stray connection failed: %s", self.spec.text, exc)


def _registry() -> tuple[asyncio.Lock, dict[str, BumbleCentral]]:
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock, _CENTRALS.setdefault(loop, {})


async def acquire_central(transport: str) -> BumbleCentral:
    """The shared central for TRANSPORT in the running loop (opened on first use)."""
    spec = parse_transport(transport)
    lock, centrals = _registry()
    async with lock:
        central = centrals.get(spec.text)
        if central is None or central.device is None:
            central = BumbleCentral(spec)
            await central.open()
            centrals[spec.text] = central
        central._users += 1
        return central


async def release_central(central: BumbleCentral) -> None:
    """Give back a central; the last user closes it (and its transport)."""
    lock, centrals = _registry()
    async with lock:
        central._users -= 1
        if central._users > 0:
            return
        if centrals.get(central.spec.text) is central:
            del centrals[central.spec.text]
        await central.close()
