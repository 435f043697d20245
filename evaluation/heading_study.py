"""The evidence for the relative-heading method (docs/coordinate-systems.md): every method tried × data set.

Each method turns the same oriented, calibrated recording (the engine's own grid and frames) into hip
flexion; only the relative heading δ differs:

  hinge pairing      the engine before issue 14: δ aligns the thigh's functional hinge axis with the
                     pelvis' flexion-axis estimate, per sample, smoothed over 6 s
  sagittal           no heading at all: each segment's sagittal inclination from gravity, thigh − pelvis
  qmt 1-DoF / 3-DoF  qmt.headingCorrection (Laidig et al.) for a hinge (euler_1d) and for a 3-DoF joint
                     with range-of-motion limits — when the optional ``qmt`` package is installed
  joint centre, one δ     the issue's prototype: one δ per session from the horizontal joint-centre
                     accelerations (Seel offsets), no drift tracking
  engine             δ(t) = Δ(t) + c: drift at rests, constant from the joint centre (tracker/heading.py)
  magnetometer       each sensor's 9D VQF heading (evaluation/magnetometer.py), without and with the
                     disturbance check (VQF's magDistDetected → the engine's hip there) — only on the
                     simulator's sessions with a magnetometer (clean, hard-iron, disturbed)
  true δ             the true relative heading of the two filters' earth frames (only an evaluation
                     knows it): what is left is the frames, soft tissue and the filters themselves

    .venv/bin/python -m evaluation.heading_study [--quick]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tracker.joint_angles import anatomical_axes, hip_flexion
from tracker.pipeline import SessionAnalyzer
from tracker.rotations import quat_to_matrix
from tracker.stages import AngleSolution, SharedGrid

if TYPE_CHECKING:
    from simulation import SimulationConfig


@dataclass(slots=True)
class Case:
    """One analysed recording with its reference."""

    name: str
    dataset: str
    analyzer: SessionAnalyzer
    ref_hip_deg: np.ndarray  # on the engine's grid
    reps: list[tuple[float, float, float]]  # (start, end, true peak)
    sign: float
    delta_true_rad: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def grid(self) -> SharedGrid:
        return self.analyzer.grid_

    @property
    def sol(self) -> AngleSolution:
        return self.analyzer.angles_


def relative_heading_true(grid: SharedGrid, rot_thigh: np.ndarray, rot_pelvis: np.ndarray) -> np.ndarray:
    """The true δ: heading of (E_pelvis ← world)·(E_thigh ← world)ᵀ with E ← world = R_vqf·R_trueᵀ."""
    Rt, Rp = quat_to_matrix(grid.quat_thigh), quat_to_matrix(grid.quat_pelvis)
    Et = Rt @ np.transpose(rot_thigh, (0, 2, 1))
    Ep = Rp @ np.transpose(rot_pelvis, (0, 2, 1))
    M = Ep @ np.transpose(Et, (0, 2, 1))
    out: np.ndarray = np.arctan2(M[:, 1, 0], M[:, 0, 0])
    return out


def prmd_case(data_dir: Path, folder: str, movement: str, seed: int) -> Case:
    from evaluation.vicon import RATE_HZ, build_session, stand_zeroed_reference

    exercise = {"m06": "knee_raise", "m01": "deep_squat"}[movement]
    raw, cat = build_session(data_dir, movement, folder=folder, seed=seed)
    an = SessionAnalyzer(exercise, "right").analyze(raw)
    g = an.grid_
    ref = stand_zeroed_reference(cat)
    idx = np.clip(np.round((g.t_s - cat.t_s[0]) * RATE_HZ).astype(int), 0, len(cat.t_s) - 1)
    assert cat.mount_thigh is not None and cat.mount_pelvis is not None
    Lt = (cat.r_thigh * cat.mount_thigh)[idx].as_matrix()
    Lp = (cat.r_pelvis * cat.mount_pelvis)[idx].as_matrix()
    reps = [(a, b, float(np.max(ref[int(a * RATE_HZ) : int(b * RATE_HZ)]))) for a, b in cat.rep_windows]
    return Case(f"{folder} {movement} seed {seed}", f"UI-PRMD {movement} {folder}", an, ref[idx], reps, 1.0,
                relative_heading_true(g, Lt, Lp))


def simulated_case(cfg: SimulationConfig, dataset: str) -> Case:
    import simulation
    from tracker import rotations as Q

    sim = simulation.simulate(cfg)
    ex, side = sim.config.exercise, sim.config.side
    an = SessionAnalyzer(ex, side).analyze(sim.raw)
    g, tr = an.grid_, sim.truth
    rots = []
    for name in ("thigh", "pelvis"):
        st = tr.sensors[name]
        raw_t = sim.raw.stream(name).t_s
        assert st.quat_world_wxyz is not None
        rots.append(quat_to_matrix(Q.interpolate(raw_t, st.quat_world_wxyz, np.clip(g.t_s, raw_t[0], raw_t[-1]))))
    sign = 1.0 if sim.config.target_amplitude_deg > 0 else -1.0
    reps = [(r.start_s, r.end_s, r.peak_hip_flexion_deg) for r in tr.reps]
    extras: dict[str, np.ndarray] = {}
    if sim.raw.thigh.mag_ut is not None and sim.raw.pelvis.mag_ut is not None:
        from evaluation.magnetometer import mag_delta

        t0, t1 = an.calibrator_.stand_span_s_
        md = mag_delta(sim.raw.thigh, sim.raw.pelvis, g.t_s, g.quat_thigh, g.quat_pelvis, (g.t_s >= t0) & (g.t_s <= t1) & g.valid)
        extras["mag_delta"], extras["mag_disturbed"] = md.delta_rad, md.disturbed
        extras["mag_off_reference"] = md.off_reference
        dist = [np.interp(g.t_s, tr.sensors[n].t_true_s, tr.sensors[n].mag_disturbance_ut)  # type: ignore[arg-type]
                for n in ("thigh", "pelvis")]
        extras["mag_true_disturbance_ut"] = np.maximum(dist[0], dist[1])
    return Case(f"{ex} {side} seed {sim.config.seed}", dataset, an, np.interp(g.t_s, tr.t_s, tr.hip_flexion_deg), reps,
                sign, relative_heading_true(g, rots[0], rots[1]), extras)


# -- the methods: hip flexion on the engine's grid with the engine's frames, only δ differs --------------

def _hip_with_delta(c: Case, delta: np.ndarray) -> np.ndarray:
    cal, g = c.analyzer.calibrator_, c.grid
    A_t, A_p = anatomical_axes(g.quat_thigh, cal.frame_thigh_), anatomical_axes(g.quat_pelvis, cal.frame_pelvis_)
    hip = np.degrees(hip_flexion(A_t[:, :, 1], A_p[:, :, 0], A_p[:, :, 1], delta))
    t0, t1 = cal.stand_span_s_
    stand = (g.t_s >= t0) & (g.t_s <= t1) & g.valid
    out: np.ndarray = hip - np.mean(hip[stand])
    return out


def hinge_pairing(c: Case) -> np.ndarray:
    """Engine 1: δ aligns the thigh's hinge axis (frame ML) with the pelvis' one, weighted by how
    horizontal both are, zero-phase averaged over 6 s within each heading block."""
    cal, g = c.analyzer.calibrator_, c.grid
    zt = anatomical_axes(g.quat_thigh, cal.frame_thigh_)[:, :, 2]
    zp = anatomical_axes(g.quat_pelvis, cal.frame_pelvis_)[:, :, 2]
    d = np.arctan2(zp[:, 1], zp[:, 0]) - np.arctan2(zt[:, 1], zt[:, 0])
    w = (np.hypot(zt[:, 0], zt[:, 1]) * np.hypot(zp[:, 0], zp[:, 1])) ** 2 * g.valid
    n = int(6.0 * g.rate_hz) // 2
    cs, sn = np.cumsum(np.r_[0.0, w * np.cos(d)]), np.cumsum(np.r_[0.0, w * np.sin(d)])
    i = np.arange(len(d))
    lo, hi = np.clip(i - n, 0, len(d)), np.clip(i + n + 1, 0, len(d))
    return _hip_with_delta(c, np.arctan2(sn[hi] - sn[lo], cs[hi] - cs[lo]))


def sagittal(c: Case) -> np.ndarray:
    return c.sol.hip_sagittal_deg


def joint_centre_one_delta(c: Case) -> np.ndarray:
    """The issue's prototype: one δ per session from the horizontal joint-centre accelerations in the
    two raw earth frames (no drift model, no accelerometer-error terms)."""
    from tracker.heading import solve_constant
    from tracker.joint_centre import earth_accelerations, highpass, lever_matrices, lowpass

    g, h = c.grid, c.analyzer.heading_
    r_t, r_p = c.sol.offsets_m if c.sol.offsets_m is not None else (np.zeros(3), np.zeros(3))
    lp = h.jc_lowpass_hz
    e_t = earth_accelerations(g.quat_thigh, lowpass(g.acc_thigh, g.rate_hz, lp), lever_matrices(g.gyr_thigh, g.rate_hz, lp), r_t)
    e_p = earth_accelerations(g.quat_pelvis, lowpass(g.acc_pelvis, g.rate_hz, lp), lever_matrices(g.gyr_pelvis, g.rate_hz, lp), r_p)
    a, b = highpass(e_t[:, :2], g.rate_hz, 0.05), highpass(e_p[:, :2], g.rate_hz, 0.05)
    k = solve_constant(a, b, g.valid.astype(float), rate_hz=g.rate_hz, bandwidth_hz=lp, iterations=0)
    return _hip_with_delta(c, np.full(len(g.t_s), k.c_rad))


def engine(c: Case) -> np.ndarray:
    return c.sol.hip_deg


def true_delta(c: Case) -> np.ndarray:
    return _hip_with_delta(c, c.delta_true_rad)


def magnetometer_unchecked(c: Case) -> np.ndarray | None:
    """δ from the two 9D VQF headings everywhere (None: the recording has no magnetometer)."""
    if "mag_delta" not in c.extras:
        return None
    return _hip_with_delta(c, c.extras["mag_delta"])


def magnetometer_checked(c: Case, strict: bool = False) -> np.ndarray | None:
    """δ from the magnetometers where neither VQF flags a disturbance (``strict``: nor is either
    sensor's field norm/dip off the calibration stand's); the engine's hip elsewhere."""
    hip = magnetometer_unchecked(c)
    if hip is None:
        return None
    bad = c.extras["mag_disturbed"] | (c.extras["mag_off_reference"] if strict else False)
    out: np.ndarray = np.where(bad, c.sol.hip_deg, hip)
    return out


