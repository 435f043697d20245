"""Connection manager against real virtual sensors: battery, streaming, drops, backoff, give-up."""

from __future__ import annotations

import asyncio
import time

import pytest
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import (
    BLEAK_BACKOFF_TIME,
    BLEAK_DBUS_BACKOFF_TIME,
    BleakNotFoundError,
)

from sensors.codec import decode_control
from sensors.profiles import get_profile
from sensors.virtual import MotionSource
from service.errors import SensorLostError
from service.link import (
    LinkEvent,
    Notification,
    ReconnectPolicy,
    SensorLink,
    start_commands,
)

from .conftest import start_pair


def test_policy_backoff_keeps_retry_connector_categories_and_grows():
    p = ReconnectPolicy(initial_backoff_s=0.1, multiplier=2.0, max_backoff_s=1.0)
    # a normal disconnect: bleak-retry-connector says "retry now"; our floor is the initial backoff
    assert p.backoff_s(BleakError("Disconnected"), 1) == pytest.approx(0.1)
    # a timeout keeps its category's backoff (0.25 s) until ours grows past it
    assert p.backoff_s(TimeoutError(), 1) == pytest.approx(BLEAK_DBUS_BACKOFF_TIME)
    assert p.backoff_s(TimeoutError(), 3) == pytest.approx(0.4)
    assert p.backoff_s(BleakNotFoundError("gone"), 1) == pytest.approx(1.0)  # out-of-slots 4 s, capped
    assert p.backoff_s(RuntimeError("x"), 10) == pytest.approx(1.0)
    assert p.backoff_s(BleakError("other"), 1) >= BLEAK_BACKOFF_TIME
    with pytest.raises(ValueError, match="multiplier"):
        ReconnectPolicy(multiplier=0.5)


@pytest.mark.parametrize("profile", ["rehab_imu_v1", "movella_dot", "witmotion_wt901ble"])
def test_start_commands_parse_back_for_every_profile(profile):
    p = get_profile(profile)
    cmds = start_commands(p, 100.0 if 100.0 in p.rates_hz else None)
    assert cmds
    decoded = [decode_control(p, data) for _uuid, data in cmds]
    if p.control["kind"] == "witmotion":
        assert [d.action for d in decoded] == ["configure"]
    else:
        assert decoded[-1].action == "start"


async def test_link_streams_survives_drops_and_reports_battery():
    sources = {r: MotionSource.synthetic(r, seed=i) for i, r in enumerate(("thigh", "pelvis"))}
    pair = await start_pair(sources, battery={"thigh": 15})
    try:
        q: asyncio.Queue = asyncio.Queue()
        dev, prof = pair.devices["thigh"]
        link = SensorLink("thigh", dev, prof, q, client_kwargs=pair.client_kwargs, rate_hz=100.0)
        task = asyncio.create_task(link.run())
        await asyncio.sleep(1.0)
        for _ in range(3):
            await pair.sensors["thigh"].drop_link()
            await asyncio.sleep(0.6)
        await link.stop()
        await asyncio.wait_for(task, 5)
        items = []
        while not q.empty():
            items.append(q.get_nowait())
        kinds = [i.kind for i in items if isinstance(i, LinkEvent)]
        assert kinds.count("up") == 4 and kinds.count("down") == 3
        assert kinds.count("battery") == 4
        assert link.status.battery_percent == 15 and link.status.low_battery
        notes = [i for i in items if isinstance(i, Notification)]
        # what arrived was queued untouched and in order: the sent packets minus at most the one
        # in flight at each drop
        sent = [p.data for p in pair.sensors["thigh"].sent]
        got = [bytes(n.data) for n in notes]
        assert len(sent) - len(got) <= 3
        it = iter(sent)
        assert all(any(g == s for s in it) for g in got)  # got is a subsequence of sent
        assert all(b.host_s >= a.host_s for a, b in zip(notes, notes[1:]))
        assert link.status.drops == 3 and link.status.connects == 4
    finally:
        await pair.hub.stop()


async def test_unreachable_sensor_gives_up_with_typed_error_naming_sensor_and_attempts():
    sources = {r: MotionSource.synthetic(r, seed=i) for i, r in enumerate(("thigh", "pelvis"))}
    pair = await start_pair(sources)
    try:
        dev, prof = pair.devices["pelvis"]
        await pair.sensors["pelvis"].power_off()  # the sensor is gone
        ghost = BLEDevice(dev.address, dev.name, dev.details)
        q: asyncio.Queue = asyncio.Queue()
        policy = ReconnectPolicy(
            connect_timeout_s=0.2, safety_margin_s=0.3, give_up_after_s=1.2, initial_backoff_s=0.05, attempts_per_round=1
        )
        link = SensorLink("pelvis", ghost, prof, q, client_kwargs=pair.client_kwargs, policy=policy)
        t0 = time.monotonic()
        with pytest.raises(SensorLostError) as info:
            await asyncio.wait_for(link.run(), 10)
        err = info.value
        assert err.sensor == "pelvis" and err.address == dev.address
        assert err.attempts >= 2
        assert "pelvis" in str(err) and "attempt" in str(err)
        # bleak-retry-connector's category, or TimeoutError when the stack's connect hung
        assert err.category in ("BleakNotFoundError", "BleakConnectionError", "BleakAbortedError", "TimeoutError")
        assert time.monotonic() - t0 < 5
        kinds = []
        while not q.empty():
            kinds.append(q.get_nowait().kind)
        assert kinds.count("error") >= 2 and kinds[-1] == "lost"
    finally:
        await pair.hub.stop()
