"""Time bases: each sensor's own clock → a per-sensor uniform grid (for VQF) → one shared grid.

Why two steps: VQF needs a fixed sample period, and the two sensors differ in rate, jitter and
gaps. Each sensor keeps its own samples at its native (median) rate. Gaps are data, handled by their
length (:class:`GapPolicy`):

* up to ``bridge_s`` (a few lost packets): evenly spaced samples linearly interpolated from the *raw*
  neighbours keep the filter's integration continuous; every bridged sample is marked invalid;
* up to ``link_s``: the filter restarts after the gap (its inclination re-initialised from gravity,
  so motion inside the gap leaves no error behind) and the new run is *linked* to the previous one —
  tracker/orientation.py stitches its heading to the orientation carried across the gap, so the
  relative heading of the two sensors is not re-learnt from scratch;
* longer: a new *block* whose heading is unrelated to the previous one.

Nothing estimated inside a gap is ever reported: the shared grid's ``valid`` flag is False there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class GapPolicy:
    """How missing samples are handled (see the module docstring).

    gap_factor
        A step longer than this many median sample periods is a gap. Default 1.8.
    bridge_s
        Longest gap bridged by interpolation inside one filter run. Default 0.25 s.
    link_s
        Longest gap across which the heading is carried (the next run is stitched). Default 2.0 s.
    """

    gap_factor: float = 1.8
    bridge_s: float = 0.25
    link_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.gap_factor > 1:
            raise ValueError(f"gap_factor must be > 1, got {self.gap_factor!r}")
        if not 0 < self.bridge_s <= self.link_s:
            raise ValueError(f"need 0 < bridge_s <= link_s, got bridge_s={self.bridge_s!r}, link_s={self.link_s!r}")


@dataclass(frozen=True, slots=True)
class SensorGrid:
    """One sensor's samples (plus bridged gap samples) at its native rate.

    ``segment`` numbers the filter runs (a run restarts after every gap longer than ``bridge_s``);
    ``block`` numbers the stretches of continuous heading (a new block after gaps longer than
    ``link_s``); ``link_gap_s[r]`` is the gap before run ``r`` when it is linked to run ``r − 1``
    (NaN for the first run of a block).
    """

    t_s: np.ndarray  # (M,)
    acc_m_s2: np.ndarray  # (M, 3)
    gyr_rad_s: np.ndarray  # (M, 3)
    valid: np.ndarray  # (M,) bool — False inside bridged gaps
    segment: np.ndarray  # (M,) int
    dt_s: float
    block: np.ndarray | None = None  # (M,) int; None: one block per segment
    link_gap_s: np.ndarray | None = None  # (n_segments,)


def native_grid(
    t_s: np.ndarray,
    acc_m_s2: np.ndarray,
    gyr_rad_s: np.ndarray,
    *,
    policy: GapPolicy | None = None,
) -> SensorGrid:
    """One sensor ready for VQF at its median rate: short gaps bridged (invalid), longer ones split."""
    policy = policy or GapPolicy()
    t = np.asarray(t_s, dtype=float)
    if len(t) < 10:
        raise ValueError(f"only {len(t)} samples; need at least 10")
    dts = np.diff(t)
    dt = _median(dts)
    if not dt > 0 or np.any(dts <= 0):
        raise ValueError("timestamps are not strictly increasing")
    gap_factor = policy.gap_factor
    is_gap = dts > gap_factor * dt
    is_long = is_gap & (dts > policy.bridge_s)  # a new filter run starts after each
    long_idx = np.flatnonzero(is_long)
    # per run: the gap before it, its heading block (a new one after gaps longer than link_s)
    before = np.r_[np.inf, dts[long_idx]]
    link = np.where(before <= policy.link_s, before, np.nan)
    run_block = np.cumsum(before > policy.link_s) - 1
    # The sensor's own samples are kept as they are (their jitter and the clocks' ppm drift are far
    # below what VQF notices); only inside short gaps are evenly spaced samples inserted, linearly
    # interpolated and marked invalid, so the filter's integration stays continuous. One pass over
    # the whole stream: runs are cut at the long gaps, where nothing is inserted.
    short_idx = np.flatnonzero(is_gap & ~is_long)
    n = len(t)
    acc_s, gyr_s = np.asarray(acc_m_s2, dtype=float), np.asarray(gyr_rad_s, dtype=float)
    if not len(short_idx):  # no short gap to bridge: the samples as they are (the common case)
        runs = np.diff(np.r_[0, long_idx + 1, n])  # each filter run's length
        return SensorGrid(t_s=t, acc_m_s2=acc_s, gyr_rad_s=gyr_s, valid=np.ones(n, dtype=bool),
                          segment=np.repeat(np.arange(len(runs)), runs), dt_s=dt, block=np.repeat(run_block, runs), link_gap_s=link)
    # where each real sample lands: its index plus the samples inserted before it (a few hundred
    # stretches between short gaps, each shifted by one amount)
    k_short = np.maximum(np.rint(dts[short_idx] / dt).astype(int) - 1, 0)  # samples inserted after each
    first = np.arange(n) + np.repeat(np.r_[0, np.cumsum(k_short)], np.diff(np.r_[0, short_idx + 1, n]))
    m = int(first[-1]) + 1
    real = np.zeros(m, dtype=bool)
    real[first] = True
    ins = np.flatnonzero(~real)
    s_ins = np.searchsorted(first, ins) - 1  # the real sample before each inserted one
    k_ins = np.zeros(n, dtype=int)
    k_ins[short_idx] = k_short
    u = (ins - first[s_ins]) / (k_ins[s_ins] + 1)
    src = np.repeat(np.arange(n), k_ins + 1)  # each grid sample's real sample (or the one before it)
    tg, acc_g, gyr_g = t.take(src), acc_s.take(src, axis=0), gyr_s.take(src, axis=0)  # (a gather beats a scatter)
    for out, x in ((tg, t), (acc_g, acc_s), (gyr_g, gyr_s)):
        w = u if x.ndim == 1 else u[:, None]
        out[ins] += w * (x[s_ins + 1] - x[s_ins])
    runs = np.diff(np.r_[0, first[long_idx + 1], m])  # each filter run's length on the grid
    return SensorGrid(t_s=tg, acc_m_s2=acc_g, gyr_rad_s=gyr_g, valid=real, segment=np.repeat(np.arange(len(runs)), runs),
                      dt_s=dt, block=np.repeat(run_block, runs), link_gap_s=link)


def _median(x: np.ndarray) -> float:
    """np.median of a 1-D array (NaN if any is NaN), by a sort: a clock's steps are nearly all equal,
    which numpy's sort handles in about linear time while the partition behind np.median does not."""
    if not len(x):
        return float("nan")
    srt = np.sort(x)
    if np.isnan(srt[-1]):
        return float("nan")
    h = len(srt) // 2
    return float(srt[h]) if len(srt) % 2 else float((srt[h - 1] + srt[h]) / 2.0)


