"""Real-data validation: UI-PRMD Vicon markers → virtual thigh and sacrum IMUs → the same pipeline.

Why: the simulator shares its authors' assumptions; real motion capture does not. A subject's real
straight-leg raises and deep squats (with real pelvic obliquity and rotation) are turned into the
signals the two worn sensors would have measured, analysed by ``analyze_session`` exactly like a
recording, and compared with marker-based references.

Segment frames from markers (ISB, Wu 2002; lab +z up, metres):
  pelvis  Z = RASI − LASI (right), X = mid-ASIS − mid-PSIS made ⟂ Z (anterior), Y = Z × X (superior)
  hip     joint centre by Bell et al. (1990) regression from the pelvic width PW = |RASI − LASI|:
          mid-ASIS + PW·(−0.19 X − 0.30 Y ± 0.36 Z)
  thigh   Y = HJC − RKNE (superior), Z = RTHI's direction ⟂ Y (lateral = right), X = Y × Z
Sensors: thigh sensor 0.20 m below the HJC, 0.07 m lateral, x = thigh Y, z = lateral; sacrum sensor at
mid-PSIS, x = pelvis Y, z = posterior; each rotated by a fixed misplacement. Gyroscope = body angular
velocity from the orientation derivative; accelerometer = Rᵀ(p̈ − g) from the sensor position's second
derivative (markers low-passed at 6 Hz first); white noise and a constant gyro bias are added.

Repetitions (one file each) are concatenated: a 3 s quiet stand in e01's last (standing) pose, then
every rep, joined by a 1.5 s smooth transition (min-jerk slerp / interpolation) plus 1 s of quiet standing.

References: hip flexion = JCS flexion of the marker frames' relative rotation re-zeroed at the stand
(the pipeline's own zero), plus the marker JCS angle and Vicon's right-hip angle (column 48 of the
angles files) each minus their stand value; pelvic tilt = sagittal inclination of the
mid-PSIS → mid-ASIS line (+ anterior = ASIS down), relative to the stand.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal
from scipy.spatial.transform import Rotation, Slerp

from tracker.conventions import GRAVITY_M_S2, SensorName
from tracker.raw import RawSession, SensorStream

MARKERS = ["LFHD", "RFHD", "LBHD", "RBHD", "C7", "T10", "CLAV", "STRN", "RBAK", "LSHO", "LUPA", "LELB", "LFRM", "LWRA", "LWRB", "LFIN", "RSHO", "RUPA", "RELB", "RFRM", "RWRA", "RWRB", "RFIN", "LASI", "RASI", "LPSI", "RPSI", "LTHI", "LKNE", "LTIB", "LANK", "LHEE", "LTOE", "RTHI", "RKNE", "RTIB", "RANK", "RHEE", "RTOE"]
RATE_HZ = 100.0
RIGHT_HIP_FLEXION_COLUMN = 48


class ViconDataError(ValueError):
    """A UI-PRMD file is missing or malformed (message names the file)."""


def load_txt_gz(path: Path, n_cols: int = 117) -> np.ndarray:
    try:
        with gzip.open(path, "rt") as fh:
            arr = np.loadtxt(fh, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise ViconDataError(f"{path}: cannot read ({exc})") from exc
    if arr.shape[1] != n_cols:
        raise ViconDataError(f"{path}: {arr.shape[1]} columns, expected {n_cols}")
    return arr


def marker(pos: np.ndarray, name: str) -> np.ndarray:
    i = MARKERS.index(name)
    return pos[:, 3 * i : 3 * i + 3] / 1000.0


@dataclass(frozen=True, slots=True)
class SegmentKinematics:
    """Pelvis and right-thigh frames (lab ← segment) and origins from markers, one rep."""

    r_pelvis: Rotation
    r_thigh: Rotation
    p_pelvis_sensor: np.ndarray
    p_thigh_sensor: np.ndarray
    asis_psis_tilt_deg: np.ndarray
    vicon_hip_flexion_deg: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def segment_kinematics(pos_mm: np.ndarray, angles: np.ndarray, *, lowpass_hz: float = 6.0) -> SegmentKinematics:
    sos = signal.butter(2, lowpass_hz, fs=RATE_HZ, output="sos")
    pos = signal.sosfiltfilt(sos, pos_mm, axis=0, padlen=min(50, len(pos_mm) - 1))
    lasi, rasi, lpsi, rpsi = (marker(pos, n) for n in ("LASI", "RASI", "LPSI", "RPSI"))
    rthi, rkne = marker(pos, "RTHI"), marker(pos, "RKNE")
    mid_asis, mid_psis = (lasi + rasi) / 2, (lpsi + rpsi) / 2
    z = _unit(rasi - lasi)
    x = mid_asis - mid_psis
    x = _unit(x - z * (x * z).sum(1, keepdims=True))
    y = np.cross(z, x)
    r_p = np.stack([x, y, z], axis=2)
    pw = np.linalg.norm(rasi - lasi, axis=1, keepdims=True)
    hjc = mid_asis + pw * (-0.19 * x - 0.30 * y + 0.36 * z)
    yt = _unit(hjc - rkne)
    zt = rthi - hjc
    zt = _unit(zt - yt * (zt * yt).sum(1, keepdims=True))
    xt = np.cross(yt, zt)
    r_t = np.stack([xt, yt, zt], axis=2)
    p_thigh = hjc - 0.20 * yt + 0.07 * zt
    line = mid_asis - mid_psis
    tilt = np.degrees(np.arctan2(-line[:, 2], np.hypot(line[:, 0], line[:, 1])))
    return SegmentKinematics(
        r_pelvis=Rotation.from_matrix(r_p), r_thigh=Rotation.from_matrix(r_t), p_pelvis_sensor=mid_psis,
        p_thigh_sensor=p_thigh, asis_psis_tilt_deg=tilt,
        vicon_hip_flexion_deg=angles[:, RIGHT_HIP_FLEXION_COLUMN],
    )


def jcs_hip_flexion_deg(r_pelvis: Rotation, r_thigh: Rotation) -> np.ndarray:
    rel = (r_pelvis.inv() * r_thigh).as_matrix()
    return np.degrees(np.arctan2(-rel[:, 0, 1], rel[:, 1, 1]))


def stand_zeroed_reference(cat: Concatenated) -> np.ndarray:
    """The hip flexion reference: JCS flexion of the thigh's rotation since the stand, in the marker
    pelvis frame. The pipeline's frames make the standing pose the zero (thigh ∥ pelvis); the marker
    frames do not (the lateral knee marker tilts the marker thigh axis ~10–25° in the frontal plane), so
    the comparable reference re-zeroes the *relative rotation* at the stand: R_rel(t)·R_rel(stand)ᵀ."""
    rel = cat.r_pelvis.inv() * cat.r_thigh
    zeroed = (rel * rel[int(RATE_HZ)].inv()).as_matrix()
    return np.degrees(np.arctan2(-zeroed[:, 0, 1], zeroed[:, 1, 1]))


def _minjerk(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0, 1)
    return 10 * u**3 - 15 * u**4 + 6 * u**5


@dataclass(slots=True)
class Concatenated:
    """The whole synthetic session at 100 Hz: segment motion and references."""

    t_s: np.ndarray
    r_pelvis: Rotation
    r_thigh: Rotation
    p_pelvis: np.ndarray
    p_thigh: np.ndarray
    tilt_ref_deg: np.ndarray
    vicon_hip_deg: np.ndarray
    rep_windows: list[tuple[float, float]] = field(default_factory=list)
    mount_thigh: Rotation | None = None  # segment ← sensor, set by build_session (diagnostics)
    mount_pelvis: Rotation | None = None


def concatenate(reps: list[SegmentKinematics], *, stand_s: float = 3.0, transition_s: float = 1.5, rest_s: float = 1.0) -> Concatenated:
    """Join reps with a quiet stand first and smooth transitions + rests between them (no jumps)."""
    rp, rt, pp, pt, tilt, vic, windows = [], [], [], [], [], [], []
    n_stand, n_tr, n_rest = int(stand_s * RATE_HZ), int(transition_s * RATE_HZ), int(rest_s * RATE_HZ)

    def hold(k: SegmentKinematics, idx: int, n: int) -> None:
        rp.append(k.r_pelvis[[idx] * n].as_quat())
        rt.append(k.r_thigh[[idx] * n].as_quat())
        pp.append(np.repeat(k.p_pelvis_sensor[idx : idx + 1], n, 0))
        pt.append(np.repeat(k.p_thigh_sensor[idx : idx + 1], n, 0))
        tilt.append(np.full(n, k.asis_psis_tilt_deg[idx]))
        vic.append(np.full(n, k.vicon_hip_flexion_deg[idx]))

    def blend(a: SegmentKinematics, b: SegmentKinematics, n: int) -> None:
        u = _minjerk((np.arange(n) + 1) / (n + 1))
        for ra, rb, out in ((a.r_pelvis[-1], b.r_pelvis[0], rp), (a.r_thigh[-1], b.r_thigh[0], rt)):
            s = Slerp([0.0, 1.0], Rotation.concatenate([ra, rb]))
            out.append(s(u).as_quat())
        for xa, xb, out in ((a.p_pelvis_sensor, b.p_pelvis_sensor, pp), (a.p_thigh_sensor, b.p_thigh_sensor, pt)):
            out.append(xa[-1] + u[:, None] * (xb[0] - xa[-1]))
        tilt.append(a.asis_psis_tilt_deg[-1] + u * (b.asis_psis_tilt_deg[0] - a.asis_psis_tilt_deg[-1]))
        vic.append(a.vicon_hip_flexion_deg[-1] + u * (b.vicon_hip_flexion_deg[0] - a.vicon_hip_flexion_deg[-1]))

    # e01 files start mid-movement (the segmentation cut in), so the stand is e01's *last* (standing)
    # frame, followed by a smooth transition into e01's first frame.
    hold(reps[0], len(reps[0].asis_psis_tilt_deg) - 1, n_stand)
    blend(reps[0], reps[0], n_tr)
    n = n_stand + n_tr
    for i, k in enumerate(reps):
        if i > 0:
            blend(reps[i - 1], k, n_tr)
            hold(k, 0, n_rest)
            n += n_tr + n_rest
        m = len(k.asis_psis_tilt_deg)
        rp.append(k.r_pelvis.as_quat())
        rt.append(k.r_thigh.as_quat())
        pp.append(k.p_pelvis_sensor)
        pt.append(k.p_thigh_sensor)
        tilt.append(k.asis_psis_tilt_deg)
        vic.append(k.vicon_hip_flexion_deg)
        windows.append((n / RATE_HZ, (n + m) / RATE_HZ))
        n += m
    hold(reps[-1], len(reps[-1].asis_psis_tilt_deg) - 1, n_stand)
    n += n_stand
    return Concatenated(
        t_s=np.arange(n) / RATE_HZ,
        r_pelvis=Rotation.from_quat(np.concatenate(rp)),
        r_thigh=Rotation.from_quat(np.concatenate(rt)),
        p_pelvis=np.concatenate(pp),
        p_thigh=np.concatenate(pt),
        tilt_ref_deg=np.concatenate(tilt),
        vicon_hip_deg=np.concatenate(vic),
        rep_windows=windows,
    )


#: Sensor ← segment mounting per the placement convention (columns: sensor axes in segment coords).
MOUNT_THIGH_RIGHT = Rotation.from_matrix(np.column_stack([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
MOUNT_PELVIS = Rotation.from_matrix(np.column_stack([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]]))


def synthesize_imu(
    r_segment: Rotation, p_sensor: np.ndarray, mount: Rotation, name: SensorName, rng: np.random.Generator,
    *, gyr_noise_rad_s: float = 0.004, acc_noise_m_s2: float = 0.02, gyr_bias_max_rad_s: float = 0.01,
) -> SensorStream:
    """Gyroscope and accelerometer of a sensor rigidly mounted on a segment (sensor frame)."""
    r = r_segment * mount  # lab ← sensor
    n = len(p_sensor)
    dt = 1.0 / RATE_HZ
    # body angular velocity: central difference of the relative rotation
    rel = (r[:-1].inv() * r[1:]).as_rotvec() / dt  # between k and k+1, in sensor frame at k
    gyr = np.empty((n, 3))
    gyr[1:-1] = 0.5 * (rel[:-1] + rel[1:])
    gyr[0], gyr[-1] = rel[0], rel[-1]
    acc_lab = np.gradient(np.gradient(p_sensor, dt, axis=0), dt, axis=0)
    acc = r.inv().apply(acc_lab + np.array([0.0, 0.0, GRAVITY_M_S2]))
    gyr = gyr + rng.uniform(-gyr_bias_max_rad_s, gyr_bias_max_rad_s, 3) + rng.normal(0, gyr_noise_rad_s, (n, 3))
    acc = acc + rng.normal(0, acc_noise_m_s2, (n, 3))
    return SensorStream(sensor=name, t_s=np.arange(n) * dt, acc_m_s2=acc, gyr_rad_s=gyr)


@dataclass(frozen=True, slots=True)
class ViconReport:
    movement: str
    exercise: str
    rep_count: int
    true_rep_count: int
    hip_rmse_vs_jcs_deg: float
    hip_rmse_vs_vicon_deg: float
    peak_error_vs_jcs_deg: np.ndarray = field(repr=False)
    tilt_rmse_vs_asis_psis_deg: float = 0.0
    tilt_change_error_deg: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    jcs_peak_deg: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    vicon_minus_jcs_rmse_deg: float = 0.0
    hip_rmse_vs_jcs_offset_deg: float = 0.0

    def line(self) -> str:
        return (
            f"{self.movement} ({self.exercise}): reps {self.rep_count}/{self.true_rep_count}; hip RMSE vs stand-zeroed "
            f"marker JCS {self.hip_rmse_vs_jcs_deg:.2f}°, vs marker JCS − stand value {self.hip_rmse_vs_jcs_offset_deg:.2f}°, "
            f"vs Vicon col 48 − stand value {self.hip_rmse_vs_vicon_deg:.2f}° "
            f"(Vicon vs marker JCS itself {self.vicon_minus_jcs_rmse_deg:.2f}°); median |peak err| "
            f"{np.median(np.abs(self.peak_error_vs_jcs_deg)) if len(self.peak_error_vs_jcs_deg) else float('nan'):.2f}° "
            f"(marker peaks {np.min(self.jcs_peak_deg):.0f}–{np.max(self.jcs_peak_deg):.0f}°); pelvic tilt RMSE vs ASIS/PSIS line "
            f"{self.tilt_rmse_vs_asis_psis_deg:.2f}°, per-rep tilt-change error median "
            f"{np.median(np.abs(self.tilt_change_error_deg)):.2f}° max {np.max(np.abs(self.tilt_change_error_deg)):.2f}°"
        )


@functools.lru_cache(maxsize=8)
def load_movement(data_dir: Path, movement: str, folder: str = "correct") -> tuple[SegmentKinematics, ...]:
    """The ten repetitions e01–e10 of one movement as segment kinematics (read once per process)."""
    reps = []
    for e in range(1, 11):
        stem = f"{movement}_s01_e{e:02d}"
        inc = "_inc" if folder == "incorrect" else ""
        pos = load_txt_gz(data_dir / folder / "positions" / f"{stem}_positions{inc}.txt.gz")
        ang = load_txt_gz(data_dir / folder / "angles" / f"{stem}_angles{inc}.txt.gz")
        if len(pos) != len(ang):
            raise ViconDataError(f"{stem}: {len(pos)} position rows but {len(ang)} angle rows")
        reps.append(segment_kinematics(pos, ang))
    return tuple(reps)


def build_session(data_dir: Path, movement: str, *, folder: str = "correct", seed: int = 0,
                  misplacement_deg: float = 15.0) -> tuple[RawSession, Concatenated]:
    """Synthetic two-sensor recording of e01–e10 of one movement (e.g. "m06")."""
    cat = concatenate(list(load_movement(Path(data_dir), movement, folder)))
    rng = np.random.default_rng(seed)

    def mis() -> Rotation:
        axis = rng.normal(size=3)
        return Rotation.from_rotvec(axis / np.linalg.norm(axis) * np.radians(misplacement_deg))

    cat.mount_thigh = MOUNT_THIGH_RIGHT * mis()
    thigh = synthesize_imu(cat.r_thigh, cat.p_thigh, cat.mount_thigh, "thigh", rng)
    cat.mount_pelvis = MOUNT_PELVIS * mis()
    pelvis = synthesize_imu(cat.r_pelvis, cat.p_pelvis, cat.mount_pelvis, "pelvis", rng)
    return RawSession(thigh=thigh, pelvis=pelvis), cat


def evaluate_movement(data_dir: Path, movement: str, exercise: str, *, folder: str = "correct", seed: int = 0,
                      misplacement_deg: float = 15.0) -> ViconReport:
    from tracker.pipeline import analyze_session

    raw, cat = build_session(data_dir, movement, folder=folder, seed=seed, misplacement_deg=misplacement_deg)
    res = analyze_session(raw, exercise, "right")
    ang = res.angles
    v = ang["valid"].to_numpy()
    t = ang["t"].to_numpy()[v]
    est_hip = ang["hip_flexion_deg"].to_numpy()[v]
    est_tilt = ang["pelvic_tilt_deg"].to_numpy()[v]
    n_stand = int(2.0 * RATE_HZ)
    jcs_abs = jcs_hip_flexion_deg(cat.r_pelvis, cat.r_thigh)
    jcs_offset = jcs_abs - jcs_abs[:n_stand].mean()
    jcs_rel = stand_zeroed_reference(cat)
    vic_rel = cat.vicon_hip_deg - cat.vicon_hip_deg[:n_stand].mean()
    tilt_rel = cat.tilt_ref_deg - cat.tilt_ref_deg[:n_stand].mean()
    idx = np.round((t - cat.t_s[0]) * RATE_HZ).astype(int)
    idx = np.clip(idx, 0, len(jcs_rel) - 1)
    peak_err, tilt_err, jcs_peaks = [], [], []
    for (a, b) in cat.rep_windows:
        i0, i1 = int(a * RATE_HZ), int(b * RATE_HZ)
        ipk = i0 + int(np.argmax(jcs_rel[i0:i1]))
        jcs_peaks.append(jcs_rel[ipk])
        m = (t >= a) & (t <= b)
        if m.any():
            peak_err.append(float(np.max(est_hip[m]) - jcs_rel[ipk]))
            k = int(np.argmin(np.abs(t - cat.t_s[ipk])))
            k0 = int(np.argmin(np.abs(t - a)))
            tilt_err.append(float((est_tilt[k] - est_tilt[k0]) - (tilt_rel[ipk] - tilt_rel[i0])))
    return ViconReport(
        movement=movement, exercise=exercise, rep_count=len(res.reps), true_rep_count=len(cat.rep_windows),
        hip_rmse_vs_jcs_deg=float(np.sqrt(np.mean((est_hip - jcs_rel[idx]) ** 2))),
        hip_rmse_vs_jcs_offset_deg=float(np.sqrt(np.mean((est_hip - jcs_offset[idx]) ** 2))),
        hip_rmse_vs_vicon_deg=float(np.sqrt(np.mean((est_hip - vic_rel[idx]) ** 2))),
        peak_error_vs_jcs_deg=np.asarray(peak_err),
        tilt_rmse_vs_asis_psis_deg=float(np.sqrt(np.mean((est_tilt - tilt_rel[idx]) ** 2))),
        tilt_change_error_deg=np.asarray(tilt_err), jcs_peak_deg=np.asarray(jcs_peaks),
        vicon_minus_jcs_rmse_deg=float(np.sqrt(np.mean((vic_rel - jcs_offset) ** 2))),
    )


def main() -> None:  # pragma: no cover - report script
    import sys

    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / "shared" / "data" / "ui-prmd"
    for folder in ("correct", "incorrect"):
        for movement, exercise in (("m06", "knee_raise"), ("m01", "deep_squat")):
            print(folder, evaluate_movement(data_dir, movement, exercise, folder=folder).line())


if __name__ == "__main__":  # pragma: no cover
    main()
