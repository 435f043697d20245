"""simulate(config) → SimulatedSession: script → kinematics → virtual sensors → raw session + truth."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict

import numpy as np
from scipy.spatial.transform import Rotation

from simulation import _body
from simulation._motion import Script, build_script, compensation_measure
from simulation._sensors import random_misplacement, sample_sensor
from simulation.config import SimulationConfig
from simulation.holes import PlannedHole, RepTimes, plan_holes
from simulation.truth import SensorTruth, Truth, TruthGap, TruthRep
from tracker import rotations as Q
from tracker.conventions import MIN_CALIBRATION_STAND_S, check_sensor
from tracker.raw import RawSession
from tracker.rawcsv import find_gaps


@dataclass(slots=True)
class SimulatedSession:
    """A simulated recording: ``raw`` as a recorder would deliver it, ``truth`` to score against.

    ``segments`` keeps the exact kinematics on the fine internal grid (for tests and evaluation).
    """

    config: SimulationConfig
    raw: RawSession
    truth: Truth
    segments: _body.Segments = field(repr=False)
    script: Script = field(repr=False)

    def save(self, csv_path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write the raw-session CSV and ``<stem>.truth.json`` beside it; returns both paths."""
        from tracker.rawcsv import write_raw_csv

        csv_path = Path(csv_path)
        write_raw_csv(self.raw, csv_path)
        truth_path = truth_path_for(csv_path)
        self.truth.to_json(truth_path)
        return csv_path, truth_path


def truth_path_for(csv_path: str | os.PathLike[str]) -> Path:
    """session.csv → session.truth.json (same folder)."""
    csv_path = Path(csv_path)
    name = csv_path.name
    stem = name[: -len(".csv")] if name.lower().endswith(".csv") else csv_path.stem
    return csv_path.with_name(f"{stem}.truth.json")


def simulate(config: SimulationConfig) -> SimulatedSession:
    seq = np.random.SeedSequence(config.seed)
    rng_motion, rng_thigh, rng_pelvis = (np.random.default_rng(s) for s in seq.spawn(3))
    # issue-14 options draw from streams of their own: a seed without them gives the same session
    rng_3d, rng_body, rng_skin, rng_holes = (np.random.default_rng(s) for s in seq.spawn(4))
    script = build_script(config, rng_motion, rng_3d)
    anatomy = _body.Anatomy.random(rng_body, config.side) if config.random_anatomy else _body.Anatomy.nominal(config.side)
    seg = _body.build_segments(script, config.exercise, config.side, anatomy)
    dt = 1.0 / config.internal_rate_hz
    stand = calibration_stand(config, script)
    holes = tuple(plan_holes(config.dropouts, _rep_times(script), stand, rng_holes))
    skin = _body.soft_tissue_rotvec(script.ch["hip_flex_deg"], dt, config.soft_tissue_deg,
                                    config.target_amplitude_deg, rng_skin)

    sampled = {}
    for name, rng, rate, override in (
        ("thigh", rng_thigh, config.thigh_rate_hz, config.thigh_misplacement_rotvec_deg),
        ("pelvis", rng_pelvis, config.pelvis_rate_hz, config.pelvis_misplacement_rotvec_deg),
    ):
        mis = random_misplacement(rng, config.misplacement_max_deg)
        if override is not None:
            mis = np.asarray(override, dtype=float)
        mount = _body.nominal_mount(name, config.side) * Rotation.from_rotvec(mis, degrees=True)
        wobble = _body.wobble_rotvec(seg.thigh_q, dt, config.wobble_scale) if name == "thigh" else None
        soft = skin if name == "thigh" else None
        clean = _body.clean_sensor(seg, name, config.side, mount, wobble, soft, anatomy)
        if config.still_sensor == name:
            clean = _body.still_sensor(len(seg.t_s), rng)
        sampled[name] = sample_sensor(
            check_sensor(name), clean, seg.t_s, config, rng, rate, mis, mount, anatomy.lever_m(name), stand=stand, holes=holes,
            hip_centre_in_sensor_m=mount.inv().apply(anatomy.hip_centre_from_sensor_m(name, config.side)),
            soft_tissue_max_deg=float(np.rad2deg(np.max(np.linalg.norm(soft, axis=1)))) if soft is not None else 0.0,
        )

    gaps = sorted(
        [g for name in ("thigh", "pelvis") for g in find_gaps(name, sampled[name].stream.t_s)],
        key=lambda g: (g.start_s, g.sensor),
    )
    if config.swap_sensors:
        th, pe = sampled["thigh"].stream, sampled["pelvis"].stream
        relabel = {"thigh": replace(pe, sensor="thigh"), "pelvis": replace(th, sensor="pelvis")}
        gaps = sorted(
            [g for name in ("thigh", "pelvis") for g in find_gaps(name, relabel[name].t_s)],
            key=lambda g: (g.start_s, g.sensor),
        )
        raw = RawSession(thigh=relabel["thigh"], pelvis=relabel["pelvis"], gaps=tuple(gaps))
    else:
        raw = RawSession(thigh=sampled["thigh"].stream, pelvis=sampled["pelvis"].stream, gaps=tuple(gaps))
    truth_gaps = sorted((g for v in sampled.values() for g in v.gaps), key=lambda g: (g.start_s, g.sensor))
    truth = _make_truth(config, script, seg, {k: v.truth for k, v in sampled.items()}, stand=stand,
                        gaps=tuple(truth_gaps), holes=holes, anatomy=anatomy)
    return SimulatedSession(config=config, raw=raw, truth=truth, segments=seg, script=script)


