"""`BumbleScanner`: bleak's scanner interface over a bumble host (virtual sensors, HCI over TCP)."""

from __future__ import annotations

from typing import Any, Literal

from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner
from bumble.device import Advertisement

from sensors.ble._mapping import advertisement_data
from sensors.ble.central import BumbleCentral, acquire_central, release_central
from sensors.ble.transport import transport_from_env


class BumbleScanner(BaseBleakScanner):
    """Pass as ``BleakScanner(backend=BumbleScanner, bumble_transport="local")``.

    ``bumble_transport`` is a transport spec (see `sensors.ble.transport`); if omitted,
    $REHAB_BLE_TRANSPORT is used, and ``local`` if that is unset too. Other bleak kwargs
    (``bluez``, ``cb``) are accepted and ignored.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bumble_transport: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._transport = bumble_transport or transport_from_env() or "local"
        self._active = scanning_mode == "active"
        self._central: BumbleCentral | None = None
        self._token: object | None = None

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = str(adv.address).removesuffix("/P")
        details = {"bumble_address": adv.address, "bumble_transport": self._transport}
        device = self.create_or_update_device(address, address, data.local_name, details, data)
        self.call_detection_callbacks(device, data)

    async def start(self) -> None:
        self.seen_devices = {}
        if self._central is None:
            self._central = await acquire_central(self._transport)
        self._token = await self._central.add_scan_listener(self._on_advertisement, active=self._active)

    async def stop(self) -> None:
        central, self._central = self._central, None
        if central is None:
            return
        if self._token is not None:
            await central.remove_scan_listener(self._token)
            self._token = None
        await release_central(central)
