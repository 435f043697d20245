"""What is advertising: scan through bleak (either backend), classify by profile, read battery.

Used by ``rehab sensors scan``; works the same on the OS backend and on virtual sensors.
"""

from __future__ import annotations

import dataclasses
import logging

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from sensors.ble import backend_options
from sensors.profiles import Profile, profile_for_service_uuid

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ScanResult:
    """One advertiser. ``profile`` None: not a sensor we support; ``battery_percent`` None:
    not read (no battery characteristic, or the connection failed — see ``error``)."""

    name: str | None
    address: str
    rssi_dbm: int
    profile: str | None
    battery_percent: int | None = None
    error: str | None = None


def _profile_of(service_uuids: list[str]) -> Profile | None:
    for uuid in service_uuids:
        profile = profile_for_service_uuid(uuid)
        if profile is not None:
            return profile
    return None


async def scan_sensors(
    transport: str | None = None, *, timeout_s: float = 3.0, read_battery: bool = True, connect_timeout_s: float = 10.0
) -> list[ScanResult]:
    """Scan for TIMEOUT_S and, for each supported sensor, connect and read its battery level."""
    opts = backend_options(transport)
    found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **opts.scanner)
    results: list[ScanResult] = []
    for device, adv in sorted(found.values(), key=lambda item: (item[1].local_name or "", item[0].address)):
        profile = _profile_of(adv.service_uuids)
        battery: int | None = None
        error: str | None = None
        if read_battery and profile is not None and profile.battery_level_char_uuid:
            try:
                async with BleakClient(device, timeout=connect_timeout_s, **opts.client) as client:
                    value = await client.read_gatt_char(profile.battery_level_char_uuid)
                    battery = int(value[0]) if value else None
            except (BleakError, TimeoutError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                logger.info("battery read from %s failed: %s", device.address, error)
        results.append(
            ScanResult(
                name=adv.local_name or device.name,
                address=device.address,
                rssi_dbm=adv.rssi,
                profile=profile.name if profile else None,
                battery_percent=battery,
                error=error,
            )
        )
    return results
