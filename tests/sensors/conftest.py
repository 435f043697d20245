"""Virtual sensors for the BLE tests: a hub with thigh + pelvis on an in-process link, and small
helpers to find, connect and start a sensor through bleak's own API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from sensors.ble import NotificationCollector, backend_options
from sensors.codec import ControlCommand, encode_control
from sensors.profiles import Profile, get_profile
from sensors.virtual import (
    MotionSource,
    VirtualSensorConfig,
    VirtualSensorHub,
    sensor_name,
)

PROFILE: Profile = get_profile("rehab_imu_v1")
SENSORS = ("thigh", "pelvis")


@pytest.fixture
async def hub() -> AsyncIterator[VirtualSensorHub]:
    """thigh + pelvis, seeded motion, different clock offsets and drifts."""
    async with VirtualSensorHub() as h:
        for i, s in enumerate(SENSORS):
            await h.add_and_start(
                VirtualSensorConfig(
                    name=sensor_name(PROFILE.name, s, "0001"),
                    clock_offset_us=5_000_000 + 777_777 * i,
                    clock_drift_ppm=(40.0, -25.0)[i],
                ),
                MotionSource.synthetic(s, seed=10 + i),
            )
        yield h


@dataclass
class Link:
    """One connected sensor as the recorder would hold it."""

    name: str
    client: BleakClient
    collector: NotificationCollector
    disconnects: list[float]


async def connect(transport: str, name: str, *, mtu: int = 247, subscribe: bool = True) -> Link:
    opts = backend_options(transport)
    device = await BleakScanner.find_device_by_name(name, timeout=5.0, **opts.scanner)
    assert device is not None, f"{name} not found advertising on {transport}"
    disconnects: list[float] = []
    client = BleakClient(
        device,
        disconnected_callback=lambda _c: disconnects.append(1.0),
        timeout=5.0,
        bumble_mtu=mtu,
        **opts.client,
    )
    await client.connect()
    collector = NotificationCollector(sensor=name)
    if subscribe:
        await client.start_notify(PROFILE.data_char_uuid, collector.on_notify)
    return Link(name, client, collector, disconnects)


async def start(link: Link, rate_hz: float = 100.0) -> None:
    await link.client.write_gatt_char(
        PROFILE.control_char_uuid, encode_control(PROFILE, ControlCommand("start", rate_hz=rate_hz)), response=True
    )


async def stop(link: Link) -> None:
    await link.client.write_gatt_char(PROFILE.control_char_uuid, encode_control(PROFILE, ControlCommand("stop")), response=True)


def half_lsb(profile: Profile) -> tuple[float, float]:
    """Half a quantisation step at the default ranges (acc m/s², gyr rad/s)."""
    acc = profile.default_accel_range_g * 9.80665 / 32768 / 2
    gyr = np.deg2rad(profile.default_gyro_range_dps) / 32768 / 2
    return acc * (1 + 1e-9), gyr * (1 + 1e-9)


@pytest.fixture
def ble():
    """The helpers above, for test modules (importlib mode keeps conftest un-importable)."""

    class Helpers:
        PROFILE = PROFILE
        SENSORS = SENSORS
        connect = staticmethod(connect)
        start = staticmethod(start)
        stop = staticmethod(stop)
        half_lsb = staticmethod(half_lsb)

    return Helpers