def _qmt(c: Case, dof: int) -> np.ndarray:  # pragma: no cover - optional dependency
    import qmt
    from scipy.spatial.transform import Rotation

    from tracker import rotations as Q

    g, cal = c.grid, c.analyzer.calibrator_
    Fp = Q.from_rotation(Rotation.from_matrix(cal.frame_pelvis_))
    Ft = Q.from_rotation(Rotation.from_matrix(cal.frame_thigh_))
    q1, q2 = Q.mul(g.quat_pelvis, Fp), Q.mul(g.quat_thigh, Ft)
    t = np.arange(len(g.t_s)) / g.rate_hz
    g1, g2 = g.gyr_pelvis @ cal.frame_pelvis_, g.gyr_thigh @ cal.frame_thigh_
    if dof == 1:
        out = qmt.headingCorrection(g1, g2, q1, q2, t, np.array([0.0, 0.0, 1.0]), None)
    else:
        info = {"convention": "zxy", "angle_ranges": np.radians([[-30, 140], [-40, 40], [-50, 50]])}
        out = qmt.headingCorrection(g1, g2, q1, q2, t, np.eye(3), info)
    return _hip_with_delta(c, np.asarray(out[2]).ravel())


METHODS: dict[str, Callable[[Case], np.ndarray | None]] = {
    "hinge pairing (engine 1)": hinge_pairing,
    "sagittal, no heading": sagittal,
    "joint centre, one δ per session": joint_centre_one_delta,
    "engine: rest drift + joint-centre constant": engine,
    "true δ (evaluation only)": true_delta,
    "magnetometer: 9D VQF, no check": magnetometer_unchecked,
    "magnetometer: 9D VQF + VQF's disturbance check, else engine": magnetometer_checked,
    "magnetometer: 9D VQF + VQF's and stand-field check, else engine": lambda c: magnetometer_checked(c, strict=True),
}
try:  # qmt is optional: `pip install qmt` to reproduce its rows
    import qmt as _qmt_module  # noqa: F401 - imported only to learn whether the optional qmt is installed

    METHODS["qmt 1-DoF (euler_1d)"] = lambda c: _qmt(c, 1)
    METHODS["qmt 3-DoF (range of motion)"] = lambda c: _qmt(c, 3)
