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
Actual mounting = nominal · misplacement (a rotation in the sensor frame); the thigh strap adds a small
soft-tissue wobble rotation (in the thigh frame) between the segment and the sensor.
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
HIP_HEIGHT_M = 0.92
SHANK_M = 0.46
THIGH_M = 0.46
SHANK_LEAN_PER_THIGH = 0.55
SQUAT_MAX_CHAIN_ELEVATION_DEG = 100.0
#: Sensor position on its segment: thigh from the hip joint centre (z mirrored by side), pelvis from
#: the pelvis origin (midpoint of the hip joint centres).
THIGH_LEVER_M = np.array([0.0, -0.20, 0.07])
PELVIS_LEVER_M = np.array([-0.10, 0.03, 0.0])
#: Wobble: 2nd-order strap response to the thigh's angular acceleration.
WOBBLE_FREQ_HZ = 12.0
WOBBLE_DAMPING = 0.3
WOBBLE_RAD_PER_RAD_S2 = np.deg2rad(0.5) / 20.0


def side_sign(side: str) -> float:
    return 1.0 if side == "right" else -1.0


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


def build_segments(script: Script, exercise: str, side: str) -> Segments:
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
    hip_ex = np.array([0.0, 0.0, s * HIP_HALF_WIDTH_M])
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
                SHANK_M * np.sin(psi) - THIGH_M * np.sin(phi) + ch["ap_m"],
                SHANK_M * np.cos(psi) + THIGH_M * np.cos(phi) + ch["v_m"],
                np.full(n, s * HIP_HALF_WIDTH_M) + ch["ml_m"],
            ]
        )
        hjc = Q.rotate(heading, local)
        origin = hjc - Q.rotate(q_p, hip_ex)
    else:
        local_bi = np.column_stack([ch["ap_m"], HIP_HEIGHT_M + ch["v_m"], ch["ml_m"]])
        p_bi = Q.rotate(heading, local_bi)
        # on one leg the pelvis pivots about the stance hip joint centre
        hip_st = np.array([0.0, 0.0, -s * HIP_HALF_WIDTH_M])
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


@dataclass(slots=True)
class CleanSensor:
    """A sensor's exact world orientation and ideal readings on the fine grid."""

    orientation_q: np.ndarray  # (N, 4) sensor frame → world
    gyr_rad_s: np.ndarray
    acc_m_s2: np.ndarray
    position_m: np.ndarray


def clean_sensor(seg: Segments, sensor: str, side: str, mount: Rotation, wobble: np.ndarray | None) -> CleanSensor:
    dt = float(seg.t_s[1] - seg.t_s[0])
    s = side_sign(side)
    if sensor == "thigh":
        q_seg = seg.thigh_q
        lever = THIGH_LEVER_M * np.array([1.0, 1.0, s])
        pos = seg.hip_centre_m + Q.rotate(q_seg, lever)
    else:
        q_seg = seg.pelvis_q
        pos = seg.pelvis_origin_m + Q.rotate(q_seg, PELVIS_LEVER_M)
    q_mount = Q.from_rotation(mount)
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
