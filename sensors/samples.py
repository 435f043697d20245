"""Typed IMU samples in SI units: the output of every decoder and the input of every encoder.

Two shapes of one thing: ``ImuSample`` (one sample, frozen, for the live per-packet path) and
``ImuBatch`` (numpy arrays, for the vectorised path). Axes are the sensor's own frame (see
tracker/conventions.py and firmware_specs/README.md for how the sensor is worn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

#: ``seq`` value for profiles whose packets carry no sequence number (Movella DOT, WitMotion).
NO_SEQ: Final = -1
#: ``sensor_time_us`` value when neither a sensor clock nor a host arrival time is known.
NO_TIME: Final = -1

# Per-sample flag bits (``ImuBatch.flags``, ``DecodedPacket.flags``).
#: The timestamp is the host's arrival time, not a sensor clock (WitMotion).
FLAG_HOST_CLOCK: Final = 0x01
#: The profile has no sequence number; gaps can only be found from time.
FLAG_NO_SEQ: Final = 0x02
#: At least one raw integer axis sat at the end of its range (sensor saturation / clipping).
FLAG_CLIPPED: Final = 0x04

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class ImuSample:
    """One IMU sample. ``sensor_time_us`` is the raw (wrapping) sensor clock or host time in µs."""

    sensor_time_us: int
    seq: int
    acc_m_s2: Vec3
    gyr_rad_s: Vec3
    mag_ut: Vec3 | None = None
    quat: Quat | None = None  # w, x, y, z
    flags: int = 0


@dataclass(slots=True)
class ImuBatch:
    """Many samples as arrays (N rows). ``packet_index`` maps each row back to its input packet."""

    sensor_time_us: np.ndarray  # (N,) int64
    seq: np.ndarray  # (N,) int64, NO_SEQ where the profile has none
    acc_m_s2: np.ndarray  # (N, 3) float64
    gyr_rad_s: np.ndarray  # (N, 3) float64
    flags: np.ndarray  # (N,) uint16
    packet_index: np.ndarray  # (N,) int64
    mag_ut: np.ndarray | None = None  # (N, 3)
    quat: np.ndarray | None = None  # (N, 4) w, x, y, z

    def __len__(self) -> int:
        return int(self.sensor_time_us.shape[0])

    def samples(self) -> tuple[ImuSample, ...]:
        """The same data as frozen ``ImuSample`` objects (for the per-packet path and tests)."""
        t = self.sensor_time_us.tolist()
        seq = self.seq.tolist()
        acc = self.acc_m_s2.tolist()
        gyr = self.gyr_rad_s.tolist()
        flags = self.flags.tolist()
        mag = self.mag_ut.tolist() if self.mag_ut is not None else None
        quat = self.quat.tolist() if self.quat is not None else None
        return tuple(
            ImuSample(
                sensor_time_us=t[i],
                seq=seq[i],
                acc_m_s2=tuple(acc[i]),
                gyr_rad_s=tuple(gyr[i]),
                mag_ut=tuple(mag[i]) if mag is not None else None,
                quat=tuple(quat[i]) if quat is not None else None,
                flags=flags[i],
            )
            for i in range(len(t))
        )

    @classmethod
    def empty(cls, with_quat: bool = False) -> ImuBatch:
        return cls(
            sensor_time_us=np.zeros(0, np.int64),
            seq=np.zeros(0, np.int64),
            acc_m_s2=np.zeros((0, 3)),
            gyr_rad_s=np.zeros((0, 3)),
            flags=np.zeros(0, np.uint16),
            packet_index=np.zeros(0, np.int64),
            quat=np.zeros((0, 4)) if with_quat else None,
        )