except ImportError:
    pass


def score(c: Case, hip: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-rep peak errors (°) and the session's RMSE against the reference."""
    g = c.grid
    t, v = g.t_s, g.valid
    errs = []
    for a, b, pk in c.reps:
        m = (t >= a) & (t <= b) & v
        if m.any():
            errs.append(float(c.sign * np.max(c.sign * hip[m]) - pk))
    return np.asarray(errs), float(np.sqrt(np.mean((hip[v] - c.ref_hip_deg[v]) ** 2)))


#: The simulator's magnetometer sessions: the field as a calibrated sensor sees it, with the default
#: uncalibrated hard-iron offsets (±5 µT per axis), and disturbed (that hard iron plus a steel object
#: near the floor, 20 µT at 0.5 m, and 8 s of a 30 µT field on the thigh sensor).
MAG_CONDITIONS: dict[str, dict[str, float]] = {
    "simulator + magnetometer, clean field": {"mag_hard_iron_max_ut": 0.0},
    "simulator + magnetometer, hard iron ±5 µT": {},
    "simulator + magnetometer, disturbed": {"mag_dipole_ut": 20.0, "mag_transient_ut": 30.0},
}


def mag_datasets(quick: bool = False, drills: tuple[str, ...] = ("knee_raise", "hip_extension", "deep_squat"),
                 sides: tuple[str, ...] = ("left", "right")) -> list[Case]:
    """The realistic simulator with a magnetometer, under each of MAG_CONDITIONS (3 drills × 2 sides × seeds)."""
    from simulation import SimulationConfig

    seeds = (1,) if quick else (1, 2, 3)
    return [simulated_case(SimulationConfig.realistic(seed, exercise=ex, side=side, reps=5, sets=2, with_magnetometer=True, **kw), name)
            for name, kw in MAG_CONDITIONS.items() for ex in drills for side in sides for seed in seeds]


def mag_detection(cases: list[Case], *, strict: bool = False, disturbed_ut: float = 5.0, harmful_deg: float = 5.0) -> dict[str, float]:
    """How well the disturbance check (``strict``: with the stand-field check) does, against the simulator's truth: the share of samples with a
    true disturbance ≥ ``disturbed_ut`` on either sensor that it flags, the share of samples whose
    magnetometer δ is off by more than ``harmful_deg`` that it flags, the share of undisturbed samples it
    flags (lost for nothing), the median |δ error| of all samples and the 95th percentile of the samples
    it accepts."""
    dist, flag, err = [], [], []
    for c in cases:
        v = c.grid.valid
        dist.append(c.extras["mag_true_disturbance_ut"][v])
        flag.append((c.extras["mag_disturbed"] | (c.extras["mag_off_reference"] if strict else False))[v])
        err.append(np.abs(np.degrees(np.angle(np.exp(1j * (c.extras["mag_delta"] - c.delta_true_rad))))[v]))
    d, f, e = np.concatenate(dist), np.concatenate(flag), np.concatenate(err)

    def share(m: np.ndarray) -> float:
        return float(np.mean(f[m])) if m.any() else float("nan")

    return {"flagged_of_disturbed": share(d >= disturbed_ut), "flagged_of_harmful": share(e > harmful_deg),
            "flagged_of_clean": share(d < 0.5), "median_delta_error_deg": float(np.median(e)),
            "accepted_p95_deg": float(np.percentile(e[~f], 95)) if (~f).any() else float("nan")}


def datasets(data_dir: Path, quick: bool = False) -> list[Case]:
    """UI-PRMD s01 (m06, m01 × correct, incorrect × seeds), the realistic simulator (3 drills × 2 sides
    × seeds) and its slow, 50 Hz, 3°/s-bias variant (where the one-δ prototype failed)."""
    from simulation import SimulationConfig

    seeds = (0,) if quick else (0, 1, 2, 3)
    out = [prmd_case(data_dir, f, m, s) for f in ("correct", "incorrect") for m in ("m06", "m01") for s in seeds]
    sim_seeds = (1,) if quick else (1, 2, 3)
    for ex in ("knee_raise", "hip_extension", "deep_squat"):
        for side in ("left", "right"):
            for seed in sim_seeds:
                out.append(simulated_case(SimulationConfig.realistic(seed, exercise=ex, side=side, reps=5, sets=2),
                                          "simulator, realistic hips (3 drills)"))
                slow = SimulationConfig.realistic(seed, exercise=ex, side=side, reps=5, sets=3, thigh_rate_hz=50.0,
                                                  pelvis_rate_hz=50.0, tempo_scale=2.0)
                out.append(simulated_case(slow, "simulator, slow reps, 50 Hz, 3°/s bias"))
    return out


def table(all_cases: list[Case], peak_rmse: bool = False) -> str:
    """Markdown: rows = methods, columns = data sets; each cell median |peak error| / median RMSE (°)
    (``peak_rmse``: median |peak error| / RMSE of the peak errors / median session RMSE)."""
    names = list(dict.fromkeys(c.dataset for c in all_cases))
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for mname, fn in METHODS.items():
        cells = []
        for ds in names:
            peaks, rmses = [], []
            for c in (c for c in all_cases if c.dataset == ds):
                hip = fn(c)
                if hip is None:
                    continue
                e, r = score(c, hip)
                peaks.append(np.abs(e))
                rmses.append(r)
            p = np.concatenate(peaks) if peaks else np.zeros(0)
            mid = f"{np.sqrt(np.mean(p**2)):.1f} / " if peak_rmse and len(p) else ""
            cells.append(f"{np.median(p):.1f} / {mid}{np.median(rmses):.1f}" if len(p) else "—")
        lines.append(f"| {mname} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - report script
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one seed per data set")
    ap.add_argument("--magnetometer", action="store_true", help="only the simulator's magnetometer sessions")
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd")
    args = ap.parse_args()
    if args.magnetometer:
        cases = mag_datasets(quick=args.quick)
        print(table(cases, peak_rmse=True))
        for name in MAG_CONDITIONS:
            for strict in (False, True):
                print(name, "stand-field check too" if strict else "VQF's check",
                      mag_detection([c for c in cases if c.dataset == name], strict=strict))
    else:
        print(table(datasets(args.data, quick=args.quick)))


if __name__ == "__main__":  # pragma: no cover
    main()
