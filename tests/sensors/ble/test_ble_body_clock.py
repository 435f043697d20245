"""The body keeps moving while the radio does not: the sensors of one hub sample their motion on
one body clock (started by the first start command), which runs through link drops, reboots and
rate changes; samples due while a sensor is not streaming are never sent, and each sensor's own
µs clock (offset, drift, reset at reboot) stays its own."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sensors.codec import ControlCommand, encode_control
from sensors.virtual import (
    BodyClock,
    MotionSource,
    SensorClock,
    SentPacket,
    VirtualSensor,
    VirtualSensorConfig,
    VirtualSensorHub,
    sensor_name,
)

#: Upper bound on how late a packet leaves after its last sample was due (loaded 2-core machine).
MAX_SEND_LAG_S = 0.5


def _data(sensor: VirtualSensor, start: int = 0, stop: int | None = None) -> list[SentPacket]:
    return [p for p in sensor.sent[start:stop] if p.kind == "data"]


def _check_packets(
    packets: list[SentPacket], source: MotionSource, body: BodyClock, clock: SensorClock, rate_hz: float
) -> None:
    """Each packet measures the body at the instants its samples were taken, and is stamped by
    the sensor's own clock at the first of them."""
    assert body.origin_monotonic_s is not None
    period_s = 1.0 / (rate_hz * (1.0 + clock.drift_ppm * 1e-6))
    for p in packets:
        t_s = p.motion_t0_s + np.arange(len(p.acc_m_s2)) * period_s
        acc, gyr = source.sample(t_s)
        np.testing.assert_array_equal(p.acc_m_s2, acc)
        np.testing.assert_array_equal(p.gyr_rad_s, gyr)
        taken_s = body.origin_monotonic_s + p.motion_t0_s
        assert abs(p.t0_us - clock.reading_us(taken_s)) <= 1
        lag_s = p.host_time_s - (body.origin_monotonic_s + t_s[-1])
        assert -1e-3 <= lag_s < MAX_SEND_LAG_S, lag_s


async def test_hub_sensors_share_one_body_clock_through_drops_and_reboots(ble) -> None:
    source = MotionSource.synthetic("body", seed=31)
    async with VirtualSensorHub() as hub:
        thigh, pelvis = [
            await hub.add_and_start(
                VirtualSensorConfig(
                    name=sensor_name(ble.PROFILE.name, s, "0007"),
                    clock_offset_us=(3_000_000, 61_000_000)[i],
                    clock_drift_ppm=(60.0, -45.0)[i],
                ),
                source,
            )
            for i, s in enumerate(("thigh", "pelvis"))
        ]
        assert thigh.body_clock is pelvis.body_clock is hub.body_clock
        a = await ble.connect(hub.transport, thigh.name, mtu=23)
        b = await ble.connect(hub.transport, pelvis.name, mtu=23)
        assert not hub.body_clock.started  # connecting is not moving: the first start is
        await ble.start(a)
        await asyncio.sleep(0.4)
        await ble.start(b)  # pelvis joins the drill where the body is now, not at its start
        await asyncio.sleep(0.3)
        # link drop: the body moves on while the thigh is off the air
        n_thigh_before_drop = len(thigh.sent)
        await thigh.drop_link()
        await asyncio.sleep(0.5)
        a2 = await ble.connect(hub.transport, thigh.name, mtu=23)
        await ble.start(a2)
        await asyncio.sleep(0.3)
        # reboot: sequence and the pelvis's own clock restart, the body's motion does not
        pelvis_clock_before = pelvis.clock
        n_pelvis_before_reboot = len(pelvis.sent)
        await pelvis.reboot(downtime_s=0.2)
        b2 = await ble.connect(hub.transport, pelvis.name, mtu=23)
        await ble.start(b2)
        await asyncio.sleep(0.3)
        for link in (a2, b2):
            await ble.stop(link)
            await link.client.disconnect()
        body = hub.body_clock

    t_thigh = np.array([p.motion_t0_s for p in _data(thigh)])
    t_pelvis = np.array([p.motion_t0_s for p in _data(pelvis)])
    # never replayed: motion time only goes forward, across every restart
    assert np.all(np.diff(t_thigh) > 0) and np.all(np.diff(t_pelvis) > 0)
    assert t_thigh[0] == 0.0  # the thigh's stream started the body clock: its sample 0 is motion time 0
    assert t_pelvis[0] >= 0.4  # started 0.4 s later, on the same body clock
    # what the thigh measured while its link was down was never sent (split at the largest step:
    # a packet may still leave into the void between the drop and the firmware noticing it)
    thigh_data = _data(thigh)
    k = int(np.argmax(np.diff(t_thigh)))
    assert t_thigh[k] <= _data(thigh, 0, n_thigh_before_drop)[-1].motion_t0_s + 0.05
    assert t_thigh[k + 1] - t_thigh[k] >= 0.5
    assert thigh_data[k + 1].seq == thigh_data[k].seq + 1  # streaming stopped: no notification skipped
    _check_packets(_data(thigh), source, body, thigh.clock, 100.0)
    # the reboot reset the pelvis's sequence and own clock only
    pre, post = _data(pelvis, 0, n_pelvis_before_reboot), _data(pelvis, n_pelvis_before_reboot)
    assert post[0].seq == 0 and post[0].t0_us < 1_000_000
    assert post[0].motion_t0_s - pre[-1].motion_t0_s >= 0.2
    _check_packets(pre, source, body, pelvis_clock_before, 100.0)
    _check_packets(post, source, body, pelvis.clock, 100.0)
    assert pelvis.clock.offset_us == 0 and pelvis_clock_before.offset_us == 61_000_000


