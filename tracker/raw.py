"""The raw recording in memory: per-sensor streams on the session clock.

This is the in-memory twin of the raw-session CSV (tracker/rawcsv.py, docs/raw-session-csv.md):
the simulator produces it, the recorder builds it, the processing core consumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.conventions import SENSOR_NAMES, SensorName


@dataclass(frozen=True, slots=True)
class SensorStream:
    """One sensor's samples. Times are seconds on the session clock, strictly increasing."""

    sensor: SensorName
    t_s: np.ndarray  # (N,)
    acc_m_s2: np.ndarray  # (N, 3) specific force in the sensor frame
    gyr_rad_s: np.ndarray  # (N, 3) angular velocity in the sensor frame
    mag_ut: np.ndarray | None = None  # (N, 3)
    quat: np.ndarray | None = None  # (N, 4) w, x, y, z as reported by the sensor, if any

    def __post_init__(self) -> None:
        n = len(self.t_s)
        for name in ("acc_m_s2", "gyr_rad_s", "mag_ut"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != (n, 3):
                raise ValueError(f"{self.sensor}: {name} has shape {arr.shape}, expected ({n}, 3)")
        if self.quat is not None and self.quat.shape != (n, 4):
            raise ValueError(f"{self.sensor}: quat has shape {self.quat.shape}, expected ({n}, 4)")

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def rate_hz(self) -> float:
        """Median sampling rate (robust to gaps)."""
        if len(self.t_s) < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.t_s)))


@dataclass(frozen=True, slots=True)
class Gap:
    """A span in which a sensor delivered nothing (link drop, packet loss). Never filled in."""

    sensor: SensorName
    start_s: float
    end_s: float
    reason: str = "missing"


@dataclass(frozen=True, slots=True)
class RawSession:
    thigh: SensorStream
    pelvis: SensorStream
    gaps: tuple[Gap, ...] = field(default=())

    def stream(self, sensor: SensorName) -> SensorStream:
        return self.thigh if sensor == "thigh" else self.pelvis

    def streams(self) -> tuple[SensorStream, ...]:
        return tuple(self.stream(s) for s in SENSOR_NAMES)
