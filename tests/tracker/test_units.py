"""Unit tests of the processing core's building blocks (no simulator needed)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from tracker.calibration import anatomical_frame, nominal_ml_axis
from tracker.compensation import CompensationDetector, hinge_onset
from tracker.heading import drift_causal, drift_offline
from tracker.joint_angles import anatomical_axes, heading_reference, hip_flexion, pelvic_tilt
from tracker.reps import Biquad, RepDetector, assign_sets, label_partials
from tracker.rotations import quat_to_matrix, rz
from tracker.timebase import GapPolicy, native_grid, resample_sensor


def test_biquad_matches_sosfilt_after_priming() -> None:
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=500))
    sos = signal.butter(2, 4.0, fs=100.0, output="sos")
    f = Biquad(sos)
    y = np.array([f.step(v) for v in x])
    zi = signal.sosfilt_zi(sos) * x[0]
    ref, _ = signal.sosfilt(sos, x, zi=zi)
    np.testing.assert_allclose(y, ref, atol=1e-9)


def test_native_grid_bridges_short_gaps_and_restarts_after_longer_ones() -> None:
    t = np.arange(0, 10, 0.01)
    keep = ~(((t > 3.0) & (t < 3.2)) | ((t > 6.0) & (t < 7.5)))
    t = t[keep]
    acc = np.tile([9.81, 0, 0], (len(t), 1))
    gyr = np.zeros((len(t), 3))
    g = native_grid(t, acc, gyr)  # default: bridge ≤ 0.25 s, link ≤ 2 s
    assert len(np.unique(g.segment)) == 2  # the 1.5 s gap restarts the filter …
    assert g.block is not None and len(np.unique(g.block)) == 1  # … and the heading is carried across it
    assert g.link_gap_s is not None and g.link_gap_s[1] == pytest.approx(1.5, abs=0.02)
    inside_short = (g.t_s > 3.02) & (g.t_s < 3.18)
    assert inside_short.any() and not g.valid[inside_short].any()
    assert g.valid[(g.t_s > 1) & (g.t_s < 2.9)].all()
    assert not ((g.t_s > 6.05) & (g.t_s < 7.45)).any()  # nothing invented across the longer gap
    g2 = native_grid(t, acc, gyr, policy=GapPolicy(link_s=1.0))
    assert g2.block is not None and len(np.unique(g2.block)) == 2  # beyond link_s: a new heading block
    with pytest.raises(ValueError, match="bridge_s"):
        GapPolicy(bridge_s=3.0, link_s=2.0)


def test_resample_never_crosses_segments() -> None:
    t = np.r_[np.arange(0, 1, 0.01), np.arange(2, 3, 0.01)]
    q = np.tile([1.0, 0, 0, 0], (len(t), 1))
    seg = np.r_[np.zeros(100, int), np.ones(100, int)]
    out, _, valid, s = resample_sensor(t, q, np.zeros((len(t), 1)), np.ones(len(t), bool), seg, np.arange(0, 3, 0.005))
    gap = (np.arange(0, 3, 0.005) > 1.0) & (np.arange(0, 3, 0.005) < 2.0)
    assert not valid[gap].any() and valid[~gap & (np.arange(0, 3, 0.005) < 0.98)].all()


def _rot_about(axis: np.ndarray, ang: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(axis * ang).as_matrix()


def _quat(m: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    x = Rotation.from_matrix(m).as_quat()
    return np.array([[x[3], x[0], x[1], x[2]]])


def test_hip_flexion_is_heading_free_and_tilt_signs() -> None:
    """Frames: sensor == anatomical; thigh flexed 60° about the pelvis Z, pelvis tilted 10° anterior,
    then both earth frames get different arbitrary headings: flexion and tilt must not change."""
    eye = np.eye(3)
    # earth: z up; anatomical Y ↔ earth z, X ↔ earth x, Z ↔ −earth y (right-handed mapping)
    base = np.column_stack([[1, 0, 0], [0, 0, 1], [0, -1, 0]]).astype(float)
    tilt = _rot_about(base[:, 2], -np.radians(10))  # anterior tilt = negative about +Z
    rot_p = tilt @ base
    rot_t = tilt @ _rot_about(base[:, 2], np.radians(60)) @ base
    for h_t, h_p in ((0.0, 0.0), (1.0, -2.0)):
        qt = _quat(rz(np.array([h_t]))[0] @ rot_t)
        qp = _quat(rz(np.array([h_p]))[0] @ rot_p)
        y_t = anatomical_axes(qt, eye)[:, :, 1]
        x_p, y_p = anatomical_axes(qp, eye)[:, :, 0], anatomical_axes(qp, eye)[:, :, 1]
        hip = np.degrees(hip_flexion(y_t, x_p, y_p, np.array([h_p - h_t])))[0]
        assert hip == pytest.approx(60.0, abs=1e-6)
        tl = np.degrees(pelvic_tilt(y_p, np.array([h_p])))[0]  # pelvis faces earth x turned by h_p
        assert tl == pytest.approx(10.0, abs=1e-6)


def test_drift_interpolates_between_rests_and_live_holds() -> None:
    """Δ: interpolated between rests within a filter piece (offline), held from the last rest (live);
    wrapping at ±π is unwrapped; a piece without rests inherits the anchored value of its block."""
    n = 300
    d = np.r_[np.full(100, np.pi - 0.02), np.full(100, 0.0), np.full(100, -np.pi + 0.02)]
    rest = np.zeros(n, bool)
    rest[:50] = rest[250:] = True
    block, piece = np.zeros(n, int), np.zeros(n, int)
    off = drift_offline(d, rest, piece, block)
    np.testing.assert_allclose(off[[0, 299]], [np.pi - 0.02, np.pi + 0.02], atol=1e-12)  # unwrapped, no 2π jump
    assert np.all(np.abs(np.diff(off)) < 0.01)
    live = drift_causal(d, rest, block)
    assert np.all(live[50:250] == live[49])  # held through the movement
    piece[150:] = 1
    rest[250:] = False
    off2 = drift_offline(d, rest, piece, block)
    assert np.all(off2[150:] == off2[149])  # the rest-less piece continues its linked neighbour
    block[150:] = 1
    assert np.isnan(drift_offline(d, rest, piece, block)[150:]).all()  # an unlinked block without rests: unknown
    ref = heading_reference(d, rest, np.zeros(n, int), causal=True)
    assert np.all(ref[50:] == ref[49])


def test_anatomical_frame_and_nominal_axes() -> None:
    f = anatomical_frame(np.array([1.0, 0, 0]), nominal_ml_axis("pelvis", "left"))
    np.testing.assert_allclose(f, np.column_stack([[0, 0, -1], [1, 0, 0], [0, -1, 0]]), atol=1e-12)
    q = np.array([[np.cos(0.5), 0, 0, np.sin(0.5)]])
    np.testing.assert_allclose(quat_to_matrix(q)[0], rz(np.array([1.0]))[0], atol=1e-12)


def _bump(t: np.ndarray, t0: float, up: float, hold: float, down: float) -> np.ndarray:
    def mj(u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0, 1)
        return 10 * u**3 - 15 * u**4 + 6 * u**5

    return np.where(t < t0 + up, mj((t - t0) / up), 1 - mj((t - t0 - up - hold) / down))


def test_rep_detector_counts_slow_held_reps_and_ignores_fidgets() -> None:
    fs = 100.0
    t = np.arange(0, 80, 1 / fs)
    hip = np.zeros_like(t)
    starts = [3, 12, 28, 40, 55]
    peaks = [80, 75, 30, 82, 78]  # the third is partial
    holds = [1, 8, 0.5, 1, 12]  # long holds
    for t0, p, h in zip(starts, peaks, holds):
        hip += p * _bump(t, t0, 3.0, h, 3.0) * ((t >= t0) & (t < t0 + 6 + h + 0.01))
    hip += 8 * _bump(t, 36.5, 0.5, 0.3, 0.5) * ((t >= 36.5) & (t < 38))  # a leg wiggle (fidget)
    hip += np.random.default_rng(1).normal(0, 0.3, len(t))
    tilt = -0.05 * hip
    hip_copy = hip.copy()
    det = RepDetector("knee_raise", rate_hz=fs).detect(t, hip, tilt, np.ones(len(t), bool))
    np.testing.assert_array_equal(hip, hip_copy)  # input never mutated
    assert len(det.reps_) == 5
    got = [r.peak_hip_deg for r in det.reps_]
    np.testing.assert_allclose(got, peaks, atol=1.5)
    assert det.reps_[1].hold_s == pytest.approx(8.0, abs=1.0)
    assert label_partials(got, float(np.median(got))) == [False, False, True, False, False]
    # batch (vectorised, event to event) == streaming (sample by sample), also across invalid samples
    valid = np.ones(len(t), bool)
    valid[2000:2030] = False
    valid[4100:4115] = False
    batch = RepDetector("knee_raise", rate_hz=fs).detect(t, hip, tilt, valid).reps_
    det2 = RepDetector("knee_raise", rate_hz=fs)
    stream = [r for ti, h, tl, v in zip(t, hip, tilt, valid) if v and (r := det2.update(ti, h, tl)) is not None]
    assert len(stream) == len(batch) == 5
    for a, b in zip(stream, batch):
        assert (a.start_s, a.peak_s, a.end_s, a.emitted_at_s) == (b.start_s, b.peak_s, b.end_s, b.emitted_at_s)
        assert a.peak_hip_deg == pytest.approx(b.peak_hip_deg, abs=1e-9)
        assert a.hold_s == pytest.approx(b.hold_s, abs=1e-9)
        assert a.compensation.compensation_deg == pytest.approx(b.compensation.compensation_deg, abs=1e-9)


def test_extension_reps_have_negative_peaks() -> None:
    fs = 100.0
    t = np.arange(0, 30, 1 / fs)
    hip = np.zeros_like(t)
    for t0 in (3, 10, 17):
        hip -= 20 * _bump(t, t0, 1.5, 1.0, 1.5) * ((t >= t0) & (t < t0 + 4.01))
    hip += 10 * _bump(t, 24, 0.5, 0.3, 0.5) * ((t >= 24) & (t < 25.5))  # flexion fidget: not a rep
    det = RepDetector("hip_extension", rate_hz=fs).detect(t, hip, np.zeros_like(t), np.ones(len(t), bool))
    assert [round(r.peak_hip_deg) for r in det.reps_] == [-20, -20, -20]


def test_compensation_measures_and_onset() -> None:
    hip = np.r_[np.linspace(0, 80, 81), np.linspace(80, 0, 81)]
    tilt = -0.05 * hip - 15 * np.clip((hip - 50) / 30, 0, 1) * (np.arange(162) < 81)
    tilt[81:] = np.linspace(tilt[80], 0, 81)
    res = CompensationDetector("knee_raise", threshold_deg=10).measure(hip, tilt, 80)
    assert res.compensation_deg == pytest.approx(19.0, abs=0.01)
    assert res.compensated and res.onset_hip_deg == pytest.approx(50, abs=3)
    # butt wink: anterior during the descent, then posterior at depth
    sq = np.linspace(0, 110, 111)
    st = 0.2 * sq - 12 * np.clip((sq - 85) / 25, 0, 1)
    w = CompensationDetector("deep_squat").measure(sq, st, 110)
    assert w.compensation_deg == pytest.approx(float(np.max(st) - st[-1]), abs=1e-9)
    assert hinge_onset(np.arange(3.0), np.zeros(3)) != hinge_onset(np.arange(3.0), np.zeros(3))  # nan: too short


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"enter_deg": -1.0}, "enter_deg"),
        ({"end_fraction": 1.5}, "end_fraction"),
        ({"lowpass_hz": 60.0}, "lowpass_hz"),
        ({"end_level_deg": 30.0}, "hysteresis"),
    ],
)
def test_rep_detector_validates_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RepDetector("knee_raise", rate_hz=100.0, **kwargs)


def test_compensation_validates_threshold() -> None:
    with pytest.raises(ValueError, match="threshold_deg"):
        CompensationDetector("knee_raise", threshold_deg=0.0)
    with pytest.raises(ValueError, match="unknown exercise"):
        CompensationDetector("plank")  # type: ignore[arg-type]


def test_assign_sets_splits_on_long_rest() -> None:
    assert assign_sets([0, 6, 12, 50, 56], [4, 10, 16, 54, 60]) == [0, 0, 0, 1, 1]


def test_rotate_vec_matches_matrices() -> None:
    from tracker.rotations import rotate_vec

    rng = np.random.default_rng(3)
    q = rng.normal(size=(50, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    v = np.array([0.3, -0.2, 0.9])
    np.testing.assert_allclose(rotate_vec(q, v), quat_to_matrix(q) @ v, atol=1e-12)


def _held_reps_signal() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fs = 100.0
    t = np.arange(0, 60, 1 / fs)
    hip = np.zeros_like(t)
    for t0, p, h in zip([3, 14, 30, 44], [80, 70, 82, 76], [1, 5, 0.5, 2]):
        hip += p * _bump(t, t0, 3.0, h, 3.0) * ((t >= t0) & (t < t0 + 6 + h + 0.01))
    hip += np.random.default_rng(7).normal(0, 0.3, len(t))
    return t, hip, -0.1 * hip + np.random.default_rng(8).normal(0, 0.2, len(t))


@pytest.mark.parametrize("split_s", [2.0, 5.0, 10.3, 13.0, 16.0, 33.0, 59.0])
def test_detect_leaves_the_state_update_would_have(split_s: float) -> None:
    """Live replay: ``detect`` over a buffer, then ``update`` sample by sample == ``update`` throughout
    (split while idle, mid-rise, at a hold and just after a rep)."""
    t, hip, tilt = _held_reps_signal()
    ref = RepDetector("knee_raise", rate_hz=100.0)
    ref_reps = [r for a, b, c in zip(t, hip, tilt) if (r := ref.update(a, b, c)) is not None]
    k = int(split_s * 100)
    det = RepDetector("knee_raise", rate_hz=100.0).detect(t[:k], hip[:k], tilt[:k], np.ones(k, bool))
    assert det.state == ("active" if any(r.start_s <= t[k - 1] < r.end_s for r in ref_reps) else "idle")
    reps = list(det.reps_) + [r for a, b, c in zip(t[k:], hip[k:], tilt[k:]) if (r := det.update(a, b, c)) is not None]
    assert len(ref_reps) == len(reps) == 4
    for a, b in zip(ref_reps, reps):
        assert (a.start_s, a.peak_s, a.end_s) == (b.start_s, b.peak_s, b.end_s)
        assert a.peak_hip_deg == pytest.approx(b.peak_hip_deg, abs=1e-9)
        assert a.compensation.compensation_deg == pytest.approx(b.compensation.compensation_deg, abs=1e-9)
    assert det.signal_deg == pytest.approx(ref.signal_deg, abs=1e-9)


def test_causal_smoothers_continue_exactly_across_chunks() -> None:
    """Live: drift and heading reference computed chunk by chunk (held state carried) equal one pass."""
    rng = np.random.default_rng(3)
    n = 2000
    d = np.cumsum(rng.normal(0, 0.01, n))
    h = np.cumsum(rng.normal(0, 0.02, n))
    rest = (np.arange(n) // 150) % 2 == 0
    block = np.where(np.arange(n) < 1200, 0, 1)
    whole_d = drift_causal(d, rest, block)
    whole_r = heading_reference(h, rest, block, causal=True)
    parts_d, parts_r, last, last_block, last_r = [], [], float("nan"), -1, float("nan")
    for a in range(0, n, 173):
        b = min(n, a + 173)
        pd = drift_causal(d[a:b], rest[a:b], block[a:b], last, last_block)
        pr = heading_reference(h[a:b], rest[a:b], block[a:b], causal=True, last=last_r)
        parts_d.append(pd)
        parts_r.append(pr)
        fin = pd[np.isfinite(pd)]
        last, last_block, last_r = (float(fin[-1]) if len(fin) else float("nan")), int(block[b - 1]), float(pr[-1])
    np.testing.assert_allclose(np.concatenate(parts_d), whole_d, atol=1e-12)
    np.testing.assert_allclose(np.concatenate(parts_r)[block == 0], whole_r[block == 0], atol=1e-12)
