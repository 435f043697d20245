"""What the virtual patient does and how imperfect the sensors are: one frozen dataclass.

Every default is a plausible real session; ``SimulationConfig.ideal()`` switches off every sensor
imperfection (noise, bias, scale, wobble, misplacement, clock errors, packet loss) for physics tests;
``SimulationConfig.realistic()`` switches on everything that makes real hips hard (issue 14): a
3-DoF hip, pelvic roll and rotation out of step with the leg, soft-tissue artefact, anthropometric
sensor positions, large gyro bias, low rates and slow reps. ``HOLE_SCENARIOS`` names the gap and
packet-loss cases the processing core must survive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from simulation.holes import Dropout, DropoutError
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    MAX_RATE_HZ,
    MIN_CALIBRATION_STAND_S,
    MIN_RATE_HZ,
    Exercise,
    Side,
    check_exercise,
    check_side,
)

#: Target peak |hip flexion| per exercise when ``amplitude_deg`` is None (deg; hip_extension is negative).
DEFAULT_AMPLITUDE_DEG: dict[str, float] = {"knee_raise": 80.0, "hip_extension": -20.0, "deep_squat": 105.0}
#: Normal lumbopelvic rhythm: |pelvic tilt change| per degree of hip flexion, below the threshold.
DEFAULT_RHYTHM: dict[str, float] = {"knee_raise": 0.06, "hip_extension": 0.2, "deep_squat": 0.3}
#: Rise / lowering durations per exercise when ``up_s`` / ``down_s`` are None (s).
DEFAULT_TEMPO_S: dict[str, tuple[float, float]] = {
    "knee_raise": (1.5, 1.5), "hip_extension": (1.3, 1.3), "deep_squat": (2.0, 2.0),
}
#: |Hip flexion| at which the compensation starts (deg) when ``compensation_onset_deg`` is None.
DEFAULT_ONSET_DEG: dict[str, float] = {"knee_raise": 55.0, "hip_extension": 8.0, "deep_squat": 80.0}
#: The realistic preset's 3-DoF hips: where a patient's own pattern (the centre of their per-rep
#: range, drawn per session) may lie. Knee raise: abduction with external rotation (sartorius) or
#: internal rotation (tensor fasciae latae standing in for a weak psoas — this one turns the thigh's
#: axis of motion ~10° about the vertical, as on UI-PRMD's leg raises); deep squat: knees out
#: (abduction, external rotation) or knees drifting in; hip extension: either rotation.
REALISTIC_HIP_ABDUCTION_RANGE_DEG: dict[str, tuple[float, float]] = {
    "knee_raise": (3.0, 15.0), "hip_extension": (-8.0, 8.0), "deep_squat": (8.0, 20.0),
}
REALISTIC_HIP_ROTATION_RANGE_DEG: dict[str, tuple[float, float]] = {
    "knee_raise": (-15.0, 20.0), "hip_extension": (-15.0, 15.0), "deep_squat": (-20.0, 10.0),
}
#: ... and how far each rep strays from the patient's pattern (deg, ±).
REALISTIC_PER_REP_SPREAD_DEG = 4.0
CALIBRATION_STANDS = ("start", "between_sets", "end")
#: Largest lag/lead of the out-of-plane motion behind/ahead of the flexion (bounded by the rep's lead-in).
MAX_OUT_OF_PLANE_LAG_S = 0.2


class SimulationConfigError(ValueError):
    """A configuration value out of range; the message names the parameter, its value and the fix."""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """A session of one drill. Angles in degrees, times in seconds, rates in Hz.

    Motion
    ------
    exercise, side: the drill and the exercised leg (the thigh sensor sits on it).
    reps: repetitions per set; sets: number of sets.
    amplitude_deg: target signed peak hip flexion (None: knee_raise 80, hip_extension -20, deep_squat 105);
        amplitude_variation: relative SD of each rep's peak.
    up_s / hold_s / down_s: rise, hold at the top (or depth), lowering (None: knee_raise 1.5/1.5,
        hip_extension 1.3/1.3, deep_squat 2.0/2.0); tempo_variation: relative SD (clipped to −20 %…+30 %).
    rest_between_reps_s: quiet standing between reps; rest_between_sets_s: rest between sets, during
        which the patient fidgets (weight shifts, small leg wiggles) and with ``turn_between_sets_prob``
        turns the whole body by 90-180 deg.
    stand_s: quiet standing at the start (the calibration pose, >= 2 s unless the calibration stand
        is elsewhere); end_stand_s: quiet standing at the end.
    calibration_stand: where the patient stands still for >= 2 s, the pose the truth's pelvic tilt
        is relative to: "start" (stand_s), "between_sets" (the quiet end of the first rest between
        sets) or "end" (end_stand_s >= 2). The truth lists every quiet stand (Truth.quiet_stands).
    partial_rep_prob / partial_reps (explicit 1-based rep indices): reps that reach only
        ``partial_fraction_range`` of the target.
    compensation_prob / compensated_reps (explicit 1-based indices): reps with compensation whose
        magnitude is threshold + margin + U(compensation_excess_range_deg); uncompensated reps stay
        below threshold - margin, so the truth label is never a coin toss.
    compensation_onset_deg: |hip flexion| where the compensation starts (None: knee_raise 55,
        hip_extension 8, deep_squat 80); beyond it the compensatory tilt grows in proportion to the
        hip flexion. A low rep that would leave less than half the usual range beyond the onset starts
        earlier (the truth reports the actual onset). A partial rep is never compensated.
    lumbopelvic_rhythm: normal |tilt| per deg of hip flexion (None: knee_raise 0.06 posterior,
        hip_extension 0.2 anterior, deep_squat 0.3 anterior during the descent).
    pelvis_rotation_range_deg / pelvis_obliquity_range_deg: per-rep pelvic axial rotation and
        obliquity (hip hike) peaks in single-leg drills.
    hip_abduction_range_deg / hip_rotation_range_deg: per-rep peak hip abduction (+) / adduction (−)
        and internal (+) / external (−) rotation, coupled to the flexion (None: issue 4's near-hinge
        defaults, single-leg drills abduction −3…6 and rotation ±8, deep squat 5…15 and −10…0).
    out_of_plane_exponent_range: each rep's out-of-plane channel (hip abduction, hip rotation, pelvic
        obliquity and rotation) follows (flexion / peak)**p with p drawn per rep and channel from this
        range, so the thigh's axis of motion turns during the rep (not a hinge); (1, 1) = proportional.
    out_of_plane_lag_max_s: each of those channels lags or leads the flexion by U(±this) per rep.
    tempo_scale: multiplies the drill's default rise and lowering times (2 = slow reps); explicit
        up_s / down_s win.
    sway_scale: postural sway (0 = statue); pure_sagittal: no out-of-plane motion at all (no
        obliquity, rotation, ab/adduction, hip rotation, turning, lateral shifts).

    Sensors
    -------
    thigh_rate_hz / pelvis_rate_hz: nominal rates on each sensor's own clock (25-200 Hz).
    misplacement_max_deg: random mounting error, a rotation of up to this angle about a random axis;
        thigh_/pelvis_misplacement_rotvec_deg override it (rotation vector in the sensor frame, deg).
    wobble_scale: thigh strap soft-tissue wobble (1 = about 0.5 deg per 20 rad/s² of thigh angular
        acceleration, ringing at 12 Hz).
    soft_tissue_deg: peak low-frequency rotation of the thigh sensor relative to the femur (skin and
        muscle sliding over the bone as the hip flexes and the muscles contract; mostly about the
        femur's long axis). The truth stays the bone's motion.
    random_anatomy: draw the joint centres and sensor positions from anthropometric ranges (hip
        width, segment lengths, where on the thigh and sacrum the sensors sit relative to the hip
        joint centre) instead of the placement guide's nominal ones; the lever arms show in the
        accelerometers. Truth.anatomy and SensorTruth.hip_centre_in_sensor_m say where they were.
    acc_noise_m_s2 / gyr_noise_rad_s: white noise SD per sample; gyr_bias_max_rad_s: constant bias
        per axis U(+-max); gyr_bias_walk_rad_s_sqrt_s: bias random walk; acc_bias_max_m_s2;
        scale_error_max: per-axis scale factor 1 + U(+-max) on both instruments.
    clock_drift_max_ppm: each sensor clock runs at (1 + drift) with drift U(+-max);
        alignment_error_max_s: residual error of the recorder's sensor-clock -> session-clock mapping.
    packet_loss: fraction of samples lost outside the calibration stand, in bursts of mean length
        packet_loss_burst_samples (Gilbert-Elliott; 1 = independent losses);
        packet_loss_in_stand: lose packets inside the calibration stand too.
    dropouts: data holes, each "WHERE[@REP]:SENSORS:SECONDS" (simulation.holes.Dropout): WHERE is
        stand, between_reps, rise, peak, lower or a start time in s; REP a 1-based rep number or
        "all" (default: one drawn from the seed); SENSORS both, thigh or pelvis. The truth lists
        every hole (Truth.gaps, Truth.dropouts) and flags each rep a hole cut (TruthRep.cut_by_gap).
    with_magnetometer: add mx,my,mz (indoor field, per-sensor hard-iron offset, noise);
        mag_hard_iron_max_ut: hard-iron offset per axis U(+-max) (0: a sensor calibrated in the device);
        mag_dipole_ut: a ferromagnetic object near the floor (a steel chair, a radiator; a dipole at a
        seeded place 0.4-0.7 m from the patient, 0.1-0.4 m high), given as its field at 0.5 m (uT):
        the disturbance depends on where each sensor is, so it differs between thigh and pelvis and
        changes as they move; 0 = none;
        mag_transient_ut / mag_transient_s: a time-limited disturbance of the thigh sensor (leaning on
        a steel frame): a world-frame field of that size in a seeded direction for that long (1 s
        ramps), starting at a seeded time in the middle half of the session; 0 = none.
        The truth carries each sensor's disturbance size per sample (SensorTruth.mag_disturbance_ut).
    internal_rate_hz: fine grid on which the motion is built and differentiated.

    Faults (for testing the processing core's placement checks; the truth keeps the physical identity)
    ------
    swap_sensors: the thigh sensor's data is labelled ``pelvis`` and vice versa.
    still_sensor: that sensor never moves (lies on a table, +z up).
    allow_short_stand: permit stand_s below the required 2 s (down to 0.5 s).
    Upside-down mounting: thigh_/pelvis_misplacement_rotvec_deg=(0, 0, 180).
    truth_rate_hz: rate of the uniform ground-truth time series.
    """

    exercise: Exercise = "knee_raise"
    side: Side = "right"
    reps: int = 10
    sets: int = 1
    seed: int = 0
    amplitude_deg: float | None = None
    amplitude_variation: float = 0.08
    up_s: float | None = None
    hold_s: float = 1.0
    down_s: float | None = None
    tempo_variation: float = 0.15
    rest_between_reps_s: float = 1.5
    rest_between_sets_s: float = 25.0
    turn_between_sets_prob: float = 0.5
    fidget: bool = True
    stand_s: float = 3.0
    end_stand_s: float = 2.0
    partial_rep_prob: float = 0.1
    partial_reps: tuple[int, ...] | None = None
    partial_fraction_range: tuple[float, float] = (0.35, 0.6)
    compensation_prob: float = 0.3
    compensated_reps: tuple[int, ...] | None = None
    compensation_threshold_deg: float = DEFAULT_COMPENSATION_THRESHOLD_DEG
    compensation_margin_deg: float = 4.0
    compensation_excess_range_deg: tuple[float, float] = (0.0, 8.0)
    compensation_onset_deg: float | None = None
    lumbopelvic_rhythm: float | None = None
    pelvis_rotation_range_deg: tuple[float, float] = (10.0, 25.0)
    pelvis_obliquity_range_deg: tuple[float, float] = (3.0, 10.0)
    hip_abduction_range_deg: tuple[float, float] | None = None
    hip_rotation_range_deg: tuple[float, float] | None = None
    out_of_plane_exponent_range: tuple[float, float] = (1.0, 1.0)
    out_of_plane_lag_max_s: float = 0.0
    tempo_scale: float = 1.0
    calibration_stand: str = "start"
    sway_scale: float = 1.0
    pure_sagittal: bool = False
    thigh_rate_hz: float = 100.0
    pelvis_rate_hz: float = 100.0
    misplacement_max_deg: float = 25.0
    thigh_misplacement_rotvec_deg: tuple[float, float, float] | None = None
    pelvis_misplacement_rotvec_deg: tuple[float, float, float] | None = None
    wobble_scale: float = 1.0
    soft_tissue_deg: float = 0.0
    random_anatomy: bool = False
    acc_noise_m_s2: float = 0.02
    gyr_noise_rad_s: float = 0.004
    gyr_bias_max_rad_s: float = 0.02
    gyr_bias_walk_rad_s_sqrt_s: float = 2e-4
    acc_bias_max_m_s2: float = 0.05
    scale_error_max: float = 0.02
    clock_drift_max_ppm: float = 50.0
    alignment_error_max_s: float = 0.001
    packet_loss: float = 0.01
    packet_loss_burst_samples: float = 6.0
    packet_loss_in_stand: bool = False
    dropouts: tuple[Dropout, ...] = ()
    with_magnetometer: bool = False
    mag_hard_iron_max_ut: float = 5.0
    mag_dipole_ut: float = 0.0
    mag_transient_ut: float = 0.0
    mag_transient_s: float = 8.0
    swap_sensors: bool = False
    still_sensor: str | None = None
    allow_short_stand: bool = False
    internal_rate_hz: float = 1000.0
    truth_rate_hz: float = 100.0

    def __post_init__(self) -> None:
        try:
            check_exercise(self.exercise)
            check_side(self.side)
        except ValueError as exc:
            raise SimulationConfigError(str(exc)) from None
        _require(self.reps >= 1, "reps", self.reps, "use at least 1 repetition per set")
        _require(self.sets >= 1, "sets", self.sets, "use at least 1 set")
        _require(self.calibration_stand in CALIBRATION_STANDS, "calibration_stand", self.calibration_stand,
                 f"use one of {', '.join(CALIBRATION_STANDS)}")
        if self.calibration_stand == "start":
            _require(
                self.stand_s >= (0.5 if self.allow_short_stand else MIN_CALIBRATION_STAND_S),
                "stand_s",
                self.stand_s,
                f"the calibration stand must last at least {MIN_CALIBRATION_STAND_S} s "
                "(allow_short_stand=True simulates the fault, down to 0.5 s)",
            )
        else:
            _require(math.isfinite(self.stand_s) and self.stand_s >= 0, "stand_s", self.stand_s,
                     "use a finite value >= 0")
        if self.calibration_stand == "end":
            _require(self.end_stand_s >= MIN_CALIBRATION_STAND_S, "end_stand_s", self.end_stand_s,
                     f"calibration_stand='end' needs at least {MIN_CALIBRATION_STAND_S} s of standing at the end")
        if self.calibration_stand == "between_sets":
            _require(self.sets >= 2, "sets", self.sets, "calibration_stand='between_sets' needs at least 2 sets")
            _require(self.rest_between_sets_s >= MIN_CALIBRATION_STAND_S + 2.0, "rest_between_sets_s",
                     self.rest_between_sets_s,
                     f"calibration_stand='between_sets' needs a rest of at least {MIN_CALIBRATION_STAND_S + 2.0:g} s")
        _require(self.still_sensor in (None, "thigh", "pelvis"), "still_sensor", self.still_sensor,
                 "use None, 'thigh' or 'pelvis'")
        for name in ("thigh_rate_hz", "pelvis_rate_hz"):
            v = getattr(self, name)
            _require(MIN_RATE_HZ <= v <= MAX_RATE_HZ, name, v, f"use {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz")
        _require(self.rise_s >= 0.3, "up_s", self.up_s, "use at least 0.3 s")
        _require(self.lower_s >= 0.3, "down_s", self.down_s, "use at least 0.3 s")
        for name in ("hold_s", "rest_between_reps_s", "rest_between_sets_s", "end_stand_s", "sway_scale",
                     "wobble_scale", "acc_noise_m_s2", "gyr_noise_rad_s", "gyr_bias_max_rad_s",
                     "gyr_bias_walk_rad_s_sqrt_s", "acc_bias_max_m_s2", "scale_error_max",
                     "clock_drift_max_ppm", "alignment_error_max_s", "amplitude_variation",
                     "tempo_variation", "compensation_margin_deg", "soft_tissue_deg"):
            v = getattr(self, name)
            _require(math.isfinite(v) and v >= 0, name, v, "use a finite value >= 0")
        for name in ("partial_rep_prob", "compensation_prob", "turn_between_sets_prob"):
            v = getattr(self, name)
            _require(0 <= v <= 1, name, v, "use a probability in [0, 1]")
        _require(0 <= self.mag_hard_iron_max_ut <= 50, "mag_hard_iron_max_ut", self.mag_hard_iron_max_ut, "use 0..50 uT")
        _require(0 <= self.mag_dipole_ut <= 200, "mag_dipole_ut", self.mag_dipole_ut, "use 0..200 uT")
        _require(0 <= self.mag_transient_ut <= 200, "mag_transient_ut", self.mag_transient_ut, "use 0..200 uT")
        _require(2.0 <= self.mag_transient_s <= 600, "mag_transient_s", self.mag_transient_s, "use 2..600 s")
        _require(0 <= self.packet_loss < 0.5, "packet_loss", self.packet_loss, "use a fraction in [0, 0.5)")
        _require(self.packet_loss_burst_samples >= 1, "packet_loss_burst_samples",
                 self.packet_loss_burst_samples, "use a mean burst of >= 1 sample")
        _require(0 <= self.misplacement_max_deg <= 180, "misplacement_max_deg", self.misplacement_max_deg,
                 "use 0-180 deg")
        _require(0.25 <= self.tempo_scale <= 4.0, "tempo_scale", self.tempo_scale, "use 0.25-4 (2 = twice as slow)")
        _require(self.soft_tissue_deg <= 15.0, "soft_tissue_deg", self.soft_tissue_deg,
                 "use 0-15 deg (skin over the thigh slides a few degrees)")
        for name in ("hip_abduction_range_deg", "hip_rotation_range_deg"):
            rng_deg = getattr(self, name)
            if rng_deg is not None:
                _require(len(rng_deg) == 2 and -45.0 <= rng_deg[0] <= rng_deg[1] <= 45.0, name, rng_deg,
                         "use (low, high) with -45 <= low <= high <= 45 deg")
        lo, hi = self.out_of_plane_exponent_range
        _require(0.75 <= lo <= hi <= 3.0, "out_of_plane_exponent_range", self.out_of_plane_exponent_range,
                 "use 0.75 <= low <= high <= 3 (1 = in proportion to the flexion)")
        _require(0 <= self.out_of_plane_lag_max_s <= MAX_OUT_OF_PLANE_LAG_S, "out_of_plane_lag_max_s",
                 self.out_of_plane_lag_max_s, f"use 0-{MAX_OUT_OF_PLANE_LAG_S:g} s")
        lo, hi = self.partial_fraction_range
        _require(0.1 <= lo <= hi < 0.9, "partial_fraction_range", self.partial_fraction_range,
                 "use 0.1 <= low <= high < 0.9")
        amp = self.target_amplitude_deg
        _require(amp != 0 and math.isfinite(amp), "amplitude_deg", self.amplitude_deg, "use a non-zero angle")
        if self.exercise == "hip_extension":
            _require(-60 <= amp < 0, "amplitude_deg", amp, "hip extension peaks are negative, -60..0 deg")
        else:
            _require(0 < amp <= 140, "amplitude_deg", amp, f"{self.exercise} peaks are positive, 0..140 deg")
        onset = self.onset_deg
        _require(0 < onset < abs(amp), "compensation_onset_deg", onset,
                 f"use a |hip flexion| between 0 and the amplitude ({abs(amp):g} deg)")
        _require(self.compensation_threshold_deg > self.compensation_margin_deg, "compensation_margin_deg",
                 self.compensation_margin_deg, "the margin must be smaller than the threshold")
        _require(self.internal_rate_hz >= 2 * MAX_RATE_HZ, "internal_rate_hz", self.internal_rate_hz,
                 f"use at least {2 * MAX_RATE_HZ:g} Hz")
        _require(1 <= self.truth_rate_hz <= self.internal_rate_hz, "truth_rate_hz", self.truth_rate_hz,
                 "use 1 Hz .. internal_rate_hz")
        n_total = self.reps * self.sets
        for name in ("partial_reps", "compensated_reps"):
            idx = getattr(self, name)
            if idx is not None:
                bad = [i for i in idx if not 1 <= i <= n_total]
                _require(not bad, name, idx, f"rep indices are 1-based and at most {n_total}")
        parsed = []
        for d in self.dropouts:
            try:
                dropout = Dropout.parse(d) if isinstance(d, str) else d
                _require(isinstance(dropout, Dropout), "dropouts", d, 'use "WHERE[@REP]:SENSORS:SECONDS"')
                dropout.check(n_total)
            except DropoutError as exc:
                raise SimulationConfigError(f"SimulationConfig.dropouts: {exc}") from None
            parsed.append(dropout)
        # the field takes the text form too (CLI, JSON); it always holds parsed Dropouts
        object.__setattr__(self, "dropouts", tuple(parsed))

    @property
    def target_amplitude_deg(self) -> float:
        return DEFAULT_AMPLITUDE_DEG[self.exercise] if self.amplitude_deg is None else float(self.amplitude_deg)

    @property
    def rise_s(self) -> float:
        return DEFAULT_TEMPO_S[self.exercise][0] * self.tempo_scale if self.up_s is None else float(self.up_s)

    @property
    def lower_s(self) -> float:
        return DEFAULT_TEMPO_S[self.exercise][1] * self.tempo_scale if self.down_s is None else float(self.down_s)

    @property
    def onset_deg(self) -> float:
        """|Hip flexion| at which compensation starts."""
        if self.compensation_onset_deg is None:
            return DEFAULT_ONSET_DEG[self.exercise]
        return abs(float(self.compensation_onset_deg))

    @property
    def rhythm(self) -> float:
        return DEFAULT_RHYTHM[self.exercise] if self.lumbopelvic_rhythm is None else float(self.lumbopelvic_rhythm)

    @classmethod
    def ideal(cls, **overrides: Any) -> SimulationConfig:
        """Perfect sensors (no noise, bias, scale error, wobble, misplacement, clock error or loss)."""
        base: dict[str, Any] = dict(
            misplacement_max_deg=0.0,
            wobble_scale=0.0,
            acc_noise_m_s2=0.0,
            gyr_noise_rad_s=0.0,
            gyr_bias_max_rad_s=0.0,
            gyr_bias_walk_rad_s_sqrt_s=0.0,
            acc_bias_max_m_s2=0.0,
            scale_error_max=0.0,
            clock_drift_max_ppm=0.0,
            alignment_error_max_s=0.0,
            packet_loss=0.0,
        )
        base.update(overrides)
        return cls(**base)

    @classmethod
    def randomized(cls, seed: int, **overrides: Any) -> SimulationConfig:
        """A plausible session drawn from ``seed``: any drill and side, each sensor 50-120 Hz,
        2 sets of 8-12 reps, holds 0-2 s; everything else default (misplacement ≤ 25°, bias, drift,
        packet loss). ``overrides`` win."""
        import numpy as np

        from tracker.conventions import EXERCISES, SIDES

        rng = np.random.default_rng([seed, 0xC0FFEE])
        kw: dict[str, Any] = dict(
            exercise=EXERCISES[int(rng.integers(len(EXERCISES)))],
            side=SIDES[int(rng.integers(2))],
            reps=int(rng.integers(8, 13)),
            sets=2,
            seed=seed,
            hold_s=float(np.round(rng.uniform(0.0, 2.0), 2)),
            thigh_rate_hz=float(np.round(rng.uniform(50.0, 120.0))),
            pelvis_rate_hz=float(np.round(rng.uniform(50.0, 120.0))),
        )
        kw.update(overrides)
        return cls(**kw)

    @classmethod
    def realistic(cls, seed: int = 0, **overrides: Any) -> SimulationConfig:
        """Everything that makes real hips hard at once (issue 14), drawn from ``seed``:

        a 3-DoF hip (abduction and rotation coupled to the flexion: the session's pattern drawn from
        REALISTIC_HIP_*_RANGE_DEG for the drill, each rep within ±4° of it, its coupling curved
        (exponent 0.75-2) and out of step by up to 0.15 s), pelvic obliquity 4-12° and rotation
        10-25° with the moving leg, thigh soft-tissue artefact of 4° plus
        1.5× wobble, anthropometric joint centres and sensor positions, misplacement up to 25°, gyro
        bias up to 3°/s per axis, each sensor at 50-120 Hz, reps at 1-2× the usual duration; the usual
        1 % packet loss and no longer holes (add ``dropouts`` / HOLE_SCENARIOS). Pass ``exercise`` here
        (the hip coupling depends on it); ``overrides`` win.
        """
        import numpy as np

        rng = np.random.default_rng([seed, 0x4EA115])
        exercise = overrides.get("exercise", "knee_raise")
        try:
            check_exercise(exercise)
        except ValueError as exc:
            raise SimulationConfigError(str(exc)) from None
        kw: dict[str, Any] = dict(
            seed=seed,
            out_of_plane_exponent_range=(0.75, 2.0),
            out_of_plane_lag_max_s=0.15,
            pelvis_obliquity_range_deg=(4.0, 12.0),
            pelvis_rotation_range_deg=(10.0, 25.0),
            soft_tissue_deg=4.0,
            wobble_scale=1.5,
            random_anatomy=True,
            misplacement_max_deg=25.0,
            gyr_bias_max_rad_s=math.radians(3.0),
            thigh_rate_hz=float(np.round(rng.uniform(50.0, 120.0))),
            pelvis_rate_hz=float(np.round(rng.uniform(50.0, 120.0))),
            tempo_scale=float(np.round(rng.uniform(1.0, 2.0), 2)),
        )
        # drawn after the rates and tempo, so those stay what they were before patterns were drawn
        kw["hip_abduction_range_deg"] = _pattern(rng, REALISTIC_HIP_ABDUCTION_RANGE_DEG[exercise])
        kw["hip_rotation_range_deg"] = _pattern(rng, REALISTIC_HIP_ROTATION_RANGE_DEG[exercise])
        kw.update(overrides)
        return cls(**kw)

    def with_(self, **changes: Any) -> SimulationConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "dropouts":
                out[f.name] = [str(d) for d in v]
            else:
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationConfig:
        known = {f.name for f in fields(cls)}
        # JSON values; __post_init__ validates each
        kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in known}
        return cls(**kw)


def _pattern(rng: Any, span: tuple[float, float]) -> tuple[float, float]:
    """A patient's per-rep range: a centre drawn from ``span``, ± REALISTIC_PER_REP_SPREAD_DEG."""
    centre = float(rng.uniform(*span))
    return (round(centre - REALISTIC_PER_REP_SPREAD_DEG, 2), round(centre + REALISTIC_PER_REP_SPREAD_DEG, 2))


def _require(ok: bool, name: str, value: object, fix: str) -> None:
    if not ok:
        raise SimulationConfigError(f"SimulationConfig.{name}={value!r} is out of range: {fix}")
