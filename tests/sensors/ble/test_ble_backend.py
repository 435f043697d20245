"""The bumble backend behind bleak's API: backend selection, scan filters, MTU, descriptors,
notify on/off, errors — against real virtual peripherals, no mocks."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from sensors.ble import (
    TRANSPORT_ENV_VAR,
    BumbleClient,
    BumbleScanner,
    backend_options,
    parse_transport,
)
from sensors.ble.central import CONNECT_CANCEL_GRACE_S
from sensors.codec import ControlCommand, decode_packets, encode_control
from sensors.errors import SensorConnectionError
from sensors.profiles import get_profile
from sensors.virtual import (
    MotionSource,
    VirtualSensorConfig,
    VirtualSensorHub,
    sensor_name,
)
from sensors.virtual.hci_server import HciTcpServer

CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"
#: Allowed lateness of a connect timeout (event-loop scheduling on a loaded machine).
TIMEOUT_MARGIN_S = 0.4


def test_backend_options_select_os_or_bumble(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRANSPORT_ENV_VAR, raising=False)
    os_opts = backend_options()
    assert (os_opts.scanner, os_opts.client, os_opts.is_virtual) == ({}, {}, False)
    monkeypatch.setenv(TRANSPORT_ENV_VAR, "tcp-client:127.0.0.1:4242")
    env_opts = backend_options()
    assert env_opts.scanner == {"backend": BumbleScanner, "bumble_transport": "tcp-client:127.0.0.1:4242"}
    assert env_opts.client == {"backend": BumbleClient, "bumble_transport": "tcp-client:127.0.0.1:4242"}
    assert backend_options("local:abc").client["bumble_transport"] == "local:abc"  # argument beats env
    with pytest.raises(ValueError, match="tcp-client:HOST:PORT"):
        backend_options("tcp-client:nohost")
    assert parse_transport("local").argument == "default"


async def test_scan_filters_by_service_uuid_and_reports_advertising_data(hub: VirtualSensorHub, ble) -> None:
    opts = backend_options(hub.transport)
    ours = await BleakScanner.discover(
        timeout=0.5, return_adv=True, service_uuids=[ble.PROFILE.service_uuid], **opts.scanner
    )
    names = sorted(adv.local_name for _d, adv in ours.values())
    assert names == sorted(hub.sensors)
    for device, adv in ours.values():
        assert adv.service_uuids == [ble.PROFILE.service_uuid]
        assert -100 <= adv.rssi <= 0
        assert device.address == hub.sensors[adv.local_name].address.to_string(False)
    other = await BleakScanner.discover(timeout=0.3, service_uuids=["0000feed-0000-1000-8000-00805f9b34fb"], **opts.scanner)
    assert other == []


async def test_small_mtu_means_one_sample_per_notification(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    link = await ble.connect(hub.transport, name, mtu=23)
    assert link.client.mtu_size == 23
    data_char = link.client.services.get_characteristic(ble.PROFILE.data_char_uuid)
    assert data_char is not None and data_char.max_write_without_response_size == 20
    await ble.start(link)
    await asyncio.sleep(0.25)
    await ble.stop(link)
    await asyncio.sleep(0.05)
    assert {len(p) for p in link.collector.payloads} == {ble.PROFILE.header_size + ble.PROFILE.sample_size}
    batch = decode_packets(ble.PROFILE, link.collector.payloads)
    assert len(batch) == len(link.collector.payloads) >= 20
    await link.client.disconnect()


async def test_cccd_descriptor_and_stop_notify(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    link = await ble.connect(hub.transport, name)
    char = link.client.services.get_characteristic(ble.PROFILE.data_char_uuid)
    cccd = char.get_descriptor(CCCD_UUID)
    assert cccd is not None
    assert bytes(await link.client.read_gatt_descriptor(cccd.handle)) == b"\x01\x00"  # notify on
    await ble.start(link)
    await asyncio.sleep(0.4)
    await link.client.stop_notify(ble.PROFILE.data_char_uuid)
    assert bytes(await link.client.read_gatt_descriptor(cccd.handle)) == b"\x00\x00"
    n = link.collector.count
    await asyncio.sleep(0.4)
    assert n >= 1 and link.collector.count == n  # sensor still streams, nobody listens
    assert hub.sensors[name].streaming
    await link.client.disconnect()


async def test_connect_to_absent_address_times_out(hub: VirtualSensorHub) -> None:
    client = BleakClient("C1:22:33:44:55:66", timeout=0.5, **backend_options(hub.transport).client)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="C1:22:33:44:55:66"):
        await asyncio.wait_for(client.connect(), 10)  # a hang fails the match, not the run
    assert 0.49 <= time.monotonic() - t0 < 0.5 + TIMEOUT_MARGIN_S
    assert not client.is_connected
    # bleak's per-call form, connect(timeout=...), is honoured too
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match=r"C1:22:33:44:55:66: no connection within 0\.2 s"):
        await asyncio.wait_for(client.connect(timeout=0.2), 10)
    assert 0.19 <= time.monotonic() - t0 < 0.2 + TIMEOUT_MARGIN_S


@pytest.mark.parametrize("reports_cancel", [True, False], ids=["virtual-controller", "stock-bumble-controller"])
async def test_connect_to_absent_address_over_tcp_is_bounded(hub: VirtualSensorHub, ble, reports_cancel: bool) -> None:
    """A remote controller that never reports the cancelled attempt (bumble's stock one) still
    yields a TimeoutError naming the address, within timeout + CONNECT_CANCEL_GRACE_S."""
    server = HciTcpServer(hub.link, report_cancelled_connect=reports_cancel)
    await server.start()
    try:
        transport = server.transport_spec
        opts = backend_options(transport)
        bound_s = 0.5 + (0.0 if reports_cancel else CONNECT_CANCEL_GRACE_S) + TIMEOUT_MARGIN_S
        client = BleakClient("C1:22:33:44:55:66", timeout=0.5, **opts.client)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="C1:22:33:44:55:66: no connection within 0.5 s over 'tcp-client:"):
            await asyncio.wait_for(client.connect(), 10)
        assert 0.49 <= time.monotonic() - t0 < bound_s
        assert not client.is_connected
        # the transport was released, so a present sensor connects over it afterwards
        link = await ble.connect(transport, next(iter(hub.sensors)), subscribe=False)
        assert link.client.is_connected
        if not reports_cancel:
            # While that connection keeps the central (and its controller) open, an attempt the
            # stock controller never cancelled stays pending there: later connects get a clear
            # error, not a hang, and when its sensor does show up the late connection is dropped.
            late = hub.add_sensor(VirtualSensorConfig(name="RehabIMU-late-0001"), MotionSource.synthetic("l", seed=4))
            late_address = late.address.to_string(False)
            ghost = BleakClient(late_address, timeout=0.5, **opts.client)
            with pytest.raises(TimeoutError, match="may still be pending"):
                await asyncio.wait_for(ghost.connect(), 10)
            pelvis = hub.sensors[list(hub.sensors)[1]]
            other = BleakClient(pelvis.address.to_string(False), timeout=0.5, **opts.client)
            with pytest.raises(BleakError, match=f"earlier attempt to {late_address}.* never reported cancelled"):
                await asyncio.wait_for(other.connect(), 10)
            seen: list[object] = []
            late.device.on("connection", seen.append)
            await late.power_on()  # the stale attempt completes ... and the central drops it
            for _ in range(100):
                if seen and not late.device.connections:
                    break
                await asyncio.sleep(0.02)
            assert len(seen) == 1 and not late.device.connections
            await asyncio.wait_for(other.connect(), 10)  # the controller is free again
            assert other.is_connected
            await other.disconnect()
        await link.client.disconnect()
    finally:
        await server.close()


async def test_unknown_local_link_is_a_connection_error() -> None:
    with pytest.raises(SensorConnectionError, match="no in-process BLE link named 'nowhere'"):
        await BleakScanner.discover(timeout=0.1, **backend_options("local:nowhere").scanner)


@pytest.mark.parametrize("profile_name", ["movella_dot", "witmotion_wt901ble"])
async def test_other_profiles_stream_decodable_packets(profile_name: str) -> None:
    profile = get_profile(profile_name)
    async with VirtualSensorHub() as h:
        name = sensor_name(profile.name, "thigh", "0002")
        await h.add_and_start(VirtualSensorConfig(name=name, profile=profile.name), MotionSource.synthetic("t", seed=3))
        opts = backend_options(h.transport)
        device = await BleakScanner.find_device_by_name(name, timeout=5.0, **opts.scanner)
        assert device is not None
        packets: list[bytes] = []
        async with BleakClient(device, **opts.client) as client:
            await client.start_notify(profile.data_char_uuid, lambda _c, d: packets.append(bytes(d)))
            if profile.control.get("kind") == "movella_dot":  # WitMotion streams on subscribe
                await client.write_gatt_char(
                    profile.control_char_uuid, encode_control(profile, ControlCommand("start")), response=True
                )
            await asyncio.sleep(0.4)
            if profile.battery_level_char_uuid:
                assert (await client.read_gatt_char(profile.battery_level_char_uuid))[0] == 87
        sensor = h.sensors[name]
        # WitMotion streams until the link is gone: one packet may leave as the central does.
        sent = sensor.sent[: len(packets)]
        assert len(packets) >= 10 and len(sensor.sent) - len(packets) <= 1
        assert packets == [p.data for p in sent]
        batch = decode_packets(profile, packets, host_time_us=np.arange(len(packets)) * 10_000)
        sent_acc = np.concatenate([p.acc_m_s2 for p in sent])
        assert np.max(np.abs(batch.acc_m_s2 - sent_acc)) < 0.01
