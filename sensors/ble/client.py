"""`BumbleClient`: bleak's client interface over a bumble host.

Connect, discover (services → characteristics → descriptors mapped into bleak's collection),
read, write with/without response, notify, MTU exchange and the disconnected callback. The
disconnected callback fires on every disconnection, as bleak's BlueZ backend does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Final, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import core as bumble_core
from bumble import hci
from bumble.att import ATT_Error
from bumble.core import BaseBumbleError
from bumble.device import Connection, Peer

from sensors.ble._mapping import service_collection
from sensors.ble.central import (
    CONNECT_CANCEL_GRACE_S,
    DISCONNECT_TIMEOUT_S,
    BumbleCentral,
    acquire_central,
    release_central,
)
from sensors.ble.transport import transport_from_env

logger = logging.getLogger(__name__)

#: ATT MTU the client asks for after connecting (the peripheral may grant less).
DEFAULT_REQUESTED_MTU: Final = 247

_background: set[asyncio.Task[None]] = set()
T = TypeVar("T")


class BumbleClient(BaseBleakClient):
    """Pass as ``BleakClient(device, backend=BumbleClient, bumble_transport=...)``.

    Keyword args: ``bumble_transport`` (transport spec; default: the one the scanner used for
    this BLEDevice, else $REHAB_BLE_TRANSPORT, else ``local``) and ``bumble_mtu`` (ATT MTU to
    request, default 247).
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        bumble_transport: str | None = None,
        bumble_mtu: int = DEFAULT_REQUESTED_MTU,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("services", None)
        kwargs.pop("bluez", None)
        kwargs.pop("winrt", None)
        super().__init__(address_or_ble_device, **kwargs)
        details: dict[str, Any] = {}
        name = None
        if isinstance(address_or_ble_device, BLEDevice):
            name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, dict):
                details = address_or_ble_device.details
        self._name = name or self.address.replace(":", "-")
        self._peer_address = details.get("bumble_address") or hci.Address(self.address)
        self._transport = (
            bumble_transport or details.get("bumble_transport") or transport_from_env() or "local"
        )
        self._requested_mtu = bumble_mtu
        self._central: BumbleCentral | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscriptions: dict[int, Any] = {}

    # --- properties -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        if self._connection is None:
            raise BleakError(f"{self.address}: not connected")
        return int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # --- connection -----------------------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect and discover services within bleak's ``timeout`` (the constructor's, or a
        ``timeout=`` passed to ``connect``), as bleak's BlueZ backend bounds both.

        Raises TimeoutError naming the address when no connection is made in time — within
        ``timeout`` + `CONNECT_CANCEL_GRACE_S` even when the controller never reports the
        cancelled attempt (bumble's stock controller) — and BleakError for other failures."""
        if self._connection is not None:
            return
        timeout_s = float(kwargs.get("timeout", self._timeout))
        loop = asyncio.get_running_loop()
        deadline_s = loop.time() + timeout_s
        try:
            async with asyncio.timeout_at(deadline_s + CONNECT_CANCEL_GRACE_S):
                await self._connect(deadline_s)
        except BaseException as exc:
            central = self._central
            uncancelled = central.uncancelled_attempt if central is not None else None
            await self._teardown(disconnect=True)
            where = f"{self.address}: over {self._transport!r}"
            if isinstance(exc, (TimeoutError, bumble_core.TimeoutError)):
                hint = ""
                if uncancelled is not None:
                    hint = (
                        f"; the controller did not report the cancelled attempt within "
                        f"{CONNECT_CANCEL_GRACE_S:.1f} s (bumble's stock controller never does), "
                        f"so it may still be pending there"
                    )
                raise TimeoutError(
                    f"{self.address}: no connection within {timeout_s:.1f} s over {self._transport!r}{hint}"
                ) from exc
            if isinstance(exc, hci.HCI_Error) and exc.error_code == hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR:
                hint = ""
                if uncancelled is not None:
                    hint = (
                        f" (the controller still holds the earlier attempt to {uncancelled} that it "
                        f"never reported cancelled; reopen the transport to clear it)"
                    )
                raise BleakError(f"{where}: the controller refused to connect{hint}: {exc}") from exc
            if isinstance(exc, (BaseBumbleError, hci.HCI_Error)):
                raise BleakError(f"{where}: connect failed: {exc}") from exc
            raise

    async def _connect(self, deadline_s: float) -> None:
        self._central = await acquire_central(self._transport)
        connection = await self._central.connect(self._peer_address, deadline_s=deadline_s)
        self._connection = connection
        connection.on("disconnection", self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        if self._requested_mtu > connection.att_mtu:
            await peer.request_mtu(self._requested_mtu)
        await peer.discover_services()
        for service in peer.services:
            await service.discover_characteristics()
            for characteristic in service.characteristics:
                await characteristic.discover_descriptors()
        self.services = service_collection(list(peer.services), lambda: self.mtu_size - 3)

    async def _teardown(self, *, disconnect: bool) -> None:
        connection, self._connection = self._connection, None
        self._peer = None
        self._subscriptions.clear()
        if disconnect and connection is not None:
            try:
                await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT_S)
            except (BaseBumbleError, hci.HCI_Error, TimeoutError) as exc:
                logger.debug("%s: disconnect failed: %s", self.address, exc)
        central, self._central = self._central, None
        if central is not None:
            await release_central(central)

    def _on_disconnection(self, reason: int) -> None:
        if self._connection is None:
            return
        logger.debug("%s: disconnected, reason 0x%02X", self.address, reason)
        self._connection = None
        self._peer = None
        self._subscriptions.clear()
        task = asyncio.get_running_loop().create_task(self._teardown(disconnect=False))
        _background.add(task)
        task.add_done_callback(_background.discard)
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self._connection is None:
            await self._teardown(disconnect=False)
            return
        await self._teardown(disconnect=True)
        if self._disconnected_callback is not None:  # bleak's BlueZ backend reports these too
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the virtual sensors need no pairing; BumbleClient does not pair")

    async def unpair(self) -> None:
        raise NotImplementedError("BumbleClient does not pair, so it cannot unpair")

    # --- I/O ------------------------------------------------------------------------------
    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"{self.address}: not connected")
        return self._peer

    async def _gatt(self, awaitable: Awaitable[T], what: str) -> T:
        """Run a GATT request; map ATT errors to bleak's, and a link lost mid-request (bumble
        cancels the pending request) to BleakError instead of a stray CancelledError."""
        try:
            return await awaitable
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._connection is None and task is not None and task.cancelling() == 0:
                raise BleakError(f"{self.address}: disconnected during {what}") from None
            raise

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._gatt(peer.read_value(characteristic.handle), f"read of {characteristic.uuid}"))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._gatt(peer.read_value(descriptor.handle), f"read of descriptor {descriptor.handle}"))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        await self._gatt(
            peer.write_value(characteristic.handle, bytes(data), with_response=response),
            f"write of {characteristic.uuid}",
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        await self._gatt(
            peer.write_value(descriptor.handle, bytes(data), with_response=True),
            f"write of descriptor {descriptor.handle}",
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require_peer()
        proxy = characteristic.obj

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        await self._gatt(proxy.subscribe(on_value, prefer_notify=True), f"subscribe to {characteristic.uuid}")
        self._subscriptions[characteristic.handle] = on_value

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_peer()
        subscriber = self._subscriptions.pop(characteristic.handle, None)
        if subscriber is None:
            return
        await self._gatt(characteristic.obj.unsubscribe(subscriber), f"unsubscribe from {characteristic.uuid}")
