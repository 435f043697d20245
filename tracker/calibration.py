"""Sensor-to-segment calibration: quiet stand, vertical from gravity, flexion axis from the movement.

Why: the straps sit up to ±25° off the documented placement (+x up along the segment, +z out of the
body). Gravity during the quiet stand fixes each sensor's vertical; the remaining rotation about the
vertical is fixed by the hip's flexion axis, identified from the movement with the heading-free hinge
constraint of Seel et al. (2012): for a hinge, the thigh's and pelvis' angular velocities differ only
along the joint axis j, so ‖ω_t × j_t‖ = ‖ω_p × j_p‖. Here each j is additionally constrained to be
horizontal during the stand (the flexion axis of a standing person is), leaving one angle per sensor —
a 2-D grid search, fast and without local minima. The sign comes from the placement convention.

Anatomical frames (ISB, Wu 2002): X anterior, Y superior, Z to the subject's right, both sides.
Bad placement raises :class:`CalibrationError` with a message naming the sensor and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.conventions import DRILL_MOTION, GRAVITY_M_S2, MIN_CALIBRATION_STAND_S, Exercise, Side
from tracker.results import Calibration, SensorCalibration
from tracker.rotations import quat_to_matrix, rz1
from tracker.sanity import OTHER_LEG_FLAG, ThighSide


class CalibrationError(ValueError):
    """The recording cannot be calibrated: bad placement or a missing calibration stand."""


def nominal_ml_axis(sensor: str, side: Side) -> np.ndarray:
    """The subject's right (anatomical +Z) in sensor coordinates for the documented placement."""
    if sensor == "pelvis":  # x up, z posterior → y = z × x points left
        return np.array([0.0, -1.0, 0.0])
    return np.array([0.0, 0.0, 1.0]) if side == "right" else np.array([0.0, 0.0, -1.0])


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    n = max(1, min(n, len(x)))
    c = np.cumsum(np.concatenate([[0.0], x]))
    out = (c[n:] - c[:-n]) / n
    return np.concatenate([out, np.full(n - 1, out[-1])])


def quiet_mask(
    acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, rate_hz: float, *, gyr_threshold_rad_s: float, acc_tolerance_m_s2: float
) -> np.ndarray:
    """True where the sensor is quiet: small smoothed gyro norm and acceleration norm close to g."""
    n = max(1, int(round(0.25 * rate_hz)))
    gn = _moving_mean(np.linalg.norm(gyr_rad_s, axis=1), n)
    an = np.linalg.norm(acc_m_s2, axis=1)
    am = _moving_mean(an, n)
    asd = np.sqrt(np.maximum(_moving_mean(an**2, n) - am**2, 0.0))
    out: np.ndarray = (gn < gyr_threshold_rad_s) & (np.abs(am - GRAVITY_M_S2) < acc_tolerance_m_s2) & (asd < 0.5 * acc_tolerance_m_s2)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[a, b) index ranges where ``mask`` is True."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _horizontal_basis(up: np.ndarray, nominal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u1 = nominal - up * (nominal @ up)
    u1 /= np.linalg.norm(u1)
    return u1, np.cross(up, u1)