def calibration_stand(cfg: SimulationConfig, script: Script) -> tuple[float, float]:
    """The quiet stand the truth's pelvic tilt is relative to (true session time)."""
    if cfg.calibration_stand == "start":
        return (0.0, float(cfg.stand_s))
    quiet = script.quiet_stands(MIN_CALIBRATION_STAND_S)
    if cfg.calibration_stand == "end":
        a, b = quiet[-1]
        assert b == script.duration_s, "the session ends with a quiet stand (end_stand_s >= 2 s)"
        return (a, b)
    rest_end = script.set_rest[0][1]
    span = next((a, b) for a, b in quiet if a < rest_end <= b + 1e-9)
    return span


def _rep_times(script: Script) -> list[RepTimes]:
    return [RepTimes(p.index, p.start_s, p.up_s, p.hold_s, p.down_s) for p in script.reps]


class _RepGaps(TypedDict):
    """TruthRep's gap fields."""

    cut_by_gap: bool
    gap_s: float
    longest_gap_s: float
    peak_in_gap: bool


def _rep_gaps(start_s: float, end_s: float, peak_s: float, gaps: tuple[TruthGap, ...]) -> _RepGaps:
    """What the reported gaps did to one rep (TruthRep's gap fields)."""
    spans = sorted((max(g.start_s, start_s), min(g.end_s, end_s), g) for g in gaps
                   if g.reported and g.start_s < end_s and g.end_s > start_s)
    union = 0.0
    cursor = start_s
    for a, b, _ in spans:
        a = max(a, cursor)
        if b > a:
            union += b - a
            cursor = b
    return _RepGaps(
        cut_by_gap=bool(spans),
        gap_s=float(union),
        longest_gap_s=float(max((g.end_s - g.start_s for _, _, g in spans), default=0.0)),
        peak_in_gap=any(g.start_s < peak_s < g.end_s for _, _, g in spans),
    )


