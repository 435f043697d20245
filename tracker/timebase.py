"""Time bases: each sensor's own clock → a per-sensor uniform grid (for VQF) → one shared grid.

Why two steps: VQF needs a fixed sample period, and the two sensors differ in rate, jitter and
gaps. Each sensor keeps its own samples at its native (median) rate; short gaps (≤ ``bridge_gap_s``)
are bridged by evenly spaced samples linearly interpolated from the *raw* neighbours, only so the
filter's integration stays continuous, and every bridged sample is marked invalid. Longer gaps split the stream into
segments that are processed independently. Nothing estimated inside a gap is ever reported: the
shared grid's ``valid`` flag is False there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SensorGrid:
    """One sensor's samples (plus bridged gap samples) at its native rate; ``segment`` numbers
    contiguous spans processed by separate VQF runs."""

    t_s: np.ndarray  # (M,)
    acc_m_s2: np.ndarray  # (M, 3)
    gyr_rad_s: np.ndarray  # (M, 3)
    valid: np.ndarray  # (M,) bool — False inside bridged gaps
    segment: np.ndarray  # (M,) int
    dt_s: float


def native_grid(
    t_s: np.ndarray,
    acc_m_s2: np.ndarray,
    gyr_rad_s: np.ndarray,
    *,
    gap_factor: float = 1.8,
    bridge_gap_s: float = 1.0,
) -> SensorGrid:
    """One sensor ready for VQF at its median rate: gaps bridged (invalid), long ones split."""
    t = np.asarray(t_s, dtype=float)
    if len(t) < 10:
        raise ValueError(f"only {len(t)} samples; need at least 10")
    dts = np.diff(t)
    dt = float(np.median(dts))
    if not dt > 0:
        raise ValueError("timestamps are not increasing")
    gap_idx = np.flatnonzero(dts > gap_factor * dt)
    long_idx = gap_idx[dts[gap_idx] > bridge_gap_s]
    bounds = np.concatenate([[0], long_idx + 1, [len(t)]])
    ts, accs, gyrs, valids, segs = [], [], [], [], []
    for k in range(len(bounds) - 1):
        a, b = int(bounds[k]), int(bounds[k + 1])
        if b - a < 2:
            continue
        # The sensor's own samples are kept as they are (their jitter and the clocks' ppm drift are
        # far below what VQF notices); only inside short gaps are evenly spaced samples inserted,
        # linearly interpolated and marked invalid, so the filter's integration stays continuous.
        ts_ = t[a:b]
        d = np.diff(ts_)
        k_ins = np.where(d > gap_factor * dt, np.maximum(np.rint(d / dt).astype(int) - 1, 0), 0)
        reps = np.r_[k_ins + 1, 1]
        src = np.repeat(np.arange(b - a), reps)
        j = np.arange(len(src)) - np.repeat(np.cumsum(reps) - reps, reps)
        u = j / np.repeat(np.r_[k_ins + 1, 1], reps)
        nxt = np.minimum(src + 1, b - a - 1)
        tg = ts_[src] + u * (ts_[nxt] - ts_[src])
        vals = np.hstack([acc_m_s2[a:b], gyr_rad_s[a:b]])
        both = vals[src] + u[:, None] * (vals[nxt] - vals[src])
        accs.append(both[:, :3])
        gyrs.append(both[:, 3:])
        ts.append(tg)
        valids.append(j == 0)
        segs.append(np.full(len(tg), k))
    return SensorGrid(
        t_s=np.concatenate(ts),
        acc_m_s2=np.concatenate(accs),
        gyr_rad_s=np.concatenate(gyrs),
        valid=np.concatenate(valids),
        segment=np.concatenate(segs),
        dt_s=dt,
    )


def common_grid(t_starts: list[float], t_ends: list[float], rate_hz: float) -> np.ndarray:
    """The shared uniform time base covering the span where every sensor recorded."""
    t0, t1 = max(t_starts), min(t_ends)
    if t1 <= t0:
        raise ValueError("the sensors' recordings do not overlap in time")
    n = int(np.floor((t1 - t0) * rate_hz)) + 1
    return t0 + np.arange(n) / rate_hz


def resample_quat(
    t_src: np.ndarray,
    quat_wxyz: np.ndarray,
    valid_src: np.ndarray,
    segment_src: np.ndarray,
    t_dst: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate orientations onto ``t_dst`` (nlerp); returns (quat_wxyz, valid, segment) — never across a gap."""
    q_out = np.tile([1.0, 0.0, 0.0, 0.0], (len(t_dst), 1))
    valid = np.zeros(len(t_dst), dtype=bool)
    seg_out = np.full(len(t_dst), -1)
    for s in np.unique(segment_src):
        m = segment_src == s
        ts = t_src[m]
        if len(ts) < 2:
            continue
        inside = (t_dst >= ts[0]) & (t_dst <= ts[-1])
        if not inside.any():
            continue
        qs = quat_wxyz[m]
        td = t_dst[inside]
        j = np.clip(np.searchsorted(ts, td, side="right"), 1, len(ts) - 1)
        u = ((td - ts[j - 1]) / (ts[j] - ts[j - 1]))[:, None]
        q0, q1 = qs[j - 1], qs[j]
        q1 = np.where(((q0 * q1).sum(1) < 0)[:, None], -q1, q1)
        # normalised linear interpolation: identical to slerp within 1e-5 rad for the ≤ 0.05 rad
        # rotations between neighbouring samples, and ~20× faster
        qi = (1.0 - u) * q0 + u * q1
        q_out[inside] = qi / np.linalg.norm(qi, axis=1, keepdims=True)
        vs = valid_src[m]
        valid[inside] = vs[j] & vs[j - 1]
        seg_out[inside] = s
    return q_out, valid, seg_out


def resample_vec(t_src: np.ndarray, x: np.ndarray, t_dst: np.ndarray) -> np.ndarray:
    """Linear interpolation of an (N, k) signal (used for calibration and axis identification)."""
    return interp_rows(t_src, x, t_dst)


def interp_rows(t_src: np.ndarray, x: np.ndarray, t_dst: np.ndarray) -> np.ndarray:
    """np.interp for every column of ``x`` at once (one search), clamped at the ends."""
    j = np.clip(np.searchsorted(t_src, t_dst, side="right"), 1, len(t_src) - 1)
    u = np.clip((t_dst - t_src[j - 1]) / (t_src[j] - t_src[j - 1]), 0.0, 1.0)[:, None]
    return x[j - 1] + u * (x[j] - x[j - 1])
