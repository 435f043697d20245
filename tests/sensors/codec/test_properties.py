"""Property tests: round trip, garbage in → only DecodeError out, the two paths agree."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.codec import decode_many, decode_packet, decode_packets, encode_packet
from sensors.errors import DecodeError
from sensors.profiles import PROFILES, get_profile
from sensors.samples import ImuSample
from tracker.conventions import GRAVITY_M_S2

REHAB = get_profile("rehab_imu_v1")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rehab_case(draw):
    acc_g = draw(st.sampled_from(REHAB.accel_ranges_g))
    gyr_dps = draw(st.sampled_from(REHAB.gyro_ranges_dps))
    rate = draw(st.sampled_from(REHAB.rates_hz))
    n = draw(st.integers(1, REHAB.samples_per_packet(247)))
    a_max = acc_g * GRAVITY_M_S2
    g_max = math.radians(gyr_dps)
    comp = lambda m: st.floats(-m, m * (32767 / 32768), allow_nan=False)
    samples = [
        ImuSample(0, 0, tuple(draw(comp(a_max)) for _ in range(3)), tuple(draw(comp(g_max)) for _ in range(3)))
        for _ in range(n)
    ]
    seq = draw(st.integers(0, 2**16 - 1))
    t0 = draw(st.integers(0, 2**32 - 1))
    return acc_g, gyr_dps, rate, samples, seq, t0


@SETTINGS
@given(rehab_case())
def test_rehab_round_trip_within_one_quantisation_step(case):
    acc_g, gyr_dps, rate, samples, seq, t0 = case
    data = encode_packet("rehab_imu_v1", seq, t0, samples, accel_range_g=acc_g, gyro_range_dps=gyr_dps, rate_hz=rate)
    pkt = decode_packet("rehab_imu_v1", data)
    assert pkt.seq == seq and pkt.sensor_time_us == t0
    assert pkt.accel_range_g == acc_g and pkt.gyro_range_dps == gyr_dps and pkt.rate_hz == rate
    period = round(1e6 / rate)
    assert [s.sensor_time_us for s in pkt.samples] == [(t0 + k * period) % 2**32 for k in range(len(samples))]
    step_a = acc_g * GRAVITY_M_S2 / 32768
    step_g = math.radians(gyr_dps) / 32768
    got_a = np.array([s.acc_m_s2 for s in pkt.samples])
    got_g = np.array([s.gyr_rad_s for s in pkt.samples])
    assert np.all(np.abs(got_a - [s.acc_m_s2 for s in samples]) <= step_a)
    assert np.all(np.abs(got_g - [s.gyr_rad_s for s in samples]) <= step_g)


@SETTINGS
@given(st.sampled_from(sorted(PROFILES)), st.binary(max_size=260))
def test_arbitrary_bytes_raise_only_decode_error(profile, data):
    try:
        pkt = decode_packet(profile, data, host_time_us=0)
    except DecodeError as exc:
        assert exc.profile == profile and str(exc)
        return
    for s in pkt.samples:
        assert all(math.isfinite(v) for v in s.acc_m_s2 + s.gyr_rad_s)


@SETTINGS
@given(st.sampled_from(sorted(PROFILES)), st.lists(st.binary(min_size=18, max_size=44), min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_batch_and_per_packet_paths_agree(profile, blobs, rnd):
    # Mix garbage with valid packets so both the accept and the reject branches are exercised.
    p = get_profile(profile)
    packets = []
    for i, b in enumerate(blobs):
        if rnd.random() < 0.6:
            n = rnd.randint(1, max(1, p.samples_per_packet(247)))
            acc = np.array([[rnd.uniform(-50, 50) for _ in range(3)] for _ in range(n)])
            gyr = np.array([[rnd.uniform(-10, 10) for _ in range(3)] for _ in range(n)])
            packets.append(encode_packet(profile, i, rnd.randrange(2**32), (acc, gyr)))
        else:
            packets.append(b)
    hosts = list(range(100, 100 + len(packets)))
    res = decode_many(profile, packets, host_time_us=hosts, on_error="skip")
    batch = res.batch
    assert len(decode_packets(profile, packets, host_time_us=hosts, on_error="skip")) == len(batch)
    rejected = {e.packet_index: e for e in res.rejected}
    rows = []
    for i, data in enumerate(packets):
        try:
            pkt = decode_packet(profile, data, host_time_us=hosts[i])
        except DecodeError as exc:
            assert i not in batch.packet_index
            same = rejected[i]  # the batch path rejects the same packet for the same reason
            assert (type(same), same.field, same.offset) == (type(exc), exc.field, exc.offset)
            continue
        assert i not in rejected
        rows.extend(pkt.samples)
    assert len(rows) == len(batch)
    if rows:
        assert batch.sensor_time_us.tolist() == [s.sensor_time_us for s in rows]
        assert batch.seq.tolist() == [s.seq for s in rows]
        np.testing.assert_array_equal(batch.acc_m_s2, [s.acc_m_s2 for s in rows])
        np.testing.assert_array_equal(batch.gyr_rad_s, [s.gyr_rad_s for s in rows])
        assert batch.flags.tolist() == [s.flags for s in rows]


def test_movella_and_witmotion_round_trip():
    rng = np.random.default_rng(7)
    for _ in range(50):
        acc = rng.uniform(-100, 100, (1, 3))
        gyr = rng.uniform(-30, 30, (1, 3))
        t = int(rng.integers(0, 2**32))
        m = decode_packet("movella_dot", encode_packet("movella_dot", 0, t, (acc, gyr)))
        assert m.sensor_time_us == t
        np.testing.assert_allclose(m.samples[0].acc_m_s2, acc[0], rtol=1e-6)
        np.testing.assert_allclose(m.samples[0].gyr_rad_s, gyr[0], rtol=1e-6)
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        w = decode_packet("witmotion_wt901ble", encode_packet("witmotion_wt901ble", 0, 0, (acc, gyr, q[None])), host_time_us=t)
        assert w.sensor_time_us == t
        assert np.all(np.abs(np.subtract(w.samples[0].acc_m_s2, acc[0])) <= 16 * GRAVITY_M_S2 / 32768)
        # Quaternion survives the trip through 16-bit Euler angles (sign-insensitive).
        dot = abs(float(np.dot(w.samples[0].quat, q)))
        assert dot > 1 - 1e-6


def test_signalling_nan_is_a_value_range_error_not_a_warning():
    import struct

    from sensors.errors import ValueRangeError

    snan = struct.pack("<I", 0x7FA00000)  # float32 signalling NaN
    data = struct.pack("<I", 1) + snan + bytes(20)
    try:
        decode_packet("movella_dot", data)
    except ValueRangeError as exc:
        assert exc.field == "acc_x" and exc.offset == 4
    else:
        raise AssertionError("signalling NaN accepted")
