"""Faults injected on the virtual sensor, observed only through bleak and the codec."""

from __future__ import annotations

import asyncio

import pytest
from bleak.exc import BleakGATTProtocolError

from sensors.codec import ControlCommand, StreamChecker, decode_packet, encode_control
from sensors.virtual import VirtualSensorHub

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


def _checker(ble, link) -> StreamChecker:
    checker = StreamChecker(ble.PROFILE, sensor=link.name)
    for data in link.collector.payloads:
        checker.feed(data)
    return checker


async def test_link_drop_fires_disconnected_callback_and_sensor_readvertises(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    link = await ble.connect(hub.transport, name)
    await ble.start(link)
    await asyncio.sleep(0.3)
    assert await hub.sensors[name].drop_link() == 1
    await asyncio.sleep(0.05)
    assert link.disconnects == [1.0]
    assert not link.client.is_connected
    assert not hub.sensors[name].streaming  # firmware stops streaming when its central leaves
    again = await ble.connect(hub.transport, name)  # advertising again: a reconnect works
    assert again.client.is_connected
    await again.client.disconnect()


async def test_reboot_resets_sequence_and_clock_and_is_detected(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    sensor = hub.sensors[name]
    link = await ble.connect(hub.transport, name, mtu=23)  # one sample per packet: many packets
    await ble.start(link)
    await asyncio.sleep(0.5)
    await sensor.reboot(downtime_s=0.1)
    before = len(link.collector.payloads)
    await asyncio.sleep(0.05)
    assert link.disconnects and not link.client.is_connected
    link2 = await ble.connect(hub.transport, name, mtu=23)
    await ble.start(link2)
    await asyncio.sleep(0.3)
    await ble.stop(link2)
    await asyncio.sleep(0.05)
    checker = StreamChecker(ble.PROFILE, sensor=name)
    events = [checker.feed(d) for d in link.collector.payloads + link2.collector.payloads]
    assert checker.stats.resets == 1
    reset_at = [i for i, e in enumerate(events) if e is not None and "reset" in e.events]
    assert reset_at == [before]
    first_after = decode_packet(ble.PROFILE, link2.collector.payloads[0])
    assert first_after.seq == 0
    assert first_after.sensor_time_us < 1_000_000  # clock restarted at boot (< 1 s ago)
    assert checker.stats.gaps == 0 and checker.stats.malformed == 0
    await link2.client.disconnect()


async def test_malformed_packets_are_counted_and_skipped(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    sensor = hub.sensors[name]
    link = await ble.connect(hub.transport, name, mtu=23)
    await ble.start(link)
    await asyncio.sleep(0.1)
    for kind in ("truncate", "bad_header", "pad"):
        sensor.send_malformed(1, kind)
    await asyncio.sleep(0.3)
    await ble.stop(link)
    await asyncio.sleep(0.05)
    checker = _checker(ble, link)
    assert sensor.counters.malformed_sent == 3
    assert checker.stats.malformed == 3
    good = [p for p in sensor.sent if p.kind == "data"]
    assert checker.stats.packets == len(good)
    # Each malformed packet replaced a real one (three in a row), so the sequence skips 3 there.
    assert (checker.stats.gaps, checker.stats.missing_packets) == (1, 3)
    await link.client.disconnect()


async def test_duplicates_and_silence_are_seen_by_the_checker(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    sensor = hub.sensors[name]
    link = await ble.connect(hub.transport, name, mtu=23)
    await ble.start(link)
    await asyncio.sleep(0.1)
    sensor.send_duplicates(2)
    await asyncio.sleep(0.1)
    sensor.go_silent(0.25)
    await asyncio.sleep(0.5)
    await ble.stop(link)
    await asyncio.sleep(0.05)
    checker = _checker(ble, link)
    assert sensor.counters.duplicates_sent == 2
    assert checker.stats.duplicates == 2
    lost = sensor.counters.packets_lost_silent
    assert 20 <= lost <= 30  # 0.25 s at 100 Hz, one sample per packet
    assert checker.stats.gaps == 1
    assert checker.stats.missing_packets == lost
    assert checker.stats.missing_samples == lost
    await link.client.disconnect()


async def test_low_battery_is_readable_and_notified(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    link = await ble.connect(hub.transport, name, subscribe=False)
    assert (await link.client.read_gatt_char(BATTERY_LEVEL_UUID))[0] == hub.sensors[name].config.battery_percent
    levels: list[int] = []
    await link.client.start_notify(BATTERY_LEVEL_UUID, lambda _c, data: levels.append(data[0]))
    await hub.sensors[name].set_battery(4)
    await asyncio.sleep(0.05)
    assert levels == [4]
    assert (await link.client.read_gatt_char(BATTERY_LEVEL_UUID))[0] == 4
    await link.client.disconnect()


async def test_control_follows_the_spec(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    sensor = hub.sensors[name]
    link = await ble.connect(hub.transport, name)
    p = ble.PROFILE
    status = await link.client.read_gatt_char(p.control_char_uuid)
    assert status[0] == 0  # read: 0 = stopped
    await link.client.write_gatt_char(
        p.control_char_uuid, encode_control(p, ControlCommand("start", rate_hz=50, accel_range_g=4)), response=True
    )
    assert (await link.client.read_gatt_char(p.control_char_uuid))[0] == 1  # 1 = streaming
    await asyncio.sleep(0.5)
    packet = decode_packet(p, link.collector.payloads[0])
    assert (packet.rate_hz, packet.accel_range_g) == (50.0, 4.0)
    # configure while streaming: the new rate applies at once and the sequence continues
    await link.client.write_gatt_char(
        p.control_char_uuid, encode_control(p, ControlCommand("configure", rate_hz=200)), response=True
    )
    n_before = len(link.collector.payloads)
    await asyncio.sleep(0.3)
    later = [decode_packet(p, d) for d in link.collector.payloads[n_before:]]
    assert later and all(pk.rate_hz == 200.0 for pk in later)
    assert later[0].seq == decode_packet(p, link.collector.payloads[n_before - 1]).seq + 1
    # bytes the spec forbids are refused with an ATT error, and change nothing
    with pytest.raises(BleakGATTProtocolError):
        await link.client.write_gatt_char(p.control_char_uuid, bytes([9, 0, 0, 0]), response=True)
    with pytest.raises(BleakGATTProtocolError):
        await link.client.write_gatt_char(p.control_char_uuid, bytes([1, 2]), response=True)
    assert sensor.streaming and sensor.settings.rate_hz == 200.0
    await ble.stop(link)
    assert not sensor.streaming
    await link.client.disconnect()


async def test_link_lost_during_a_read_raises_bleak_error(hub: VirtualSensorHub, ble) -> None:
    from bleak.exc import BleakError

    name = next(iter(hub.sensors))
    link = await ble.connect(hub.transport, name, subscribe=False)
    read = asyncio.create_task(link.client.read_gatt_char(BATTERY_LEVEL_UUID))
    await asyncio.sleep(0)  # request on its way
    await hub.sensors[name].drop_link()
    with pytest.raises(BleakError, match="disconnected during read"):
        await asyncio.wait_for(read, 5)
    assert link.disconnects == [1.0]


async def test_clock_model_offset_drift_and_reboot(hub: VirtualSensorHub) -> None:
    import time

    thigh, pelvis = hub.sensors.values()
    now = time.monotonic()
    for sensor in (thigh, pelvis):
        clock = sensor.clock
        assert clock.offset_us == sensor.config.clock_offset_us
        assert clock.drift_ppm == sensor.config.clock_drift_ppm
        assert sensor.sensor_clock_us(now) == clock.reading_us(now)
    # +40 ppm runs 40 µs per second fast against a perfect clock
    one_s = thigh.clock.reading_us(now + 1.0) - thigh.clock.reading_us(now)
    assert one_s == 1_000_040
    await thigh.reboot(downtime_s=0.0)
    assert thigh.clock.offset_us == 0 and thigh.sensor_clock_us() < 100_000
