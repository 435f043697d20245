"""The movement script: anatomical angles and pelvis offsets of the whole session on a fine time grid.

Each rep: the hip follows a smooth (degree-7) rise, a hold (sagging 1-3 %), a smooth lowering. The
pelvic tilt follows the normal lumbopelvic rhythm (a fixed ratio of the hip flexion: posterior in the
knee raise, anterior in hip extension and in the squat's descent) plus, in compensated reps, a
compensatory component that starts at the onset hip flexion and grows linearly with the hip beyond
it (smooth start, eased in over 0.15 s, lightly smoothed in time); its gain is solved so the issue-4
measure of the rep hits a target that is clear of the threshold (threshold + margin + U(excess) when compensated, below
threshold − margin otherwise). Single-leg drills add pelvic rotation/obliquity and a weight shift.

Every channel is a sum of C3 pieces (degree-7 smoothstep ramps, smooth functions of smooth signals,
sinusoidal sway), so orientations, angular velocities and accelerations derived from it are smooth
and their finite differences on the fine grid are second-order accurate.

Channels (degrees / metres):
  hip_flex_deg  ISB hip flexion of the exercised leg (+ flexion, − extension)
  hip_abd_deg   hip abduction (+ abduction for either side), hip_rot_deg: internal rotation (+ internal)
  tilt_deg      pelvic tilt (+ anterior), obliq_deg / prot_deg: right-hand rotations about the pelvis
                X (anterior) and Y (superior) axes in the Z-X-Y sequence (see _body.py)
  heading_deg   whole-body yaw about the vertical (turning around between sets)
  ap_m, v_m, ml_m  pelvis origin offsets forward / up / right in the heading frame
  w_single      0 = weight on both feet, 1 = on the stance leg only
  tilt_comp_deg the compensatory part of tilt_deg (already included in it)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from simulation.config import SimulationConfig

CHANNELS = (
    "hip_flex_deg", "hip_abd_deg", "hip_rot_deg", "tilt_deg", "obliq_deg", "prot_deg", "heading_deg",
    "ap_m", "v_m", "ml_m", "w_single", "tilt_comp_deg",
)

SINGLE_LEG = ("knee_raise", "hip_extension")
_LEAD_S = {"knee_raise": 0.6, "hip_extension": 0.6, "deep_squat": 0.3}
_TRAIL_S = {"knee_raise": 0.5, "hip_extension": 0.5, "deep_squat": 0.2}
WEIGHT_SHIFT_M = 0.03


def minjerk(x: np.ndarray) -> np.ndarray:
    """Smooth 0→1 ramp, 35x⁴ − 84x⁵ + 70x⁶ − 20x⁷: zero velocity, acceleration *and jerk* at both ends.

    C3 rather than the C2 minimum-jerk quintic: a jerk step would leave the finite-difference
    accelerations first-order accurate around it (0.3 m/s² off at 1 kHz); with C3 they are O(dt²).
    """
    x = np.clip(x, 0.0, 1.0)
    x2 = x * x
    return x2 * x2 * (35.0 - 84.0 * x + 70.0 * x2 - 20.0 * x2 * x)


def bump(t: np.ndarray, t0: float, up: float, hold: float, down: float, sag: float = 0.0) -> np.ndarray:
    """0 → 1 over ``up``, 1 → 1−sag over ``hold``, → 0 over ``down``; C3 everywhere."""
    out = minjerk((t - t0) / up)
    if hold > 0 and sag > 0:
        out = out - sag * minjerk((t - t0 - up) / hold)
    t_fall = t0 + up + hold
    out = out - (1.0 - sag) * minjerk((t - t_fall) / down)
    return out


@dataclass(slots=True)
class RepPlan:
    index: int  # 1-based over the session
    set_index: int  # 0-based
    start_s: float
    up_s: float
    hold_s: float
    down_s: float
    peak_deg: float  # planned signed peak
    partial: bool
    compensated: bool
    compensation_target_deg: float
    rhythm: float
    onset_deg: float  # |hip| where compensation starts (nan when not compensated)
    excess_gain_deg: float = 0.0  # solved so the measured compensation hits the target
    onset_s: float = float("nan")  # when the compensatory component starts

    @property
    def end_s(self) -> float:
        return self.start_s + self.up_s + self.hold_s + self.down_s


@dataclass(slots=True)
class Script:
    t_s: np.ndarray
    ch: dict[str, np.ndarray]
    reps: list[RepPlan] = field(default_factory=list)
    set_rest: list[tuple[float, float]] = field(default_factory=list)
    turns_deg: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    #: (start_s, end_s) of everything that is not quiet standing: reps with their lead-in and
    #: follow-through, fidgets between sets
    activity: list[tuple[float, float]] = field(default_factory=list)

    def quiet_stands(self, min_s: float) -> list[tuple[float, float]]:
        """Spans of quiet standing (postural sway only) lasting at least ``min_s``."""
        spans = sorted(self.activity)
        out: list[tuple[float, float]] = []
        cursor = 0.0
        for a, b in spans:
            if a - cursor >= min_s:
                out.append((cursor, a))
            cursor = max(cursor, b)
        if self.duration_s - cursor >= min_s:
            out.append((cursor, self.duration_s))
        return out


def compensation_measure(exercise: str, tilt: np.ndarray, i0: int, ipk: int, i1: int) -> float:
    """The issue-4 compensation of one rep from the tilt series (+ anterior), degrees, >= 0.

    knee_raise: posterior tilt change from the rep's start (largest); hip_extension: anterior tilt
    change from the start; deep_squat (butt wink): largest anterior tilt during the descent minus the
    tilt at depth (the hip flexion peak).
    """
    if exercise == "knee_raise":
        v = tilt[i0] - np.min(tilt[i0 : i1 + 1])
    elif exercise == "hip_extension":
        v = np.max(tilt[i0 : i1 + 1]) - tilt[i0]
    else:
        v = np.max(tilt[i0 : ipk + 1]) - tilt[ipk]
    return float(max(v, 0.0))


def build_script(cfg: SimulationConfig, rng: np.random.Generator,
                 rng_3d: np.random.Generator | None = None) -> Script:
    """The session's motion. ``rng`` draws everything issue 4's simulator drew, in the same order (a
    seed gives the same session as before when the issue-14 options are off); ``rng_3d`` draws the
    configured out-of-plane coupling (hip abduction / rotation ranges, exponents, lags)."""
    rng_3d = rng_3d if rng_3d is not None else np.random.default_rng([cfg.seed, 3])
    ex = cfg.exercise
    single = ex in SINGLE_LEG
    amp = cfg.target_amplitude_deg
    sign = 1.0 if amp > 0 else -1.0
    n_total = cfg.reps * cfg.sets

    # ---- which reps are partial / compensated
    if cfg.partial_reps is not None:
        partial = {int(i) for i in cfg.partial_reps}
    else:
        partial = {i for i in range(1, n_total + 1) if rng.random() < cfg.partial_rep_prob}
    if cfg.compensated_reps is not None:
        comp = {int(i) for i in cfg.compensated_reps}
    else:
        comp = {i for i in range(1, n_total + 1) if rng.random() < cfg.compensation_prob}
    comp -= partial  # a partial rep stays below the onset

    # ---- timeline
    def jitter(x: float) -> float:
        return float(x * np.clip(1.0 + cfg.tempo_variation * rng.standard_normal(), 0.8, 1.3))

    plans: list[RepPlan] = []
    set_rest: list[tuple[float, float]] = []
    t = cfg.stand_s
    idx = 0
    thr, margin = cfg.compensation_threshold_deg, cfg.compensation_margin_deg
    for s in range(cfg.sets):
        if s > 0:
            set_rest.append((t, t + cfg.rest_between_sets_s))
            t += cfg.rest_between_sets_s
        for _ in range(cfg.reps):
            idx += 1
            t_start = t + _LEAD_S[ex]
            is_partial = idx in partial
            frac = rng.uniform(*cfg.partial_fraction_range) if is_partial else float(
                np.clip(1.0 + cfg.amplitude_variation * rng.standard_normal(), 0.8, 1.2)
            )
            peak = amp * frac
            hold = jitter(cfg.hold_s) if cfg.hold_s > 0 else 0.0
            is_comp = idx in comp
            rhythm = cfg.rhythm * float(np.clip(1.0 + 0.2 * rng.standard_normal(), 0.5, 1.5))
            if ex in ("knee_raise", "hip_extension"):
                # normal rhythm must stay clear of the threshold
                rhythm = min(rhythm, (thr - margin - 1.0) / abs(peak))
            if is_comp:
                target = thr + margin + rng.uniform(*cfg.compensation_excess_range_deg)
            elif ex == "deep_squat":
                target = rng.uniform(0.5, max(0.6, min(4.0, thr - margin - 1.0)))  # a small normal wink
            else:
                target = float("nan")  # rhythm only
            # the rounding needs hip range beyond its onset, or the pelvis would whip round faster than
            # the hip moves (MAX_COMPENSATION_SLOPE): a low rep starts rounding earlier
            min_range = max(0.5 * (abs(amp) - cfg.onset_deg), target / MAX_COMPENSATION_SLOPE[ex] if is_comp else 4.0)
            onset = min(cfg.onset_deg, abs(peak) - min_range)
            plans.append(
                RepPlan(
                    index=idx, set_index=s, start_s=t_start, up_s=jitter(cfg.rise_s), hold_s=hold,
                    down_s=jitter(cfg.lower_s), peak_deg=peak, partial=is_partial, compensated=is_comp,
                    compensation_target_deg=target, rhythm=rhythm,
                    onset_deg=onset if (is_comp or (ex == "deep_squat" and not is_partial)) else float("nan"),
                )
            )
            t = plans[-1].end_s + _TRAIL_S[ex] + jitter(cfg.rest_between_reps_s)
    duration = t + cfg.end_stand_s

    n = int(np.ceil(duration * cfg.internal_rate_hz)) + 1
    t_s = np.arange(n) / cfg.internal_rate_hz
    ch = {name: np.zeros(n) for name in CHANNELS}
    script = Script(t_s=t_s, ch=ch, reps=plans, set_rest=set_rest, duration_s=float(t_s[-1]))

    _add_sway(script, cfg, rng)
    if cfg.fidget:
        for a, b in set_rest:
            _add_fidgets(script, cfg, rng, a, b, single)
    for p in plans:
        _add_rep(script, cfg, rng, rng_3d, p, sign, single)
        script.activity.append((p.start_s - _LEAD_S[ex], p.end_s + _TRAIL_S[ex]))
    return script


def _window(t_s: np.ndarray, a: float, b: float) -> slice:
    i0 = max(int(np.searchsorted(t_s, a)) - 1, 0)
    i1 = min(int(np.searchsorted(t_s, b)) + 1, len(t_s))
    return slice(i0, i1)


def _add_sway(script: Script, cfg: SimulationConfig, rng: np.random.Generator) -> None:
    """Quiet-standing postural sway (0.05-0.35 Hz), present all session long."""
    amps = {
        "tilt_deg": 0.4, "hip_flex_deg": 0.3, "ap_m": 0.004, "v_m": 0.001,
        "obliq_deg": 0.3, "prot_deg": 0.4, "hip_abd_deg": 0.2, "hip_rot_deg": 0.3, "ml_m": 0.003,
        "heading_deg": 0.3,
    }
    sagittal = ("tilt_deg", "hip_flex_deg", "ap_m", "v_m")
    t = script.t_s
    for name, a in amps.items():
        f = rng.uniform(0.05, 0.35, 3)
        ph = rng.uniform(0, 2 * np.pi, 3)
        w = rng.uniform(0.3, 1.0, 3)
        w /= w.sum()
        if cfg.sway_scale == 0 or (cfg.pure_sagittal and name not in sagittal):
            continue
        script.ch[name] += cfg.sway_scale * a * sum(
            w[k] * np.sin(2 * np.pi * f[k] * t + ph[k]) for k in range(3)
        )


def _add_fidgets(script: Script, cfg: SimulationConfig, rng: np.random.Generator, a: float, b: float,
                 single: bool) -> None:
    """Rest between sets: weight shifts, small leg wiggles, perhaps turning around (with two steps)."""
    t, ch = script.t_s, script.ch
    s_side = 1.0 if cfg.side == "right" else -1.0
    cursor = a + 1.5
    end = b - 4.0  # the patient is standing still again before the next set
    turned = cfg.pure_sagittal or rng.random() >= cfg.turn_between_sets_prob
    while cursor < end - 3.0:
        kind = rng.choice(["shift", "wiggle", "turn"]) if not turned else rng.choice(["shift", "wiggle"])
        if cfg.pure_sagittal:
            kind = "wiggle"
        if kind == "turn":
            dur = 2.5
            if cursor + dur > end:
                break
            turn = float(rng.choice([-1.0, 1.0]) * rng.uniform(90.0, 180.0))
            w = _window(t, cursor, cursor + dur)
            ch["heading_deg"][w] += turn * minjerk((t[w] - cursor) / dur)
            ch["heading_deg"][w.stop :] += turn
            for k, t_step in enumerate((cursor + 0.3, cursor + 1.4)):
                ws = _window(t, t_step, t_step + 0.8)
                step_leg = 1.0 if k == 0 else 0.35  # the exercised leg steps, then the other (less flexion)
                ch["hip_flex_deg"][ws] += step_leg * 12.0 * bump(t[ws], t_step, 0.4, 0.0, 0.4)
                ch["v_m"][ws] -= 0.01 * bump(t[ws], t_step, 0.4, 0.0, 0.4)
            script.turns_deg.append(turn)
            script.activity.append((cursor, cursor + dur))
            turned = True
            cursor += dur + rng.uniform(0.8, 2.0)
        elif kind == "shift":
            up, hold, down = rng.uniform(0.8, 1.4), rng.uniform(0.5, 2.0), rng.uniform(0.8, 1.4)
            if cursor + up + hold + down > end:
                break
            w = _window(t, cursor, cursor + up + hold + down)
            shape = bump(t[w], cursor, up, hold, down)
            direction = float(rng.choice([-1.0, 1.0]))
            ch["ml_m"][w] += direction * rng.uniform(0.02, 0.05) * shape
            ch["obliq_deg"][w] += direction * rng.uniform(1.0, 3.0) * shape
            ch["tilt_deg"][w] += rng.uniform(-2.0, 2.0) * shape
            script.activity.append((cursor, cursor + up + hold + down))
            cursor += up + hold + down + rng.uniform(0.5, 2.0)
        else:
            up, down = rng.uniform(0.4, 0.7), rng.uniform(0.4, 0.7)
            if cursor + up + down + 0.3 > end:
                break
            w = _window(t, cursor, cursor + up + 0.3 + down)
            shape = bump(t[w], cursor, up, 0.3, down)
            ch["hip_flex_deg"][w] += rng.uniform(4.0, 12.0) * shape
            ch["tilt_deg"][w] -= rng.uniform(0.0, 1.0) * shape
            if not cfg.pure_sagittal:
                ch["hip_abd_deg"][w] += rng.uniform(-3.0, 3.0) * shape
                ch["prot_deg"][w] += s_side * rng.uniform(0.0, 3.0) * shape
            script.activity.append((cursor, cursor + up + 0.3 + down))
            cursor += up + down + 0.3 + rng.uniform(0.5, 2.0)


#: The compensation ramp is linear in hip flexion beyond the onset, with a smooth (C3) start spanning
#: this fraction of the range from the onset to the peak (at least 6° of hip flexion, so the pelvis'
#: angular acceleration stays physiological when the hip moves fast).
COMPENSATION_SMOOTH_START = 0.2
COMPENSATION_SMOOTH_START_MIN_DEG = 6.0
COMPENSATION_EASE_S = 0.15
MAX_COMPENSATION_ACCEL_DEG_S2 = 1500.0
COMPENSATION_SMOOTH_SIGMA_S = 0.05
#: Most compensatory tilt per degree of hip flexion beyond the onset (lumbar extension may stand in
#: for hip extension almost entirely; rounding in flexion less so).
MAX_COMPENSATION_SLOPE = {"knee_raise": 0.8, "hip_extension": 2.5, "deep_squat": 0.8}


def _linear_with_smooth_start(u: np.ndarray, delta: float = COMPENSATION_SMOOTH_START) -> np.ndarray:
    """0 for u <= 0, u − δ/2 for u >= δ; in between δ·g(u/δ) with g' the quintic smoothstep,
    g = 2.5v⁴ − 3v⁵ + v⁶ (C3 everywhere)."""
    v = np.clip(u / delta, 0.0, 1.0)
    blend = delta * v**4 * (2.5 - 3.0 * v + v * v)
    return np.where(u < delta, blend, u - 0.5 * delta)


def _crossing_time(tw: np.ndarray, x: np.ndarray, k: int, level: float) -> float:
    """Where x crosses ``level`` between samples k−1 and k (linear), so the motion is grid-independent."""
    if k == 0 or x[k] == x[k - 1]:
        return float(tw[k])
    f = (level - x[k - 1]) / (x[k] - x[k - 1])
    return float(tw[k - 1] + np.clip(f, 0.0, 1.0) * (tw[k] - tw[k - 1]))


def _compensation_ramp(tw: np.ndarray, x: np.ndarray, p: RepPlan) -> np.ndarray:
    """0 below the onset, then growing in proportion to the hip flexion beyond it ("the pelvis starts
    rounding at 60°"), 1 at the rep's peak; it undoes itself as the hip returns."""
    if not np.isfinite(p.onset_deg) or abs(p.peak_deg) <= p.onset_deg:
        return np.zeros_like(x)
    span = abs(p.peak_deg) - p.onset_deg
    u = (x - p.onset_deg) / span
    # the smooth start must be wide enough (in hip degrees) that a fast hip does not give the pelvis
    # more than MAX_COMPENSATION_ACCEL_DEG_S2 of angular acceleration: tilt'' ≈ slope·ẋ²·1.9/δ
    dt = float(tw[1] - tw[0])
    near = np.abs(x - p.onset_deg) < 2.0
    x_rate = float(np.max(np.abs(np.gradient(x, dt))[near])) if near.any() else 0.0
    slope = max(p.compensation_target_deg, 1.0) / span if np.isfinite(p.compensation_target_deg) else 0.2
    needed_deg = slope * x_rate**2 * 1.9 / MAX_COMPENSATION_ACCEL_DEG_S2
    delta = min(max(COMPENSATION_SMOOTH_START, (max(COMPENSATION_SMOOTH_START_MIN_DEG, needed_deg)) / span), 0.6)
    ramp = _linear_with_smooth_start(u, delta) / _linear_with_smooth_start(np.array(1.0), delta)
    rising = (tw >= p.start_s) & (tw <= p.start_s + p.up_s) & (x >= p.onset_deg)
    if not rising.any():
        return np.zeros_like(x)
    t_on = _crossing_time(tw, x, int(np.argmax(rising)), p.onset_deg)
    falling = (tw >= p.start_s + p.up_s + p.hold_s) & (x < p.onset_deg)
    t_off = _crossing_time(tw, x, int(np.argmax(falling)), p.onset_deg) if falling.any() else p.end_s
    p.onset_s = t_on
    # a short time window eases the start and the end: a fast hip must not make the pelvis jerk
    ease = COMPENSATION_EASE_S
    window = bump(tw, t_on, ease, max(t_off - t_on - 2 * ease, 0.0), ease)
    # a light zero-phase Gaussian smoothing in time (σ = 50 ms) rounds off what is left of the corners
    sigma = COMPENSATION_SMOOTH_SIGMA_S / float(tw[1] - tw[0])
    return ndimage.gaussian_filter1d(ramp * window, sigma, mode="nearest")


def _add_rep(script: Script, cfg: SimulationConfig, rng: np.random.Generator, rng_3d: np.random.Generator,
             p: RepPlan, sign: float, single: bool) -> None:
    t, ch = script.t_s, script.ch
    ex = cfg.exercise
    s_side = 1.0 if cfg.side == "right" else -1.0
    lead, trail = _LEAD_S[ex], _TRAIL_S[ex]
    w = _window(t, p.start_s - lead, p.end_s + trail)
    tw = t[w]
    sag = rng.uniform(0.01, 0.03) if p.hold_s > 0.2 else 0.0
    hr = p.peak_deg * bump(tw, p.start_s, p.up_s, p.hold_s, p.down_s, sag=sag)
    x = np.abs(hr)
    u = x / abs(cfg.target_amplitude_deg)  # 0..~1, partial reps move the pelvis less
    ch["hip_flex_deg"][w] += hr

    # ---- pelvic tilt: the normal rhythm + the compensation component (gain solved for the target)
    if ex == "knee_raise":
        rhythm = -p.rhythm * x
        comp_sign = -1.0
    elif ex == "hip_extension":
        rhythm = p.rhythm * x
        comp_sign = 1.0
    else:
        rhythm = p.rhythm * x
        comp_sign = -1.0
    ramp = _compensation_ramp(tw, x, p)
    if ex == "deep_squat" and ramp.any():
        # the anterior tilt of the descent levels off where the butt wink starts, then reverses
        blend = np.clip(ramp, 0.0, 1.0)
        rhythm = rhythm * (1.0 - blend) + p.rhythm * p.onset_deg * blend
    base = ch["tilt_deg"][w] + rhythm
    hip_total = ch["hip_flex_deg"][w]
    in_rep = (tw >= p.start_s) & (tw <= p.end_s)
    i0 = int(np.argmax(in_rep))
    i1 = int(len(in_rep) - 1 - np.argmax(in_rep[::-1]))
    ipk = i0 + int(np.argmax(sign * hip_total[i0 : i1 + 1]))
    if np.isfinite(p.compensation_target_deg) and ramp.any():
        lo, hi = 0.0, 80.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            m = compensation_measure(ex, base + comp_sign * mid * ramp, i0, ipk, i1)
            if m < p.compensation_target_deg:
                lo = mid
            else:
                hi = mid
        p.excess_gain_deg = 0.5 * (lo + hi)
    ch["tilt_deg"][w] = base + comp_sign * p.excess_gain_deg * ramp
    ch["tilt_comp_deg"][w] += comp_sign * p.excess_gain_deg * ramp

    if cfg.pure_sagittal:
        return
    # ---- 3D pelvis and hip (out of plane). The issue-4 draws stay in their order on ``rng``; the
    # configured ranges, exponents and lags come from ``rng_3d``.
    if single:
        direction = 1.0 if ex == "knee_raise" else -1.0  # exercised hip goes forward / backward
        peaks = {
            "prot_deg": direction * s_side * rng.uniform(*cfg.pelvis_rotation_range_deg),
            "obliq_deg": -s_side * rng.uniform(*cfg.pelvis_obliquity_range_deg),  # hip hike
            "hip_abd_deg": rng.uniform(-3.0, 6.0),
            "hip_rot_deg": rng.uniform(-8.0, 8.0),
        }
    else:
        peaks = {
            "hip_abd_deg": rng.uniform(5.0, 15.0),  # knees out
            "hip_rot_deg": -rng.uniform(0.0, 10.0),  # external rotation
            "obliq_deg": rng.uniform(-2.0, 2.0),
            "prot_deg": rng.uniform(-3.0, 3.0),
        }
    if cfg.hip_abduction_range_deg is not None:
        peaks["hip_abd_deg"] = rng_3d.uniform(*cfg.hip_abduction_range_deg)
    if cfg.hip_rotation_range_deg is not None:
        peaks["hip_rot_deg"] = rng_3d.uniform(*cfg.hip_rotation_range_deg)
    for name in ("hip_abd_deg", "hip_rot_deg", "obliq_deg", "prot_deg"):
        ch[name][w] += peaks[name] * _coupled_shape(tw, p, u, cfg, rng_3d, sag)
    if single:
        shift = bump(tw, p.start_s - lead, lead, p.end_s - p.start_s, trail)
        ch["w_single"][w] += shift
        ch["ml_m"][w] += -s_side * WEIGHT_SHIFT_M * shift  # toward the stance leg


def _coupled_shape(tw: np.ndarray, p: RepPlan, u: np.ndarray, cfg: SimulationConfig,
                   rng_3d: np.random.Generator, sag: float) -> np.ndarray:
    """How an out-of-plane channel follows the flexion: ``u`` (in proportion, 1 at the target
    amplitude) or, with an exponent p ≠ 1 / a lag τ, (|peak|/target)·b(t − τ)**p with b the rep's
    0…1 shape — the thigh's axis of motion then turns during the rep, unlike a hinge's."""
    exponent = float(rng_3d.uniform(*cfg.out_of_plane_exponent_range))
    lag = float(rng_3d.uniform(-1.0, 1.0)) * cfg.out_of_plane_lag_max_s
    if exponent == 1.0 and lag == 0.0:
        return u
    b = np.clip(bump(tw - lag, p.start_s, p.up_s, p.hold_s, p.down_s, sag=sag), 0.0, 1.0)
    return float(abs(p.peak_deg) / abs(cfg.target_amplitude_deg)) * b**exponent
