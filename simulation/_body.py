"""Kinematic chain: anatomical angles → segment orientations and positions → clean sensor signals.

World frame: X forward (the patient's initial facing), Y up, Z to the patient's initial right; gravity
is −9.80665 m/s² along Y. Segment frames are ISB (X anterior, Y superior, Z right) and coincide with
the world frame in the neutral standing pose facing forward.

Orientation order (scipy intrinsic ``"ZXY"``: R = Rz(a)·Rx(b)·Ry(c)):
  pelvis in world  R_p = Ry(heading) · Rz(−tilt) · Rx(obliquity) · Ry(rotation)
  thigh in pelvis  R_h = Rz(flexion) · Rx(−s·abduction) · Ry(s·internal rotation),  s = +1 right, −1 left
  thigh in world   R_t = R_p · R_h
Tilt enters as −tilt because anterior tilt tips the pelvis' superior axis forward, which is a negative
right-hand rotation about the right-pointing Z axis; hip flexion (knee forward) is positive about Z.
Hence, for pure sagittal motion, the thigh's forward elevation from the vertical is

    thigh_elevation = hip_flexion − pelvic_tilt        (tilt + anterior)

i.e. a knee raise with 10° of posterior tilt ("lumbar rounding") lifts the thigh 10° *higher* than the
hip flexion alone: elevation = hip flexion + |posterior tilt|. The hip flexion is the Z angle of the ISB
joint coordinate system (= first angle of the Z-X-Y Cardan decomposition of R_p^T R_t).

Sensor frames (tracker/conventions.py): +x up along the segment, +z out of the body. Nominal mounting:
thigh (lateral, exercised leg) x = Y, z = s·Z, y = −s·X; pelvis (sacrum) x = Y, z = −X, y = −Z.
Actual mounting = nominal · misplacement (a rotation in the sensor frame); between the femur and the
thigh sensor sit the soft tissues: a slow rotation that follows the flexion and the muscles'
contraction (``soft_tissue_rotvec``) and a small wobble ringing after fast movements
(``wobble_rotvec``), both in the thigh frame. The truth angles are the bones'.

Where the joint centres and sensors are (``Anatomy``): the placement guide's nominal body, or one
drawn from anthropometric ranges; the sensor positions' lever arms about the hip joint centre are
in the accelerometers exactly as the rigid-body kinematics put them there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.spatial.transform import Rotation

from simulation._motion import Script
from tracker import rotations as Q
from tracker.conventions import GRAVITY_M_S2

G_WORLD = np.array([0.0, -GRAVITY_M_S2, 0.0])
HIP_HALF_WIDTH_M = 0.085
SHANK_M = 0.46
THIGH_M = 0.46
SHANK_LEAN_PER_THIGH = 0.55
SQUAT_MAX_CHAIN_ELEVATION_DEG = 100.0
#: Sensor position on its segment: thigh from the hip joint centre (z mirrored by side), pelvis from
#: the pelvis origin (midpoint of the hip joint centres).
THIGH_LEVER_M = np.array([0.0, -0.20, 0.07])
PELVIS_LEVER_M = np.array([-0.10, 0.03, 0.0])
#: Anthropometric ranges for ``Anatomy.random`` (m; thigh frame z toward the exercised side).
#: Inter-hip-joint-centre distance 15-20 cm (Harrington et al. 2007), thigh and shank 40-50 cm;
#: the thigh sensor on the lateral thigh 15-25 cm below the greater trochanter (whose tip is near
#: the hip joint centre's level), 5-11 cm lateral of the joint centre (neck offset + soft tissue),
#: ±3 cm front/back; the sacral sensor 7-13 cm behind and −2…+8 cm above the hip joint centres'
#: midpoint, ±1.5 cm off the midline.
ANATOMY_RANGES_M: dict[str, tuple[float, float]] = {
    "hip_half_width": (0.075, 0.10),
    "thigh": (0.40, 0.50),
    "shank": (0.40, 0.50),
    "thigh_sensor_x": (-0.03, 0.03),
    "thigh_sensor_y": (-0.28, -0.15),
    "thigh_sensor_z": (0.05, 0.11),
    "pelvis_sensor_x": (-0.13, -0.07),
    "pelvis_sensor_y": (-0.02, 0.08),
    "pelvis_sensor_z": (-0.015, 0.015),
}
#: Soft-tissue artefact: weights of its rotation about the thigh's anterior, long and lateral axes
#: (skin and muscle twist about the femur most), the share driven by the muscles' contraction
#: (vs the flexion), and its bandwidth (a slow motion: the wobble is the fast part).
SOFT_TISSUE_AXIS_WEIGHTS = np.array([0.5, 1.0, 0.4])
SOFT_TISSUE_CONTRACTION_SHARE = 0.5
SOFT_TISSUE_CUTOFF_HZ = 1.5
#: Wobble: 2nd-order strap response to the thigh's angular acceleration.
WOBBLE_FREQ_HZ = 12.0
WOBBLE_DAMPING = 0.3
WOBBLE_RAD_PER_RAD_S2 = np.deg2rad(0.5) / 20.0


def side_sign(side: str) -> float:
    return 1.0 if side == "right" else -1.0


@dataclass(frozen=True, slots=True)
class Anatomy:
    """Where the joint centres and the sensors are on this body (m, segment frames).

    ``thigh_lever_m``: the thigh sensor from the exercised hip joint centre (z already toward the
    exercised side); ``pelvis_lever_m``: the sacral sensor from the pelvis origin (the midpoint of the
    two hip joint centres)."""

    hip_half_width_m: float
    thigh_m: float
    shank_m: float
    thigh_lever_m: tuple[float, float, float]
    pelvis_lever_m: tuple[float, float, float]

    @property
    def hip_height_m(self) -> float:
        return self.thigh_m + self.shank_m

    def hip_offset_m(self, side: str) -> np.ndarray:
        """The exercised hip joint centre from the pelvis origin (pelvis frame)."""
        return np.array([0.0, 0.0, side_sign(side) * self.hip_half_width_m])

    @classmethod
    def nominal(cls, side: str) -> Anatomy:
        """The placement guide's body (the issue-4 simulator's constants)."""
        lever = THIGH_LEVER_M * np.array([1.0, 1.0, side_sign(side)])
        return cls(HIP_HALF_WIDTH_M, THIGH_M, SHANK_M, vec3(lever), vec3(PELVIS_LEVER_M))

    @classmethod
    def random(cls, rng: np.random.Generator, side: str) -> Anatomy:
        """A body drawn from ANATOMY_RANGES_M."""
        r = {k: float(rng.uniform(*v)) for k, v in ANATOMY_RANGES_M.items()}
        s = side_sign(side)
        return cls(
            hip_half_width_m=r["hip_half_width"],
            thigh_m=r["thigh"],
            shank_m=r["shank"],
            thigh_lever_m=(r["thigh_sensor_x"], r["thigh_sensor_y"], s * r["thigh_sensor_z"]),
            pelvis_lever_m=(r["pelvis_sensor_x"], r["pelvis_sensor_y"], r["pelvis_sensor_z"]),
        )

    def lever_m(self, sensor: str) -> np.ndarray:
        return np.asarray(self.thigh_lever_m if sensor == "thigh" else self.pelvis_lever_m, dtype=float)

    def hip_centre_from_sensor_m(self, sensor: str, side: str) -> np.ndarray:
        """The exercised hip joint centre seen from the sensor's position, in the segment frame."""
        if sensor == "thigh":
            return -self.lever_m("thigh")
        return self.hip_offset_m(side) - self.lever_m("pelvis")


