"""Compare a SessionAnalysis with a simulated session's Truth: rep matching and angle errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tracker.results import SessionAnalysis

if TYPE_CHECKING:
    from simulation.truth import Truth


@dataclass(frozen=True, slots=True)
class SimulationReport:
    rep_count: int
    true_rep_count: int
    matched: int
    peak_errors_deg: np.ndarray = field(repr=False)
    median_abs_peak_error_deg: float
    hip_rmse_deg: float
    tilt_rmse_deg: float
    tilt_change_errors_deg: np.ndarray = field(repr=False)
    max_abs_tilt_change_error_deg: float
    compensation_errors_deg: np.ndarray = field(repr=False)
    compensation_accuracy: float
    partial_accuracy: float
    onset_errors_deg: np.ndarray = field(repr=False)
    hold_errors_s: np.ndarray = field(repr=False)
    #: Tilt change start → peak measured on the angle series at the *true* instants (angle accuracy
    #: alone); ``tilt_change_errors_deg`` uses the detected rep's own start/peak (what a user sees).
    tilt_change_series_errors_deg: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def line(self) -> str:
        return (
            f"reps {self.rep_count}/{self.true_rep_count} matched {self.matched}; "
            f"median |peak err| {self.median_abs_peak_error_deg:.2f}°; hip RMSE {self.hip_rmse_deg:.2f}°; "
            f"tilt RMSE {self.tilt_rmse_deg:.2f}°; max |tilt-change err| {self.max_abs_tilt_change_error_deg:.2f}°; "
            f"compensation acc {self.compensation_accuracy:.2f}; partial acc {self.partial_accuracy:.2f}; "
            f"median |comp err| {np.median(np.abs(self.compensation_errors_deg)) if len(self.compensation_errors_deg) else float('nan'):.2f}°; "
            f"median |onset err| {np.nanmedian(np.abs(self.onset_errors_deg)) if np.isfinite(self.onset_errors_deg).any() else float('nan'):.1f}°; "
            f"median hold err {np.median(self.hold_errors_s) if len(self.hold_errors_s) else float('nan'):+.2f} s"
        )


def evaluate_against_truth(analysis: SessionAnalysis, truth: Truth) -> SimulationReport:
    """Match each true rep to the detected rep whose peak lies inside it; compute errors."""
    t_true = np.asarray(truth.t_s)
    ang = analysis.angles
    valid = ang["valid"].to_numpy()
    t_est = ang["t"].to_numpy()
    hip_i = np.interp(t_true, t_est[valid], ang["hip_flexion_deg"].to_numpy()[valid])
    tilt_i = np.interp(t_true, t_est[valid], ang["pelvic_tilt_deg"].to_numpy()[valid])
    inside = (t_true >= t_est[0]) & (t_true <= t_est[-1])
    # exclude truth samples far from any valid estimate (gaps)
    near = np.abs(t_est[valid][np.clip(np.searchsorted(t_est[valid], t_true), 0, valid.sum() - 1)] - t_true) < 0.05
    m = inside & near
    hip_rmse = float(np.sqrt(np.mean((hip_i[m] - truth.hip_flexion_deg[m]) ** 2)))
    tilt_rmse = float(np.sqrt(np.mean((tilt_i[m] - truth.pelvic_tilt_deg[m]) ** 2)))
    peak_err, tilt_err, comp_err, onset_err, hold_err, series_err = [], [], [], [], [], []
    comp_ok = part_ok = matched = 0
    used: set[int] = set()
    for tr in truth.reps:
        cands = [i for i, r in enumerate(analysis.reps) if tr.start_s - 0.5 <= r.peak_s <= tr.end_s + 0.5 and i not in used]
        if not cands:
            continue
        i = min(cands, key=lambda k: abs(analysis.reps[k].peak_s - tr.peak_s))
        used.add(i)
        r = analysis.reps[i]
        matched += 1
        peak_err.append(r.peak_hip_flexion_deg - tr.peak_hip_flexion_deg)
        tilt_err.append(r.pelvic_tilt_change_deg - (tr.peak_pelvic_tilt_deg - tr.start_pelvic_tilt_deg))
        comp_err.append(r.compensation_deg - tr.compensation_deg)
        comp_ok += int(r.compensation == tr.compensated)
        part_ok += int(r.partial == tr.partial)
        hold_err.append(r.hold_s - tr.hold_s)
        i0 = int(np.argmin(np.abs(t_true - tr.start_s)))
        ip = int(np.argmin(np.abs(t_true - tr.peak_s)))
        series_err.append((tilt_i[ip] - tilt_i[i0]) - (truth.pelvic_tilt_deg[ip] - truth.pelvic_tilt_deg[i0]))
        if r.compensation_onset_hip_deg is not None and tr.compensation_onset_hip_deg is not None:
            onset_err.append(r.compensation_onset_hip_deg - tr.compensation_onset_hip_deg)
    n_true = len(truth.reps)
    pe = np.asarray(peak_err)
    te = np.asarray(tilt_err)
    return SimulationReport(
        rep_count=len(analysis.reps), true_rep_count=n_true, matched=matched,
        peak_errors_deg=pe, median_abs_peak_error_deg=float(np.median(np.abs(pe))) if len(pe) else float("nan"),
        hip_rmse_deg=hip_rmse, tilt_rmse_deg=tilt_rmse, tilt_change_errors_deg=te,
        max_abs_tilt_change_error_deg=float(np.max(np.abs(te))) if len(te) else float("nan"),
        compensation_errors_deg=np.asarray(comp_err),
        compensation_accuracy=comp_ok / n_true if n_true else float("nan"),
        partial_accuracy=part_ok / n_true if n_true else float("nan"),
        onset_errors_deg=np.asarray(onset_err, dtype=float), hold_errors_s=np.asarray(hold_err),
        tilt_change_series_errors_deg=np.asarray(series_err),
    )