def common_grid(t_starts: list[float], t_ends: list[float], rate_hz: float, *, origin_s: float | None = None) -> np.ndarray:
    """The shared uniform time base covering the span where every sensor recorded; with ``origin_s``
    its samples fall on origin_s + k/rate_hz (a window of a longer recording keeps that grid's phase)."""
    t0, t1 = max(t_starts), min(t_ends)
    if t1 <= t0:
        raise ValueError("the sensors' recordings do not overlap in time")
    if origin_s is not None:
        k0 = int(np.ceil((t0 - origin_s) * rate_hz - 1e-9))
        k1 = int(np.floor((t1 - origin_s) * rate_hz + 1e-9))
        return origin_s + np.arange(k0, k1 + 1) / rate_hz
    n = int(np.floor((t1 - t0) * rate_hz)) + 1
    return t0 + np.arange(n) / rate_hz


def _segment_spans(segment: np.ndarray) -> list[tuple[int, int]]:
    """[a, b) index spans of the contiguous segments (segments are contiguous by construction)."""
    edges = np.flatnonzero(np.diff(segment) != 0) + 1
    bounds = np.concatenate([[0], edges, [len(segment)]])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


class GridIndex:
    """Where each instant of a shared grid ``t_dst`` falls among one sensor's samples: per filter run,
    the bracketing samples and the weight — searched once, then used for every channel resampled
    (the orientation and gyroscope at once, the accelerations only when something reads them).

    Never interpolates across a long gap: grid instants outside every run get segment −1 (the
    orientation there is the identity, the signals bridged linearly; invalid anyway).
    """

    def __init__(self, t_src: np.ndarray, segment_src: np.ndarray, t_dst: np.ndarray) -> None:
        self.t_src, self.t_dst = t_src, t_dst
        #: (a, b, lo, hi, j, u): source run [a, b) covers grid rows [lo, hi); row lo + i lies between
        #: source samples a + j[i] − 1 and a + j[i], at weight u[i] from the first
        self.spans: list[tuple[int, int, int, int, np.ndarray, np.ndarray]] = []
        self.segment = np.full(len(t_dst), -1)
        for a, b in _segment_spans(segment_src):
            if b - a < 2:
                continue
            ts = t_src[a:b]
            lo, hi = int(np.searchsorted(t_dst, ts[0], side="left")), int(np.searchsorted(t_dst, ts[-1], side="right"))
            if hi <= lo:
                continue
            td = t_dst[lo:hi]
            j = np.searchsorted(ts, td, side="right")
            np.clip(j, 1, len(ts) - 1, out=j)
            t0 = ts.take(j - 1)
            self.spans.append((a, b, lo, hi, j, (td - t0) / (ts.take(j) - t0)))
            self.segment[lo:hi] = segment_src[a]
        self.gap = np.flatnonzero(self.segment < 0)

    def valid(self, valid_src: np.ndarray) -> np.ndarray:
        """A grid row is valid where both bracketing samples are."""
        out = np.zeros(len(self.t_dst), dtype=bool)
        for a, b, lo, hi, j, _ in self.spans:
            vs = valid_src[a:b]
            out[lo:hi] = vs.take(j) & vs.take(j - 1)
        return out

    def quaternions(self, quat_wxyz: np.ndarray) -> np.ndarray:
        """(4, N) orientation, normalised linear interpolation: identical to slerp within 1e-5 rad for
        the ≤ 0.05 rad rotations between neighbouring samples, and ~20× faster."""
        out = self._lerp((quat_wxyz,), quaternions=True)
        out[:, self.gap] = np.array([[1.0], [0.0], [0.0], [0.0]])
        return out

    def signals(self, *parts: np.ndarray, rows: int | None = None) -> np.ndarray:
        """(k, N) linear interpolation of (M, k_i) signals, as their column-wise concatenation (without
        forming it). ``rows``: only the grid's first rows (the rest is left unset)."""
        out = self._lerp(parts, rows=rows)
        gap = self.gap if rows is None else self.gap[self.gap < rows]  # (the rows made)
        if len(gap):
            out[:, gap] = interp_rows(self.t_src, np.hstack(parts) if len(parts) > 1 else parts[0], self.t_dst[gap]).T
        return out

    def _lerp(self, parts: tuple[np.ndarray, ...], *, quaternions: bool = False, rows: int | None = None) -> np.ndarray:
        """Channel-major (k, N) interpolation, channel by channel (this runs on every sample of a
        session). Every source channel is made one contiguous series first (one strided pass; a strided
        column's take copies the column for each gather), and the gathers write straight into the
        output and one reused buffer (a fresh temporary per step costs more in page faults than the
        arithmetic on it)."""
        src = np.empty((sum(p.shape[1] for p in parts), len(self.t_src)))
        row = 0
        for p in parts:
            src[row : row + p.shape[1]] = p.T
            row += p.shape[1]
        n_rows = len(self.t_dst) if rows is None else min(rows, len(self.t_dst))
        out = np.empty((len(src), n_rows))
        buf: np.ndarray | None = None
        for a, b, lo, hi, j, u in self.spans:
            if lo >= n_rows:
                break
            if hi > n_rows:
                j, u, hi = j[: n_rows - lo], u[: n_rows - lo], n_rows
            jm = j - 1
            if buf is None or buf.shape[1] < hi - lo:
                buf = np.empty((len(src), hi - lo))
            x0, x1 = out[:, lo:hi], buf[:, : hi - lo]
            for i, series in enumerate(src[:, a:b]):  # mode "clip": unbuffered (the indices are in range)
                series.take(jm, out=x0[i], mode="clip")
                series.take(j, out=x1[i], mode="clip")
            if quaternions:  # the same hemisphere before interpolating
                flip = np.einsum("in,in->n", x0, x1) < 0
                if flip.any():
                    x1[:, flip] *= -1.0
            x1 -= x0
            x1 *= u
            x0 += x1
            if quaternions:
                x0 /= np.sqrt(np.einsum("in,in->n", x0, x0))
        return out


