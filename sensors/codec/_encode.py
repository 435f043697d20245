"""Samples → bytes, driven by the same compiled layout as the decoder (used by virtual sensors).

Quantisation is ``round(value / scale)`` clipped to the integer range, so encode → decode returns
each value within half a quantisation step (exactly representable values return exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sensors.codec._layout import Layout, layout_for
from sensors.profiles import FieldSpec, Profile
from sensors.samples import ImuBatch, ImuSample

SamplesLike = Sequence[ImuSample] | ImuBatch | tuple[Any, ...]


def _code_for(f: FieldSpec, value: float, what: str, profile: str) -> int:
    assert f.codes is not None
    for code, v in f.codes.items():
        if abs(v - float(value)) < 1e-9:
            return code
    raise ValueError(f"{profile}: {what} {value:g} is not supported; choose one of {sorted(f.codes.values())}")


def _quat_to_euler_deg(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (w, x, y, z) → Z-Y-X Euler angles (roll, pitch, yaw) in degrees."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    out: np.ndarray = np.rad2deg(np.stack([roll, pitch, yaw], axis=1))
    return out


def _as_arrays(samples: SamplesLike) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if isinstance(samples, ImuBatch):
        return samples.acc_m_s2, samples.gyr_rad_s, samples.quat
    if isinstance(samples, tuple) and len(samples) in (2, 3) and isinstance(samples[0], np.ndarray):
        acc, gyr = np.asarray(samples[0], float).reshape(-1, 3), np.asarray(samples[1], float).reshape(-1, 3)
        quat = np.asarray(samples[2], float).reshape(-1, 4) if len(samples) == 3 and samples[2] is not None else None
        return acc, gyr, quat
    seq = list(samples)
    acc = np.array([s.acc_m_s2 for s in seq], float).reshape(-1, 3)
    gyr = np.array([s.gyr_rad_s for s in seq], float).reshape(-1, 3)
    quat = None
    if seq and all(s.quat is not None for s in seq):
        quat = np.array([s.quat for s in seq], float).reshape(-1, 4)
    return acc, gyr, quat


def encode_packet(
    profile: str | Profile,
    seq: int,
    sensor_time_us: int,
    samples: SamplesLike,
    *,
    mtu: int | None = None,
    accel_range_g: float | None = None,
    gyro_range_dps: float | None = None,
    rate_hz: float | None = None,
) -> bytes:
    """One notification carrying ``samples`` (first sample at ``sensor_time_us``).

    ``mtu`` None: no MTU limit (the profile's largest packet); otherwise the packet must fit in
    ``mtu - 3`` bytes. Ranges and rate default to the profile's defaults; profiles without a
    sequence number or sensor clock ignore ``seq`` / ``sensor_time_us``.
    """
    lay = layout_for(profile)
    p = lay.profile
    acc, gyr, quat = _as_arrays(samples)
    n = acc.shape[0]
    if gyr.shape[0] != n:
        raise ValueError(f"{p.name}: {n} acceleration rows but {gyr.shape[0]} angular-velocity rows")
    cap = p.max_samples if mtu is None else p.samples_per_packet(mtu)
    if not 1 <= n <= cap:
        limit = f"ATT MTU {mtu}" if mtu is not None else "the format"
        raise ValueError(f"{p.name}: {n} samples do not fit one packet; {limit} allows 1..{cap} (min MTU {p.min_mtu})")
    acc_g = p.default_accel_range_g if accel_range_g is None else float(accel_range_g)
    gyr_dps = p.default_gyro_range_dps if gyro_range_dps is None else float(gyro_range_dps)
    rate = p.default_rate_hz if rate_hz is None else float(rate_hz)
    if acc_g not in p.accel_ranges_g:
        raise ValueError(f"{p.name}: accelerometer range ±{acc_g:g} g not supported; choose one of {p.accel_ranges_g}")
    if gyr_dps not in p.gyro_ranges_dps:
        raise ValueError(f"{p.name}: gyroscope range ±{gyr_dps:g} dps not supported; choose one of {p.gyro_ranges_dps}")
    header = _encode_header(lay, seq, sensor_time_us, n, acc_g, gyr_dps, rate)
    body = np.zeros(n, lay.sample_dtype)
    values = {"acc": acc, "gyr": gyr}
    if "angle" in lay.quantity_fields:
        values["angle"] = _quat_to_euler_deg(quat) if quat is not None else np.zeros((n, 3))
    for q, fields in lay.quantity_fields.items():
        if q in lay.const_factor:
            factor = lay.const_factor[q]
        else:
            rf = p.header_field(lay.range_field[q])
            code = _code_for(rf, acc_g if q == "acc" else gyr_dps, rf.name, p.name)
            factor = lay.code_factor[q][code]
        scaled = values[q] / factor
        for f in fields:
            col = scaled[:, f.axis or 0]
            if f.type == "f32":
                body[f.name] = col
            else:
                info = np.iinfo(lay.sample_dtype[f.name])
                body[f.name] = np.clip(np.rint(col), info.min, info.max)
    out = header + body.tobytes()
    if p.trailing:
        room = int(p.trailing["max_total"]) if mtu is None else min(int(p.trailing["max_total"]), mtu - p.att_overhead_bytes)
        out += bytes(max(0, room - len(out)))
    return out


def _encode_header(lay: Layout, seq: int, t_us: int, n: int, acc_g: float, gyr_dps: float, rate: float) -> bytes:
    p = lay.profile
    words = dict.fromkeys(lay.header_words, 0)
    for f in p.header_fields:
        if f.const is not None:
            v = f.const
        elif f.name == p.count_field:
            v = n
        elif f.name == "seq":
            v = int(seq) % (1 << (p.seq_bits or 16))
        elif f.type == "u32":
            v = int(t_us) % (1 << 32)
        elif f.name == "accel_range":
            v = _code_for(f, acc_g, "accelerometer range (g)", p.name)
        elif f.name == "gyro_range":
            v = _code_for(f, gyr_dps, "gyroscope range (dps)", p.name)
        elif f.name == "rate":
            v = _code_for(f, rate, "output rate (Hz)", p.name)
        else:
            raise ValueError(f"{p.name}: encoder does not know how to fill header field {f.name!r}")
        if f.mask is not None:
            v = (v << f.shift) & f.mask
        words[(f.offset, f.type)] |= v
    return lay.header_struct.pack(*(words[w] for w in lay.header_words))