async def test_rate_change_and_silence_keep_the_motion_going(hub: VirtualSensorHub, ble) -> None:
    name = next(iter(hub.sensors))
    sensor = hub.sensors[name]
    link = await ble.connect(hub.transport, name, mtu=23)
    await ble.start(link, 50.0)
    await asyncio.sleep(0.3)
    n_50 = len(sensor.sent)
    await link.client.write_gatt_char(
        ble.PROFILE.control_char_uuid, encode_control(ble.PROFILE, ControlCommand("configure", rate_hz=200)), response=True
    )
    await asyncio.sleep(0.2)
    sensor.go_silent(0.2)
    await asyncio.sleep(0.4)
    await ble.stop(link)
    await link.client.disconnect()
    at_50, at_200 = _data(sensor, 0, n_50), _data(sensor, n_50)
    t = np.array([p.motion_t0_s for p in _data(sensor)])
    assert np.all(np.diff(t) > 0)  # the new rate goes on from where the body is
    assert at_200[0].motion_t0_s >= at_50[-1].motion_t0_s
    gaps = np.diff([p.motion_t0_s for p in at_200])
    assert gaps.max() >= 0.15  # the silence: measured, never sent
    source = sensor.source
    _check_packets(at_50, source, hub.body_clock, sensor.clock, 50.0)
    _check_packets(at_200, source, hub.body_clock, sensor.clock, 200.0)


def test_body_clock_starts_once_and_measures_from_its_origin() -> None:
    body = BodyClock()
    assert not body.started
    assert body.start(100.0) == 100.0
    assert body.start(250.0) == 100.0  # later starts join the running body
    assert body.motion_time_s(103.5) == 3.5
    with pytest.raises(RuntimeError, match="not started"):
        BodyClock().motion_time_s(1.0)


async def test_a_new_set_restarts_the_body_with_its_new_motion(ble) -> None:
    """The patient follows each set (`VirtualSensorHub.restart_motion`): after a restart the next
    start begins the new motion at time 0 on both sensors — and a stream still running re-anchors
    at once instead of playing the old drill on."""
    first = MotionSource.synthetic("first", seed=1)
    second = MotionSource.synthetic("second", seed=2)
    async with VirtualSensorHub() as hub:
        thigh, pelvis = [
            await hub.add_and_start(VirtualSensorConfig(name=sensor_name(ble.PROFILE.name, s, "0009")), first)
            for s in ("thigh", "pelvis")
        ]
        a = await ble.connect(hub.transport, thigh.name, mtu=23)
        await ble.start(a)
        await asyncio.sleep(0.5)
        n_before = len(thigh.sent)
        hub.restart_motion({"thigh": second, "pelvis": second})  # by role, as `rehab serve` does
        assert thigh.source is second and pelvis.source is second and not hub.body_clock.started
        await asyncio.sleep(0.3)  # the running thigh stream re-anchors: the new set's time 0 is now
        b = await ble.connect(hub.transport, pelvis.name, mtu=23)
        await ble.start(b)
        await asyncio.sleep(0.3)
        for link in (a, b):
            await ble.stop(link)
            await link.client.disconnect()
        body = hub.body_clock
    before, after = _data(thigh, 0, n_before), _data(thigh, n_before)
    assert before[-1].motion_t0_s >= 0.4
    t_after = np.array([p.motion_t0_s for p in after])
    assert t_after.min() < 0.05 and np.all(np.diff(t_after) > 0)  # from the new set's start, forward
    _check_packets([p for p in after if p.motion_t0_s >= 0], second, body, thigh.clock, 100.0)
    t_pelvis = np.array([p.motion_t0_s for p in _data(pelvis)])
    assert 0.25 <= t_pelvis[0] <= 0.6  # joined the same new body clock ~0.3 s after it restarted
    with pytest.raises(KeyError, match="no new motion"):
        hub.restart_motion({"thigh": second})
