"""The bumble backend behind bleak's API: backend selection, scan filters, MTU, descriptors,
notify on/off, errors — against real virtual peripherals, no mocks."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from sensors.ble import TRANSPORT_ENV_VAR, BumbleClient, BumbleScanner, backend_options, parse_transport
from sensors.codec import ControlCommand, decode_packets, encode_control
from sensors.errors import SensorConnectionError
from sensors.specs import get_profile
from sensors.virtual import MotionSource, VirtualSensorConfig, VirtualSensorHub, sensor_name

CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"


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
    with pytest.raises(TimeoutError, match="C1:22:33:44:55:66"):
        await client.connect()
    assert not client.is_connected


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