def _make_truth(cfg: SimulationConfig, script: Script, seg: _body.Segments,
                sensors: dict[str, SensorTruth], *, stand: tuple[float, float], gaps: tuple[TruthGap, ...],
                holes: tuple[PlannedHole, ...], anatomy: _body.Anatomy) -> Truth:
    t = script.t_s
    ch = script.ch
    cal = (t >= stand[0]) & (t <= stand[1])
    tilt = ch["tilt_deg"] - float(np.mean(ch["tilt_deg"][cal]))
    hip = ch["hip_flex_deg"]
    sign = 1.0 if cfg.target_amplitude_deg > 0 else -1.0

    # Baker's rotation-obliquity-tilt sequence: tilt about the pelvis' own ML axis (gravity-only observable)
    yxz = Q.to_rotation(seg.pelvis_q).as_euler("YXZ", degrees=True)
    tilt_yxz = -yxz[:, 2]
    tilt_yxz = tilt_yxz - float(np.mean(tilt_yxz[cal]))

    reps = []
    for p in script.reps:
        i0 = int(np.searchsorted(t, p.start_s))
        i1 = min(int(np.searchsorted(t, p.end_s)), len(t) - 1)
        ipk = i0 + int(np.argmax(sign * hip[i0 : i1 + 1]))
        comp = compensation_measure(cfg.exercise, tilt, i0, ipk, i1)
        onset = None
        if p.compensated and np.isfinite(p.onset_s):
            onset = float(np.interp(p.onset_s, t, hip))
        reps.append(
            TruthRep(
                index=p.index,
                set_index=p.set_index,
                start_s=float(p.start_s),
                peak_s=float(t[ipk]),
                end_s=float(p.end_s),
                peak_hip_flexion_deg=float(hip[ipk]),
                hold_s=float(p.hold_s),
                partial=bool(p.partial),
                compensation_deg=comp,
                compensation_onset_hip_deg=onset,
                compensated=bool(comp >= cfg.compensation_threshold_deg),
                start_pelvic_tilt_deg=float(tilt[i0]),
                peak_pelvic_tilt_deg=float(tilt[ipk]),
                compensation_yxz_deg=compensation_measure(cfg.exercise, tilt_yxz, i0, ipk, i1),
                **_rep_gaps(float(p.start_s), float(p.end_s), float(t[ipk]), gaps),
            )
        )

    sets = []
    for s in range(cfg.sets):
        rs = [r for r in reps if r.set_index == s]
        sets.append((rs[0].start_s, rs[-1].end_s))

    t_truth = np.arange(0.0, script.duration_s + 1e-9, 1.0 / cfg.truth_rate_hz)

    def on_truth_grid(x: np.ndarray) -> np.ndarray:
        return np.interp(t_truth, t, x)

    return Truth(
        exercise=cfg.exercise,
        side=cfg.side,
        seed=cfg.seed,
        compensation_threshold_deg=cfg.compensation_threshold_deg,
        calibration_start_s=float(stand[0]),
        calibration_end_s=float(stand[1]),
        duration_s=float(script.duration_s),
        t_s=t_truth,
        hip_flexion_deg=on_truth_grid(hip),
        pelvic_tilt_deg=on_truth_grid(tilt),
        pelvic_obliquity_deg=on_truth_grid(ch["obliq_deg"]),
        pelvic_rotation_deg=on_truth_grid(ch["prot_deg"]),
        hip_abduction_deg=on_truth_grid(ch["hip_abd_deg"]),
        hip_rotation_deg=on_truth_grid(ch["hip_rot_deg"]),
        heading_deg=on_truth_grid(ch["heading_deg"]),
        pelvic_tilt_yxz_deg=on_truth_grid(tilt_yxz),
        reps=tuple(reps),
        sets=tuple(sets),
        turns_deg=tuple(script.turns_deg),
        sensors=sensors,
        config=cfg.to_dict(),
        gaps=gaps,
        dropouts=holes,
        quiet_stands=tuple((float(a), float(b)) for a, b in script.quiet_stands(MIN_CALIBRATION_STAND_S)),
        anatomy=dict(
            hip_half_width_m=anatomy.hip_half_width_m, thigh_m=anatomy.thigh_m, shank_m=anatomy.shank_m,
            thigh_lever_m=list(anatomy.thigh_lever_m), pelvis_lever_m=list(anatomy.pelvis_lever_m),
        ),
    )