def vec3(v: np.ndarray) -> tuple[float, float, float]:
    """A 3-vector as a tuple of plain floats (for the truth records)."""
    return (float(v[0]), float(v[1]), float(v[2]))


def nominal_mount(sensor: str, side: str) -> Rotation:
    """Sensor frame in the segment frame for the documented placement (columns = sensor axes)."""
    s = side_sign(side)
    if sensor == "thigh":
        m = np.column_stack([[0.0, 1.0, 0.0], [-s, 0.0, 0.0], [0.0, 0.0, s]])
    else:
        m = np.column_stack([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    return Rotation.from_matrix(m)


@dataclass(slots=True)
class Segments:
    """Segment orientations (unit quaternions w,x,y,z; segment → world) and origins on the fine grid."""

    t_s: np.ndarray
    pelvis_q: np.ndarray  # (N, 4)
    thigh_q: np.ndarray  # (N, 4)
    pelvis_origin_m: np.ndarray  # (N, 3)
    hip_centre_m: np.ndarray  # (N, 3) exercised hip joint centre

    @property
    def pelvis(self) -> Rotation:
        return Q.to_rotation(self.pelvis_q)

    @property
    def thigh(self) -> Rotation:
        return Q.to_rotation(self.thigh_q)


def build_segments(script: Script, exercise: str, side: str, anatomy: Anatomy | None = None) -> Segments:
    body = anatomy if anatomy is not None else Anatomy.nominal(side)
    ch = script.ch
    s = side_sign(side)
    d = np.deg2rad
    heading = Q.about_axis("Y", d(ch["heading_deg"]))
    pel_rel = Q.from_euler_intrinsic("ZXY", [d(-ch["tilt_deg"]), d(ch["obliq_deg"]), d(ch["prot_deg"])])
    q_p = Q.mul(heading, pel_rel)
    q_h = Q.from_euler_intrinsic(
        "ZXY", [d(ch["hip_flex_deg"]), d(-s * ch["hip_abd_deg"]), d(s * ch["hip_rot_deg"])]
    )
    q_t = Q.mul(q_p, q_h)

    n = len(script.t_s)
    hip_ex = body.hip_offset_m(side)
    if exercise == "deep_squat":
        # both legs: ankle fixed, shank leans forward 0.55× the thigh's elevation; the hip joint centre
        # rides on the chain, so the pelvis moves down and back with real linear acceleration
        # The chain follows the hip flexion and the normal rhythm; the butt wink tucks the pelvis about
        # the hip joint centre (the knee gives way a little) rather than dropping the body further. The
        # thigh's elevation as the chain sees it saturates smoothly near 100°: hips below the knees,
        # but the hip joint centre stays ~0.2 m above the floor.
        elev = ch["hip_flex_deg"] - (ch["tilt_deg"] - ch["tilt_comp_deg"])
        w = 5.0
        phi = np.deg2rad(-w * np.logaddexp(-elev / w, -SQUAT_MAX_CHAIN_ELEVATION_DEG / w))
        psi = SHANK_LEAN_PER_THIGH * phi
        local = np.column_stack(
            [
                body.shank_m * np.sin(psi) - body.thigh_m * np.sin(phi) + ch["ap_m"],
                body.shank_m * np.cos(psi) + body.thigh_m * np.cos(phi) + ch["v_m"],
                np.full(n, s * body.hip_half_width_m) + ch["ml_m"],
            ]
        )
        hjc = Q.rotate(heading, local)
        origin = hjc - Q.rotate(q_p, hip_ex)
    else:
        local_bi = np.column_stack([ch["ap_m"], body.hip_height_m + ch["v_m"], ch["ml_m"]])
        p_bi = Q.rotate(heading, local_bi)
        # on one leg the pelvis pivots about the stance hip joint centre
        hip_st = -hip_ex
        p_st = p_bi + Q.rotate(heading, hip_st) - Q.rotate(q_p, hip_st)
        w = np.clip(ch["w_single"], 0.0, 1.0)[:, None]
        origin = (1.0 - w) * p_bi + w * p_st
        hjc = origin + Q.rotate(q_p, hip_ex)
    return Segments(t_s=script.t_s, pelvis_q=q_p, thigh_q=q_t, pelvis_origin_m=origin, hip_centre_m=hjc)


def body_rate(q: np.ndarray, dt: float) -> np.ndarray:
    """Angular velocity in the rotating (body) frame, rad/s: log(q[k−1]* ⊗ q[k+1])/(2dt), O(dt²)."""
    w = np.empty((len(q), 3))
    w[1:-1] = Q.log(Q.mul(Q.conj(q[:-2]), q[2:])) / (2.0 * dt)
    w[0] = Q.log(Q.mul(Q.conj(q[0]), q[1])) / dt
    w[-1] = Q.log(Q.mul(Q.conj(q[-2]), q[-1])) / dt
    return w


def second_derivative(p: np.ndarray, dt: float) -> np.ndarray:
    a = np.empty_like(p)
    a[1:-1] = (p[2:] - 2.0 * p[1:-1] + p[:-2]) / (dt * dt)
    a[0] = a[1]
    a[-1] = a[-2]
    return a


def wobble_rotvec(thigh_q: np.ndarray, dt: float, scale: float) -> np.ndarray:
    """Soft-tissue wobble of the strap: lags the thigh's angular acceleration, rings at 12 Hz."""
    if scale == 0:
        return np.zeros((len(thigh_q), 3))
    omega = body_rate(thigh_q, dt)
    alpha = np.gradient(omega, dt, axis=0)
    wn = 2 * np.pi * WOBBLE_FREQ_HZ
    k = scale * WOBBLE_RAD_PER_RAD_S2 * wn * wn
    b, a = signal.bilinear([-k], [1.0, 2 * WOBBLE_DAMPING * wn, wn * wn], fs=1.0 / dt)
    return signal.lfilter(b, a, alpha, axis=0)


def soft_tissue_rotvec(hip_flex_deg: np.ndarray, dt: float, amplitude_deg: float, target_amplitude_deg: float,
                      rng: np.random.Generator) -> np.ndarray:
    """The thigh sensor's slow rotation relative to the femur (rotation vector in the thigh frame, rad).

    Two parts, each about its own axis drawn per session (mostly about the femur's long axis): one
    follows the flexion (skin sliding over the bone), one the contraction (the muscle bulging while
    the hip moves: the smoothed flexion speed); low-pass filtered, and scaled so its largest angle
    over the session is ``amplitude_deg``.
    """
    n = len(hip_flex_deg)
    if amplitude_deg == 0:
        return np.zeros((n, 3))
    follow = hip_flex_deg / abs(target_amplitude_deg)
    sos = signal.butter(2, SOFT_TISSUE_CUTOFF_HZ, fs=1.0 / dt, output="sos")
    contraction = signal.sosfiltfilt(sos, np.abs(np.gradient(hip_flex_deg, dt)))
    contraction = contraction / max(float(np.max(np.abs(contraction))), 1e-9)
    axes = SOFT_TISSUE_AXIS_WEIGHTS * rng.choice([-1.0, 1.0], size=(2, 3)) * rng.uniform(0.5, 1.0, size=(2, 3))
    rv = np.outer(follow, axes[0]) + SOFT_TISSUE_CONTRACTION_SHARE * np.outer(contraction, axes[1])
    rv = signal.sosfiltfilt(sos, rv, axis=0)
    peak = float(np.max(np.linalg.norm(rv, axis=1)))
    return rv * (np.deg2rad(amplitude_deg) / max(peak, 1e-12))


@dataclass(slots=True)
class CleanSensor:
    """A sensor's exact world orientation and ideal readings on the fine grid."""

    orientation_q: np.ndarray  # (N, 4) sensor frame → world
    gyr_rad_s: np.ndarray
    acc_m_s2: np.ndarray
    position_m: np.ndarray


def clean_sensor(seg: Segments, sensor: str, side: str, mount: Rotation, wobble: np.ndarray | None,
                 soft_tissue: np.ndarray | None = None, anatomy: Anatomy | None = None) -> CleanSensor:
    """Exact orientation, angular velocity and specific force of a sensor on the fine grid.

    ``soft_tissue`` and ``wobble`` (thigh-frame rotation vectors) turn the sensor relative to its
    segment; its position stays at the segment's lever arm (the skin's few millimetres of sliding
    are left out)."""
    dt = float(seg.t_s[1] - seg.t_s[0])
    body = anatomy if anatomy is not None else Anatomy.nominal(side)
    if sensor == "thigh":
        q_seg = seg.thigh_q
        pos = seg.hip_centre_m + Q.rotate(q_seg, body.lever_m("thigh"))
    else:
        q_seg = seg.pelvis_q
        pos = seg.pelvis_origin_m + Q.rotate(q_seg, body.lever_m("pelvis"))
    q_mount = Q.from_rotation(mount)
    if soft_tissue is not None and np.any(soft_tissue):
        q_seg = Q.mul(q_seg, Q.exp(soft_tissue))
    if wobble is not None and np.any(wobble):
        q_seg = Q.mul(q_seg, Q.exp(wobble))
    q_ws = Q.mul(q_seg, q_mount)
    gyr = body_rate(q_ws, dt)
    acc_world = second_derivative(pos, dt)
    acc = Q.rotate_inv(q_ws, acc_world - G_WORLD)
    return CleanSensor(orientation_q=q_ws, gyr_rad_s=gyr, acc_m_s2=acc, position_m=pos)


def still_sensor(n: int, rng: np.random.Generator) -> CleanSensor:
    """A sensor lying flat on a table (+z up, random heading): the 'never moves' fault."""
    yaw = rng.uniform(-np.pi, np.pi)
    # sensor z → world up (Y), x horizontal at angle yaw
    x_axis = np.array([np.cos(yaw), 0.0, -np.sin(yaw)])
    z_axis = np.array([0.0, 1.0, 0.0])
    y_axis = np.cross(z_axis, x_axis)
    q = Q.from_rotation(Rotation.from_matrix(np.column_stack([x_axis, y_axis, z_axis])))
    q_all = np.tile(q, (n, 1))
    acc = np.tile(Q.rotate_inv(q, -G_WORLD), (n, 1))
    return CleanSensor(orientation_q=q_all, gyr_rad_s=np.zeros((n, 3)), acc_m_s2=acc, position_m=np.zeros((n, 3)))