def resample_sensor(
    t_src: np.ndarray,
    quat_wxyz: np.ndarray,
    signals: np.ndarray | tuple[np.ndarray, ...],
    valid_src: np.ndarray,
    segment_src: np.ndarray,
    t_dst: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Orientation (nlerp) and (N, k) signals (linear; or a tuple of (N, k_i) arrays, resampled as their
    column-wise concatenation) onto ``t_dst``: (quat_wxyz, signals, valid, segment), through one
    :class:`GridIndex` (the returned (N, k) arrays are transposed views of channel-major ones)."""
    ix = GridIndex(t_src, segment_src, t_dst)
    parts = (signals,) if isinstance(signals, np.ndarray) else tuple(signals)
    return ix.quaternions(quat_wxyz).T, ix.signals(*parts).T, ix.valid(valid_src), ix.segment


def interp_rows(t_src: np.ndarray, x: np.ndarray, t_dst: np.ndarray) -> np.ndarray:
    """np.interp for every column of ``x`` at once (one search), clamped at the ends."""
    j = np.clip(np.searchsorted(t_src, t_dst, side="right"), 1, len(t_src) - 1)
    u = np.clip((t_dst - t_src[j - 1]) / (t_src[j] - t_src[j - 1]), 0.0, 1.0)[:, None]
    out: np.ndarray = x[j - 1] + u * (x[j] - x[j - 1])
    return out