def pelvis_axis_hinge(
    omega_t: np.ndarray, omega_p: np.ndarray, j_t: np.ndarray, up_p: np.ndarray, nominal_p: np.ndarray,
    *, max_deviation_deg: float = 45.0, prior_sigma_deg: float = 15.0, prior_weight: float = 0.1,
) -> tuple[np.ndarray, float]:
    """Pelvis ML axis by Seel's hinge cost Σ(‖ω_t×j_t‖ − ‖ω_p×j_p‖)² with j_t known, j_p horizontal.

    One angle (the sensor's heading on the sacrum) within ±``max_deviation_deg`` of the placement.
    Used for the single-leg drills, where the hip moves mostly about its flexion axis.
    Returns (j_p, relative cost reduction 0..1 vs the nominal axis).
    """
    u1, u2 = _horizontal_basis(up_p, nominal_p)
    a = np.radians(np.arange(-max_deviation_deg, max_deviation_deg + 0.01, 0.5))
    J = np.outer(np.cos(a), u1) + np.outer(np.sin(a), u2)
    A = np.sqrt(np.maximum((omega_t**2).sum(1) - (omega_t @ j_t) ** 2, 0.0))
    # ω_p·j for every candidate, as broadcast products: a BLAS product of this shape starts threads,
    # which only contend on a shared machine (4× slower there)
    par = omega_p[:, 0:1] * J[:, 0] + omega_p[:, 1:2] * J[:, 1] + omega_p[:, 2:3] * J[:, 2]
    B = np.sqrt(np.maximum((omega_p**2).sum(1)[:, None] - par**2, 0.0))
    cost = ((B - A[:, None]) ** 2).sum(0)
    # The cost is often shallow or has a mirror minimum (reflection about the pelvis' dominant
    # horizontal rotation axis); a weak prior toward the documented placement (Gaussian, σ = 15°,
    # the spread of a ±25° strap) picks the physically plausible one.
    rel = cost / max(float(cost.min()), 1e-12)
    k = int(np.argmin(rel + prior_weight * (np.degrees(a) / prior_sigma_deg) ** 2))
    c0 = cost[len(a) // 2]
    return J[k], float(np.clip(1.0 - cost[k] / max(c0, 1e-12), 0.0, 1.0))


def pelvis_axis_tilt(omega_p: np.ndarray, up_p: np.ndarray, nominal_p: np.ndarray) -> np.ndarray:
    """Pelvis ML axis as the dominant horizontal axis of the pelvis' own rotation.

    Used for the (bilateral, symmetric) deep squat, where the pelvis tilts a lot and neither rolls nor
    turns by symmetry, while the hips abduct and rotate (knees out) — not a hinge.
    """
    w = omega_p - np.outer(omega_p @ up_p, up_p)
    j = np.linalg.eigh(w.T @ w)[1][:, -1]
    return j if j @ nominal_p > 0 else -j


def pelvis_axis_functional(
    rot_t: np.ndarray, rot_p: np.ndarray, delta: np.ndarray, stand_idx: int, up_p: np.ndarray, nominal_p: np.ndarray,
    *, min_rotation_rad: float = 0.2,
) -> np.ndarray | None:
    """Pelvis ML axis as the dominant horizontal axis of the thigh's rotation relative to the pelvis
    since the stand, once the relative heading δ is known (tracker/heading.py): Q(t) = C(t)·C(stand)ᵀ
    with C = R_pᵀ·Rz(δ)·R_t. The flexion dominates it; abduction and rotation coupled to the flexion tilt
    it by their share. None when the thigh hardly moved."""
    from tracker.rotations import rz

    C = np.transpose(rot_p, (0, 2, 1)) @ rz(delta) @ rot_t
    Q = C @ C[stand_idx].T
    v = np.column_stack([Q[:, 2, 1] - Q[:, 1, 2], Q[:, 0, 2] - Q[:, 2, 0], Q[:, 1, 0] - Q[:, 0, 1]])
    v = v[np.linalg.norm(v, axis=1) > 2.0 * np.sin(0.5 * min_rotation_rad)]
    if len(v) < 20:
        return None
    v = v - np.outer(v @ up_p, up_p)
    j: np.ndarray = np.linalg.eigh(v.T @ v)[1][:, -1]
    return j if j @ nominal_p > 0 else -j


def identify_axes_from_orientation(
    rot_t: np.ndarray,
    rot_p: np.ndarray,
    stand_idx: int,
    nominal_t: np.ndarray,
    nominal_p: np.ndarray,
    up_p: np.ndarray,
    *,
    n_grid: int = 49,
    max_prior_deviation_rad: float = np.radians(60.0),
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Hinge axes from the integrated relative rotation since the stand (large-angle, high SNR).

    For a trial relative heading δ0 between the two earth frames, the thigh's rotation since the stand
    expressed in the pelvis sensor frame is Q(t) = R_p(t)ᵀ·Rz(δ0)·R_t(t)·R_t0ᵀ·Rz(−δ0)·R_p0. For a hinge
    its rotation axis is the same vector j_p at every t; for a wrong δ0 the axis wanders as the pelvis
    moves. δ0 is chosen to make the axes most collinear (largest eigenvalue share of Σ v vᵀ, v the
    rotation axis scaled by 2·sin θ); j_p is that eigenvector, j_t = C0ᵀ·j_p with C0 the relative
    sensor rotation at the stand. Returns (j_t, j_p, collinearity 0..1, δ0).
    """
    A = rot_t @ rot_t[stand_idx].T  # thigh rotation since the stand, thigh earth frame
    rp0 = rot_p[stand_idx]
    rpT = np.transpose(rot_p, (0, 2, 1))

    def axis_vectors(d0: float) -> np.ndarray:
        rz = rz1(d0)
        Q = rpT @ (rz @ A @ rz.T) @ rp0
        return np.column_stack([Q[:, 2, 1] - Q[:, 1, 2], Q[:, 0, 2] - Q[:, 2, 0], Q[:, 1, 0] - Q[:, 0, 1]])

    # Rz(δ0)·A·Rz(δ0)ᵀ is a trigonometric polynomial of degree 2 in δ0, and so is every v(δ0):
    # v(δ0) = Σ_m f_m(δ0)·V_m with f = (1, cos δ0, sin δ0, cos 2δ0, sin 2δ0). Five evaluations give the
    # V_m exactly; then Σ v vᵀ = Σ_mn f_m f_n V_mᵀV_n costs a few 3×3 sums per trial δ0, whatever N.
    def basis(d: np.ndarray) -> np.ndarray:
        d = np.atleast_1d(d)
        return np.column_stack([np.ones_like(d), np.cos(d), np.sin(d), np.cos(2 * d), np.sin(2 * d)])

    nodes = np.arange(5) * (2 * np.pi / 5)
    v_nodes = np.stack([axis_vectors(float(d)) for d in nodes])  # (5, N, 3)
    V = np.linalg.solve(basis(nodes), v_nodes.reshape(5, -1)).reshape(v_nodes.shape)
    G = np.einsum("mni,pnj->mpij", V, V)

    def scores(d0s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = basis(d0s)
        S = np.einsum("gm,gp,mpij->gij", f, f, G)
        w, vec = np.linalg.eigh(S)
        tr = np.maximum(np.trace(S, axis1=1, axis2=2), 1e-12)
        return w[:, -1] / tr, vec[:, :, -1]

    # Prior from the placement convention: at the stand both nominal ML axes (made horizontal) are
    # parallel in a common frame. The hinge alone leaves a mirror ambiguity (δ0 + 180°) when the
    # pelvis mostly turns about the vertical; the documented placement (±25°, combined ≤ ~60°) breaks it.
    def heading_of(rot: np.ndarray, v: np.ndarray) -> float:
        e = rot @ v
        return float(np.arctan2(e[1], e[0]))

    d_nom = heading_of(rp0, nominal_p) - heading_of(rot_t[stand_idx], nominal_t)
    grid = d_nom + np.linspace(-max_prior_deviation_rad, max_prior_deviation_rad, n_grid)
    d_best = float(grid[int(np.argmax(scores(grid)[0]))])
    step = grid[1] - grid[0]
    for _ in range(3):  # local refinement
        cand = d_best + np.linspace(-step, step, 11)
        d_best = float(cand[int(np.argmax(scores(cand)[0]))])
        step /= 5
    share = float(scores(np.array([d_best]))[0][0])
    # The axis itself from the horizontal part only: the pelvis also turns about the vertical during
    # single-leg reps (hip rotation), which must not tilt the flexion axis.
    v = np.einsum("m,mni->ni", basis(np.array([d_best]))[0], V)
    v = v - np.outer(v @ up_p, up_p)
    j_p = np.linalg.eigh(v.T @ v)[1][:, -1]
    if j_p @ nominal_p < 0:
        j_p = -j_p
    c0 = rpT[stand_idx] @ rz1(d_best) @ rot_t[stand_idx]
    j_t = c0.T @ j_p
    if j_t @ nominal_t < 0:  # the line is identified; its sign comes from the placement convention
        j_t = -j_t
    return j_t, j_p, share, d_best


def anatomical_frame(up: np.ndarray, ml: np.ndarray) -> np.ndarray:
    """3×3 matrix whose columns are anatomical X, Y, Z in sensor coordinates (sensor ← anatomical)."""
    y = up / np.linalg.norm(up)
    z = ml - y * (ml @ y)
    z /= np.linalg.norm(z)
    x = np.cross(y, z)
    return np.column_stack([x, y, z])


@dataclass(frozen=True, slots=True)
class CalibrationInput:
    """Both sensors on the shared grid (what the calibrator needs from the pipeline)."""

    t_s: np.ndarray
    rate_hz: float
    quat_thigh: np.ndarray
    quat_pelvis: np.ndarray
    gyr_thigh: np.ndarray  # bias-corrected, sensor frame
    gyr_pelvis: np.ndarray
    acc_thigh: np.ndarray
    acc_pelvis: np.ndarray
    valid: np.ndarray
    block: np.ndarray | None = None  # VQF segment id per sample; headings are only comparable within one


class Calibrator:
    """Detect the quiet stand, check placement and identify each sensor's anatomical frame.

    Parameters
    ----------
    min_stand_s
        Shortest acceptable quiet stand (the protocol asks for 2 s; 0.25 s of slack absorbs the
        detector's window edges). Any such stand serves: at the start, between sets or at the end.
        Default 1.75 s.
    max_stand_gap_s
        Longest stretch without data inside a stand that is bridged (lost packets). Default 0.5 s.
    stand_gyr_threshold_rad_s
        Smoothed gyroscope norm below which a sensor counts as quiet. Default 0.15 rad/s (8.6°/s):
        above sway (~1°/s), noise and residual gyro bias, below deliberate movement.
    stand_max_tilt_deg
        The smoothed gravity direction must stay within this angle of its first 0.5 s mean: slow
        small movements (a 20° hip extension) are caught even when their rate is low. Default 4°.
    stand_acc_tolerance_m_s2
        Allowed deviation of the acceleration norm from g during the stand. Default 0.8 m/s².
    max_misplacement_deg
        Largest angle between a sensor's +x and the standing vertical accepted as "worn as documented"
        (the protocol tolerates ±25°, combined tilts reach ~35°). Default 55°.
    min_motion_rad_s
        95th percentile of the thigh's angular speed below which it "never moves". Default 0.25 rad/s.
    axis_window_s
        Movement after the stand used to identify the flexion axes (one VQF segment). Default 240 s.
    """

    def __init__(
        self,
        *,
        min_stand_s: float = 1.75,
        max_stand_gap_s: float = 0.5,
        stand_gyr_threshold_rad_s: float = 0.15,
        stand_max_tilt_deg: float = 4.0,
        stand_acc_tolerance_m_s2: float = 0.8,
        max_misplacement_deg: float = 55.0,
        min_motion_rad_s: float = 0.25,
        axis_window_s: float = 240.0,
    ) -> None:
        for name, value in (
            ("min_stand_s", min_stand_s),
            ("max_stand_gap_s", max_stand_gap_s),
            ("stand_gyr_threshold_rad_s", stand_gyr_threshold_rad_s),
            ("stand_acc_tolerance_m_s2", stand_acc_tolerance_m_s2),
            ("min_motion_rad_s", min_motion_rad_s),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not 0 < max_misplacement_deg < 90:
            raise ValueError(f"max_misplacement_deg must be in (0, 90), got {max_misplacement_deg!r}")
        self.min_stand_s = min_stand_s
        self.max_stand_gap_s = max_stand_gap_s
        self.stand_gyr_threshold_rad_s = stand_gyr_threshold_rad_s
        self.stand_acc_tolerance_m_s2 = stand_acc_tolerance_m_s2
        self.max_misplacement_deg = max_misplacement_deg
        self.min_motion_rad_s = min_motion_rad_s
        if not 0 < stand_max_tilt_deg < 45:
            raise ValueError(f"stand_max_tilt_deg must be in (0, 45), got {stand_max_tilt_deg!r}")
        self.stand_max_tilt_deg = stand_max_tilt_deg
        if not axis_window_s > 10:
            raise ValueError(f"axis_window_s must be > 10 s, got {axis_window_s!r}")
        self.axis_window_s = axis_window_s

    # -- stand -------------------------------------------------------------------------------
    def quiet_stands(self, data: CalibrationInput) -> list[tuple[int, int]]:
        """Index ranges [a, b) of every quiet stretch at least ``min_stand_s`` long, in time order.

        Quiet: both sensors' smoothed gyro norm and acceleration norm within the thresholds and the
        smoothed gravity direction within ``stand_max_tilt_deg`` of the stretch's first 0.5 s (slow,
        small movements barely exceed any rate threshold but do tilt the sensor). Samples the shared
        grid marks invalid inside a stretch (lost packets, gaps up to ``max_stand_gap_s``) neither count
        as movement nor end it: their signals are the bridged ones and nothing is computed from them.
        """
        rate = data.rate_hz
        quiet = np.ones(len(data.t_s), dtype=bool)
        for acc, gyr in ((data.acc_thigh, data.gyr_thigh), (data.acc_pelvis, data.gyr_pelvis)):
            quiet &= quiet_mask(
                acc, gyr, rate, gyr_threshold_rad_s=self.stand_gyr_threshold_rad_s,
                acc_tolerance_m_s2=self.stand_acc_tolerance_m_s2,
            )
        # short invalid stretches are bridged; longer ones end a stand
        invalid = ~data.valid
        runs = _runs(invalid)
        for a, b in runs:
            if (b - a) / rate > self.max_stand_gap_s:
                quiet[a:b] = False
        n0 = max(2, int(0.5 * rate))
        n_sm = max(1, int(round(0.25 * rate)))
        min_n = int(np.ceil(self.min_stand_s * rate))
        cos_max = np.cos(np.radians(self.stand_max_tilt_deg))
        smoothed = [(acc, np.column_stack([_moving_mean(acc[:, i], n_sm) for i in range(3)]))
                    for acc in (data.acc_thigh, data.acc_pelvis)]
        out: list[tuple[int, int]] = []
        for a, b in _runs(quiet):
            while b - a >= min_n:
                end = b
                for acc, sm_all in smoothed:
                    if end <= a:  # the other sensor already tilts at ``a``: no stand starts here
                        break
                    ok0 = data.valid[a : a + n0]
                    seg0 = acc[a : min(a + n0, end)]
                    up0 = (seg0[ok0[: len(seg0)]] if ok0[: len(seg0)].any() else seg0).mean(0)
                    up0 = up0 / np.linalg.norm(up0)
                    sm = sm_all[a:end]
                    bad = np.flatnonzero((sm @ up0) / np.linalg.norm(sm, axis=1) <= cos_max)
                    if len(bad):
                        end = a + int(bad[0])
                if end - a >= min_n:
                    out.append((a, end))
                a = max(end, a + 1) if end < b else b
        return out

    def detect_stand(self, data: CalibrationInput) -> tuple[int, int]:
        """Index range [a, b) of the calibration stand: the first quiet stand of at least
        ``min_stand_s`` whose sensors are worn as documented (+x within ``max_misplacement_deg`` of up).

        Any such stand serves — at the start, between sets or at the end. Raises
        :class:`CalibrationError` when there is none, naming what was found instead.
        """
        stands = self.quiet_stands(data)
        reasons: list[str] = []
        for a, b in stands:
            why = self._placement_problem(data, a, b)
            if why is None:
                return a, b
            reasons.append(f"{data.t_s[a]:.1f}–{data.t_s[b - 1]:.1f} s: {why}")
        if reasons:
            raise CalibrationError(
                "no quiet stand with the sensors worn as documented: "
                + "; ".join(reasons[:3])
                + ("" if len(reasons) <= 3 else f" (and {len(reasons) - 3} more)")
            )
        longest = self._longest_quiet_s(data)
        raise CalibrationError(
            f"no quiet stand of at least {self.min_stand_s:.2f} s found (longest quiet stretch "
            f"{longest:.2f} s); record at least {MIN_CALIBRATION_STAND_S:g} s of quiet standing — at the start, "
            "between sets or at the end"
        )

    def _longest_quiet_s(self, data: CalibrationInput) -> float:
        q = np.ones(len(data.t_s), dtype=bool)
        for acc, gyr in ((data.acc_thigh, data.gyr_thigh), (data.acc_pelvis, data.gyr_pelvis)):
            q &= quiet_mask(acc, gyr, data.rate_hz, gyr_threshold_rad_s=self.stand_gyr_threshold_rad_s,
                            acc_tolerance_m_s2=self.stand_acc_tolerance_m_s2)
        q &= data.valid
        return max(((b - a) / data.rate_hz for a, b in _runs(q)), default=0.0)

    def _placement_problem(self, data: CalibrationInput, a: int, b: int) -> str | None:
        """Why the stand [a, b) cannot calibrate (a sensor upside-down or tilted off its placement)."""
        v = data.valid[a:b]
        for name, acc in (("thigh", data.acc_thigh), ("pelvis", data.acc_pelvis)):
            up = acc[a:b][v].mean(0)
            up = up / np.linalg.norm(up)
            tilt_deg = float(np.degrees(np.arccos(np.clip(up[0], -1, 1))))
            if up[0] < -0.5:
                return (
                    f"{name} sensor appears upside-down: gravity points along its −x axis (+x is {tilt_deg:.0f}° "
                    "from up); wear it with +x pointing up along the segment"
                )
            if tilt_deg > self.max_misplacement_deg:
                return (
                    f"{name} sensor is {tilt_deg:.0f}° off the documented placement (limit "
                    f"{self.max_misplacement_deg:.0f}°) — sitting or lying? wear it with +x up along the segment"
                )
        return None

    # -- main --------------------------------------------------------------------------------
    def calibrate(
        self, data: CalibrationInput, side: Side, exercise: Exercise, *, identify_axes: bool = True,
        check_motion: bool = True, stand_s: tuple[float, float] | None = None,
    ) -> Calibrator:
        """Stand, verticals, placement checks and (``identify_axes``) the flexion axes from the movement.

        ``stand_s``: the stand's [start, end) times when already found (tracker/stages.py finds it on the
        raw signals, before the orientation filters run); otherwise it is detected here. The live path
        calls this first at the end of the stand (``identify_axes=False, check_motion=False``:
        placement-convention axes) and again once reps have been seen. Which leg the thigh sensor is on
        is judged with the identified axes only (a provisional calibration's flags are not reported).
        """
        if stand_s is None:
            i0, i1 = self.detect_stand(data)
        else:
            i0 = int(np.searchsorted(data.t_s, stand_s[0] - 1e-9))
            i1 = int(np.searchsorted(data.t_s, stand_s[1] - 1e-9))
            if i1 - i0 < 2:
                raise CalibrationError(f"the stand {stand_s[0]:.2f}–{stand_s[1]:.2f} s is not in this recording")
        # Drop 0.2 s at both ends: the window edges may already contain movement.
        edge = int(0.2 * data.rate_hz)
        i0c, i1c = (i0 + edge, i1 - edge) if i1 - i0 > 4 * edge else (i0, i1)
        stand = np.zeros(len(data.t_s), dtype=bool)
        stand[i0c:i1c] = True
        stand &= data.valid
        self.stand_mask_ = stand
        ups, sensor_cals, flags = {}, [], []
        for name, acc, gyr in (("thigh", data.acc_thigh, data.gyr_thigh), ("pelvis", data.acc_pelvis, data.gyr_pelvis)):
            mean_acc = acc[stand].mean(0)
            up = mean_acc / np.linalg.norm(mean_acc)
            tilt_deg = float(np.degrees(np.arccos(np.clip(up[0], -1, 1))))
            ups[name] = up
            sensor_cals.append(
                SensorCalibration(
                    sensor=name,
                    misplacement_deg=tilt_deg,
                    stand_accel_norm_m_s2=float(np.linalg.norm(mean_acc)),
                    stand_gyro_rms_rad_s=float(np.sqrt((gyr[stand] ** 2).sum(1).mean())),
                )
            )
        if check_motion:
            self._check_motion(data, i0, i1)
        if check_motion and identify_axes:
            # which leg the thigh sensor is on (tracker/sanity.ThighSide: gravity only, drill direction),
            # judged with the axes from the movement (a provisional calibration gives no verdict)
            side_check = ThighSide(exercise)
            side_check.stand(data.acc_thigh[stand].mean(0))
            moving = data.valid & ~stand
            side_check.update_batch(data.acc_thigh[moving])
            self.thigh_side_ = side_check
            if side_check.side_ not in (None, side):
                flags.append(OTHER_LEG_FLAG)
        nom_t, nom_p = nominal_ml_axis("thigh", side), nominal_ml_axis("pelvis", side)
        confidence = 0.0
        if identify_axes:
            # Samples after the stand, in the stand's VQF segment (same heading), within the first
            # ``axis_window_s`` (VQF heading drift stays small).
            moving = data.valid.copy()
            moving[i0:i1] = False
            moving &= np.abs(data.t_s - 0.5 * (data.t_s[i0] + data.t_s[i1 - 1])) <= self.axis_window_s
            if data.block is not None:
                moving &= data.block == data.block[(i0 + i1) // 2]
            idx = np.flatnonzero(moving)
            if len(idx) > 1500:
                idx = idx[np.linspace(0, len(idx) - 1, 1500).astype(int)]
            if len(idx) >= 50:
                mid = int(np.flatnonzero(stand)[len(np.flatnonzero(stand)) // 2])
                sel = np.concatenate([[mid], idx])
                rot_t = quat_to_matrix(data.quat_thigh[sel])
                rot_p = quat_to_matrix(data.quat_pelvis[sel])
                j_t, _, confidence, _ = identify_axes_from_orientation(rot_t, rot_p, 0, nom_t, nom_p, ups["pelvis"])
                method = DRILL_MOTION[exercise].pelvis_axis
                if method == "tilt":
                    j_p = pelvis_axis_tilt(data.gyr_pelvis[idx], ups["pelvis"], nom_p)
                elif method == "placement":
                    # ~20° of extension against up to ±8° of coupled hip rotation and abduction: the
                    # hinge cost is dominated by the non-hinge part (seen: 30° errors). The placement
                    # convention (made horizontal by gravity) bounds the error by the strap's heading.
                    j_p = nom_p
                    flags.append("pelvis_axis_from_placement")
                else:
                    # provisional: the engine replaces it by the functional axis once the relative heading is
                    # known (pelvis_axis_functional); Seel's hinge cost is the fallback when it is not
                    j_p, _ = pelvis_axis_hinge(data.gyr_thigh[idx], data.gyr_pelvis[idx], j_t, ups["pelvis"], nom_p)
                u1 = nom_p - ups["pelvis"] * (nom_p @ ups["pelvis"])
                dev = float(np.degrees(np.arccos(np.clip(abs(j_p @ u1) / np.linalg.norm(u1) / np.linalg.norm(j_p), -1, 1))))
                if dev > 40.0:
                    j_p = nom_p
                    flags.append(f"pelvis_axis_implausible_{dev:.0f}deg_used_placement")
            else:
                j_t, j_p = nom_t, nom_p
                flags.append("flexion_axis_from_placement")
        else:
            j_t, j_p = nom_t, nom_p
            flags.append("flexion_axis_from_placement")
        self.frame_thigh_ = anatomical_frame(ups["thigh"], j_t)
        self.frame_pelvis_ = anatomical_frame(ups["pelvis"], j_p)
        # Report total misplacement: angle between the nominal and the identified sensor frame.
        for k, (name, frame) in enumerate((("thigh", self.frame_thigh_), ("pelvis", self.frame_pelvis_))):
            nominal = anatomical_frame(np.array([1.0, 0.0, 0.0]), nominal_ml_axis(name, side))
            rel = nominal.T @ frame
            ang = float(np.degrees(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1, 1))))
            sensor_cals[k] = SensorCalibration(
                sensor=name,
                misplacement_deg=ang,
                stand_accel_norm_m_s2=sensor_cals[k].stand_accel_norm_m_s2,
                stand_gyro_rms_rad_s=sensor_cals[k].stand_gyro_rms_rad_s,
            )
            if ang > 35:
                flags.append(f"{name}_misplaced_{ang:.0f}deg")
        quality = "good" if confidence >= 0.6 else "fair" if confidence >= 0.3 else "poor"
        self.stand_index_ = (i0, i1)
        self.stand_span_s_ = (float(data.t_s[i0c]), float(data.t_s[i1c - 1]))
        self.up_thigh_, self.up_pelvis_ = ups["thigh"], ups["pelvis"]
        self.side_ = side
        self.calibration_ = Calibration(
            stand_start_s=float(data.t_s[i0]),
            stand_duration_s=float((i1 - i0) / data.rate_hz),
            sensors=tuple(sensor_cals),
            flexion_axis_confidence=confidence,
            quality=quality,
            flags=tuple(flags),
        )
        return self

    def with_pelvis_axis(self, j_p: np.ndarray, flag: str) -> Calibrator:
        """A copy whose pelvis frame uses the ML axis ``j_p`` (sensor coordinates), with ``flag`` noted."""
        import copy

        out = copy.copy(self)
        out.frame_pelvis_ = anatomical_frame(self.up_pelvis_, j_p)
        flags = tuple(f for f in self.calibration_.flags if not f.startswith("pelvis_axis")) + (flag,)
        out.calibration_ = Calibration(
            stand_start_s=self.calibration_.stand_start_s, stand_duration_s=self.calibration_.stand_duration_s,
            sensors=self.calibration_.sensors, flexion_axis_confidence=self.calibration_.flexion_axis_confidence,
            quality=self.calibration_.quality, flags=flags,
        )
        return out

    def _check_motion(self, data: CalibrationInput, stand_start: int, stand_end: int) -> None:
        """Never-moving and swapped sensors, judged on the whole session outside the stand."""
        v = data.valid.copy()
        v[stand_start:stand_end] = False
        if v.sum() < data.rate_hz:
            raise CalibrationError("no movement recorded besides the calibration stand")
        v = v[::4]  # every 4th sample: percentiles need no more
        speed = {n: float(np.percentile(np.linalg.norm(g[::4][v], axis=1), 95)) for n, g in (("thigh", data.gyr_thigh), ("pelvis", data.gyr_pelvis))}
        incl = {}
        for n, q in (("thigh", data.quat_thigh), ("pelvis", data.quat_pelvis)):
            w, x, y, z = (q[::4, i][v] for i in range(4))
            up_x = 2.0 * (x * z - w * y)  # the sensor's +x axis' up component (third row of R(q))
            a = np.degrees(np.arccos(np.clip(up_x, -1, 1)))
            p1, p99 = np.percentile(a, [1, 99])  # one partition for both
            incl[n] = float(p99 - p1)
        self.motion_diagnostics_ = {"p95_speed_rad_s": speed, "inclination_range_deg": incl}
        if speed["thigh"] < self.min_motion_rad_s and speed["pelvis"] < self.min_motion_rad_s:
            raise CalibrationError(
                f"neither sensor moves after the stand (95th-percentile angular speed thigh "
                f"{speed['thigh']:.2f}, pelvis {speed['pelvis']:.2f} rad/s); are both worn?"
            )
        if incl["pelvis"] > 20 and incl["pelvis"] > 1.3 * incl["thigh"]:
            raise CalibrationError(
                f"sensors look swapped: the 'pelvis' sensor tilts through {incl['pelvis']:.0f}° but the "
                f"'thigh' sensor only {incl['thigh']:.0f}°; the thigh sensor belongs on the exercised thigh"
            )
        if speed["thigh"] < self.min_motion_rad_s:
            raise CalibrationError(
                f"thigh sensor never moves (95th-percentile angular speed {speed['thigh']:.2f} rad/s < "
                f"{self.min_motion_rad_s} rad/s); is it strapped to the exercised leg?"
            )
        if speed["pelvis"] < 0.01:
            raise CalibrationError(
                f"pelvis sensor never moves (95th-percentile angular speed {speed['pelvis']:.3f} rad/s); is it worn?"
            )
