"""Every profile decodes its firmware_specs test vectors exactly, per-packet and vectorised."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sensors.errors as errors
from sensors.codec import decode_many, decode_packet, decode_packets
from sensors.profiles import PROFILES

FIRMWARE_SPECS = Path(__file__).resolve().parents[3] / "firmware_specs"  # the documents for firmware engineers


def _load(name: str) -> dict:
    return json.loads((FIRMWARE_SPECS / "test_vectors" / f"{name}.json").read_text())


CASES = [(name, v) for name in PROFILES for v in _load(name)["vectors"]]
BAD = [(name, v) for name in PROFILES for v in _load(name)["invalid"]]


@pytest.mark.parametrize(("profile", "vec"), CASES, ids=[f"{p}:{v['name']}" for p, v in CASES])
def test_vector_decodes_exactly(profile, vec):
    data = bytes.fromhex(vec["hex"])
    exp = vec["expect"]
    pkt = decode_packet(profile, data, host_time_us=vec.get("host_time_us"))
    assert pkt.seq == exp["seq"]
    assert [s.sensor_time_us for s in pkt.samples] == exp["sensor_time_us"]
    np.testing.assert_allclose([s.acc_m_s2 for s in pkt.samples], exp["acc_m_s2"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([s.gyr_rad_s for s in pkt.samples], exp["gyr_rad_s"], rtol=1e-12, atol=1e-12)
    assert pkt.accel_range_g == exp["accel_range_g"]
    assert pkt.gyro_range_dps == exp["gyro_range_dps"]
    assert pkt.rate_hz == exp["rate_hz"]
    assert pkt.flags == exp["flags"]
    if "quat" in exp:
        np.testing.assert_allclose([s.quat for s in pkt.samples], exp["quat"], atol=1e-12)
        np.testing.assert_allclose(pkt.euler_deg, exp["euler_deg"], atol=1e-12)
    batch = decode_packets(profile, [data], host_time_us=None if "host_time_us" not in vec else [vec["host_time_us"]])
    assert batch.sensor_time_us.tolist() == exp["sensor_time_us"]
    np.testing.assert_allclose(batch.acc_m_s2, exp["acc_m_s2"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("profile", "vec"), BAD, ids=[f"{p}:{v['name']}" for p, v in BAD])
def test_invalid_vector_raises_typed_error_naming_field_and_offset(profile, vec):
    data = bytes.fromhex(vec["hex"])
    cls = getattr(errors, vec["error"])
    with pytest.raises(cls) as info:
        decode_packet(profile, data, host_time_us=0)
    err = info.value
    assert err.profile == profile and err.field == vec["field"] and err.offset == vec["offset"]
    msg = str(err)
    assert profile in msg and repr(vec["field"]) in msg and f"byte offset {vec['offset']}" in msg
    assert err.packet_hex == data.hex()[:128]


def test_batch_reports_packet_index_of_the_bad_packet():
    good = bytes.fromhex(_load("rehab_imu_v1")["vectors"][0]["hex"])
    bad = good[:-1]
    with pytest.raises(errors.PacketLengthError) as info:
        decode_packets("rehab_imu_v1", [good, good, bad, good])
    assert info.value.packet_index == 2 and "packet 2" in str(info.value)
    # Across length groups the lowest packet index is reported, whatever its length.
    with pytest.raises(errors.DecodeError) as info:
        decode_packets("rehab_imu_v1", [good, b"\x00" * 40, bad])
    assert info.value.packet_index == 1
    batch = decode_packets("rehab_imu_v1", [good, bad, good], on_error="skip")
    assert batch.packet_index.tolist() == [0, 2]


def test_skip_mode_names_each_rejected_packets_own_field():
    import struct

    def movella(acc):
        return struct.pack("<I6f", 1, *acc, 0.0, 0.0, 0.0)

    packets = [movella((0.0, 1.0, 9.8)), movella((float("nan"), 0, 0)), movella((0, 0, float("inf"))), movella((0, 5e3, 0))]
    res = decode_many("movella_dot", packets, on_error="skip")
    assert res.batch.packet_index.tolist() == [0]
    got = [(e.packet_index, e.field, e.offset) for e in res.rejected]
    assert got == [(1, "acc_x", 4), (2, "acc_z", 12), (3, "acc_y", 8)]
