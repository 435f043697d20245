"""Virtual sensors stream what the simulator (or a raw-session CSV) says, at the sensor's rate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from sensors.codec import decode_packets
from sensors.virtual import (
    MotionSource,
    VirtualSensorConfig,
    VirtualSensorHub,
    sensor_name,
)
from simulation import SimulationConfig, simulate
from tracker.rawcsv import read_raw_csv, write_raw_csv


@pytest.fixture(scope="module")
def session():
    return simulate(SimulationConfig(exercise="knee_raise", reps=2, side="left", seed=7)).raw


def test_motion_source_interpolates_and_loops(session) -> None:
    src = MotionSource.from_session(session, "thigh")
    stream = session.thigh
    t_rel = stream.t_s[:50] - stream.t_s[0]
    acc, gyr = src.sample(t_rel)
    np.testing.assert_allclose(acc, stream.acc_m_s2[:50], atol=1e-12)
    np.testing.assert_allclose(gyr, stream.gyr_rad_s[:50], atol=1e-12)
    looped, _ = src.sample(t_rel + src.duration_s)  # past the end: from the start again
    np.testing.assert_allclose(looped, stream.acc_m_s2[:50], atol=1e-9)
    mid, _ = src.sample(np.array([(t_rel[3] + t_rel[4]) / 2]))
    np.testing.assert_allclose(mid[0], (stream.acc_m_s2[3] + stream.acc_m_s2[4]) / 2, atol=1e-9)


def test_motion_source_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2 samples"):
        MotionSource("x", np.zeros(1), np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="strictly increasing"):
        MotionSource("x", np.array([0.0, 0.0, 1.0]), np.zeros((3, 3)), np.zeros((3, 3)))


def test_csv_source_equals_simulated_source(session, tmp_path: Path) -> None:
    path = write_raw_csv(session, tmp_path / "raw.csv")
    from_csv = MotionSource.from_session(read_raw_csv(path), "pelvis")
    direct = MotionSource.from_session(session, "pelvis")
    t = np.linspace(0.0, direct.duration_s, 777)
    for a, b in zip(from_csv.sample(t), direct.sample(t)):
        np.testing.assert_allclose(a, b, atol=1e-9)


async def test_simulated_knee_raise_reaches_the_recorder(session, ble) -> None:
    """Thigh sensor streaming the simulator's session: decoded samples = session samples ± ½ LSB."""
    async with VirtualSensorHub() as hub:
        name = sensor_name("rehab_imu_v1", "thigh", "0003")
        await hub.add_and_start(VirtualSensorConfig(name=name), MotionSource.from_session(session, "thigh"))
        link = await ble.connect(hub.transport, name)
        await ble.start(link, 100.0)
        await asyncio.sleep(0.6)
        await ble.stop(link)
        await asyncio.sleep(0.05)
        await link.client.disconnect()
    batch = decode_packets(ble.PROFILE, link.collector.payloads)
    n = len(batch)
    assert n >= 38  # two 19-sample packets at least
    stream = session.thigh
    # The sensor's sample k is the session at k / 100 Hz after its start (the simulated stream is
    # ~100 Hz with a slightly drifting clock, so compare by interpolation, not by index).
    t_k = np.arange(n) / 100.0
    expected = np.column_stack([np.interp(t_k, stream.t_s - stream.t_s[0], stream.acc_m_s2[:, i]) for i in range(3)])
    acc_tol, _ = ble.half_lsb(ble.PROFILE)
    np.testing.assert_allclose(batch.acc_m_s2, expected, atol=acc_tol)
