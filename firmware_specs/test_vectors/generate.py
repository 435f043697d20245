"""Regenerate the test-vector JSON files: `python firmware_specs/test_vectors/generate.py`.

Expected values are computed here from the written formulas with plain `struct` and `math` —
deliberately NOT with sensors/codec — so the vectors check the decoder against the document.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

G = 9.80665
D2R = math.pi / 180.0
HERE = Path(__file__).resolve().parent


def rehab_packet(seq, t0, acc_code, gyr_code, rate_code, raws, reserved=0, version=1, count=None):
    n = len(raws) if count is None else count
    b0 = (version << 5) | n
    b1 = acc_code | (gyr_code << 2) | (rate_code << 5) | (reserved << 7)
    out = bytes([b0, b1]) + struct.pack("<HI", seq, t0)
    for r in raws:
        out += struct.pack("<6h", *r)
    return out


def rehab_expect(seq, t0, acc_code, gyr_code, rate_code, raws):
    acc_g = [2, 4, 8, 16][acc_code]
    gyr_dps = [125, 250, 500, 1000, 2000][gyr_code]
    rate = [25, 50, 100, 200][rate_code]
    period = 1_000_000 // rate
    clipped = any(v in (-32768, 32767) for r in raws for v in r)
    return {
        "seq": seq,
        "sensor_time_us": [(t0 + k * period) % 2**32 for k in range(len(raws))],
        "acc_m_s2": [[r[i] * acc_g / 32768 * G for i in range(3)] for r in raws],
        "gyr_rad_s": [[r[3 + i] * gyr_dps / 32768 * D2R for i in range(3)] for r in raws],
        "accel_range_g": acc_g,
        "gyro_range_dps": gyr_dps,
        "rate_hz": rate,
        "flags": 4 if clipped else 0,
    }


def rehab() -> dict:
    vectors = []
    raws1 = [(0, 0, 4096, 0, 0, 0)]
    vectors.append({"name": "one sample at rest, z up, ±8 g / ±1000 dps / 100 Hz (MTU 23)",
                    "hex": rehab_packet(0, 0, 2, 3, 2, raws1).hex(), "expect": rehab_expect(0, 0, 2, 3, 2, raws1)})
    raws2 = [(16384, -16384, 1, 262, -262, 32), (100, 200, 300, -1, -2, -3), (-5, 7, 16000, 1000, 0, -1000)]
    t0 = 2**32 - 7000
    vectors.append({"name": "three samples across the 2^32 µs clock wrap, seq 65535, ±2 g / ±125 dps / 200 Hz",
                    "hex": rehab_packet(65535, t0, 0, 0, 3, raws2).hex(), "expect": rehab_expect(65535, t0, 0, 0, 3, raws2)})
    raws3 = [((k * 3277) % 65536 - 32768, 32767 - k, -32768 + k, k * 100 - 900, -k * 50, 12345) for k in range(19)]
    vectors.append({"name": "19 samples (MTU 247), ±16 g / ±2000 dps / 25 Hz, saturated values flag clipping",
                    "hex": rehab_packet(4242, 123456789, 3, 4, 0, raws3).hex(), "expect": rehab_expect(4242, 123456789, 3, 4, 0, raws3)})
    good = rehab_packet(1, 1000, 2, 3, 2, raws1)
    invalid = [
        {"name": "truncated by one byte", "hex": good[:-1].hex(), "error": "PacketLengthError", "field": "length", "offset": 19},
        {"name": "header only", "hex": good[:8].hex(), "error": "PacketLengthError", "field": "length", "offset": 8},
        {"name": "format version 2", "hex": rehab_packet(1, 1000, 2, 3, 2, raws1, version=2).hex(), "error": "HeaderError", "field": "version", "offset": 0},
        {"name": "gyro range code 5", "hex": rehab_packet(1, 1000, 2, 5, 2, raws1).hex(), "error": "HeaderError", "field": "gyro_range", "offset": 1},
        {"name": "reserved bit set", "hex": rehab_packet(1, 1000, 2, 3, 2, raws1, reserved=1).hex(), "error": "HeaderError", "field": "reserved", "offset": 1},
        {"name": "count says 2, one sample present", "hex": rehab_packet(1, 1000, 2, 3, 2, raws1, count=2).hex(), "error": "PacketLengthError", "field": "count", "offset": 0},
        {"name": "empty", "hex": "", "error": "PacketLengthError", "field": "length", "offset": 0},
    ]
    return {"profile": "rehab_imu_v1", "vectors": vectors, "invalid": invalid}


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def movella() -> dict:
    def pkt(t, acc, gyr, pad=12):
        return struct.pack("<I6f", t, *acc, *gyr) + bytes(pad)

    def expect(t, acc, gyr):
        return {"seq": -1, "sensor_time_us": [t], "acc_m_s2": [[f32(a) for a in acc]],
                "gyr_rad_s": [[f32(g) * D2R for g in gyr]], "accel_range_g": 16, "gyro_range_dps": 2000,
                "rate_hz": None, "flags": 2}

    a1, g1 = (0.125, -0.5, 9.8125), (1.5, -2.25, 90.0)
    a2, g2 = (-9.81, 0.3, 0.02), (-123.4, 0.001, 1999.0)
    vectors = [
        {"name": "Rate quantities, full 40-byte medium payload (12 zero bytes of padding)",
         "hex": pkt(1_000_000, a1, g1).hex(), "expect": expect(1_000_000, a1, g1)},
        {"name": "Rate quantities, 28 bytes (padding stripped), timestamp near wrap",
         "hex": pkt(2**32 - 1, a2, g2, pad=0).hex(), "expect": expect(2**32 - 1, a2, g2)},
    ]
    nan_acc = pkt(5, (0.0, float("nan"), 9.8), (0, 0, 0))
    bad_pad = bytearray(pkt(5, a1, g1))
    bad_pad[30] = 0x7F
    invalid = [
        {"name": "NaN in acc_y", "hex": nan_acc.hex(), "error": "ValueRangeError", "field": "acc_y", "offset": 8},
        {"name": "infinite gyr_z", "hex": pkt(5, a1, (0, 0, float("inf"))).hex(), "error": "ValueRangeError", "field": "gyr_z", "offset": 24},
        {"name": "implausible 1e6 m/s² acc_x", "hex": pkt(5, (1e6, 0, 0), g1).hex(), "error": "ValueRangeError", "field": "acc_x", "offset": 4},
        {"name": "non-zero padding", "hex": bytes(bad_pad).hex(), "error": "HeaderError", "field": "padding", "offset": 30},
        {"name": "27 bytes", "hex": pkt(5, a1, g1, pad=0)[:27].hex(), "error": "PacketLengthError", "field": "length", "offset": 27},
        {"name": "41 bytes", "hex": pkt(5, a1, g1, pad=13).hex(), "error": "PacketLengthError", "field": "length", "offset": 41},
    ]
    return {"profile": "movella_dot", "vectors": vectors, "invalid": invalid}


def quat_zyx(roll_deg, pitch_deg, yaw_deg):
    r, p, y = (math.radians(v) / 2 for v in (roll_deg, pitch_deg, yaw_deg))
    cr, cp, cy, sr, sp, sy = math.cos(r), math.cos(p), math.cos(y), math.sin(r), math.sin(p), math.sin(y)
    return [cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy]


def wit() -> dict:
    def expect(raw, host_t):
        acc = [raw[i] / 32768 * 16 * G for i in range(3)]
        gyr = [raw[3 + i] / 32768 * 2000 * D2R for i in range(3)]
        ang = [raw[6 + i] / 32768 * 180 for i in range(3)]
        clipped = any(v in (-32768, 32767) for v in raw[:6])
        return {"seq": -1, "sensor_time_us": [host_t], "acc_m_s2": [acc], "gyr_rad_s": [gyr],
                "euler_deg": [ang], "quat": [quat_zyx(*ang)], "accel_range_g": 16, "gyro_range_dps": 2000,
                "rate_hz": None, "flags": 3 | (4 if clipped else 0)}

    # A packet captured from a real sensor, quoted in a public repository (ids 85, 97 = 0x55 0x61).
    real = bytes([85, 97, 119, 2, 168, 254, 146, 254, 6, 2, 48, 254, 205, 255, 248, 240, 83, 252, 171, 196])
    real_raw = struct.unpack("<9h", real[2:])
    synth_raw = (0, 0, 2048, 0, 0, 164, 0, 0, 16384)
    synth = bytes([0x55, 0x61]) + struct.pack("<9h", *synth_raw)
    sat_raw = (32767, -32768, 0, -32768, 32767, 1, 8192, -4096, -32768)
    sat = bytes([0x55, 0x61]) + struct.pack("<9h", *sat_raw)
    vectors = [
        {"name": "packet captured from a WT901BLE (public example), host time 1 s", "hex": real.hex(),
         "host_time_us": 1_000_000, "expect": expect(real_raw, 1_000_000)},
        {"name": "flat, z up (1 g), yaw 90°, 10 °/s about z", "hex": synth.hex(), "host_time_us": 42,
         "expect": expect(synth_raw, 42)},
        {"name": "saturated axes flag clipping", "hex": sat.hex(), "host_time_us": 7, "expect": expect(sat_raw, 7)},
    ]
    reg = bytes.fromhex("55713a00680169007a0000000000000000000000")
    invalid = [
        {"name": "register reply 0x55 0x71 (magnetometer read), not IMU data", "hex": reg.hex(), "error": "HeaderError", "field": "flag", "offset": 1},
        {"name": "wrong header byte", "hex": (b"\x54" + real[1:]).hex(), "error": "HeaderError", "field": "header", "offset": 0},
        {"name": "19 bytes", "hex": real[:19].hex(), "error": "PacketLengthError", "field": "length", "offset": 19},
        {"name": "two packets glued (40 bytes)", "hex": (real + real).hex(), "error": "PacketLengthError", "field": "length", "offset": 40},
    ]
    return {"profile": "witmotion_wt901ble", "vectors": vectors, "invalid": invalid,
            "note": "sensor_time_us is the host arrival time passed as host_time_us; the packet carries no clock"}


def main() -> None:
    for doc in (rehab(), movella(), wit()):
        path = HERE / f"{doc['profile']}.json"
        path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        print(f"wrote {path} ({len(doc['vectors'])} vectors, {len(doc['invalid'])} invalid)")


if __name__ == "__main__":
    main()
