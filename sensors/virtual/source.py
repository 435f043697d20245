"""What a virtual sensor measures: motion from a RawSession stream (simulated or read from a
raw-session CSV), sampled at whatever rate the sensor is configured to, looping at the end —
and `BodyClock`, the one motion timeline all sensors worn on one body share."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tracker.conventions import GRAVITY_M_S2, check_sensor
from tracker.raw import RawSession, SensorStream


class BodyClock:
    """Motion time of one patient's body, shared by every sensor of a hub.

    `restart()` begins the motion again at the next start (the patient follows a new set).

    The body keeps moving whatever the radio does: motion time is host monotonic time since
    the body clock started, through link drops, silences, reboots and rate changes. It starts
    at the first start command any sensor of the hub receives (the drill begins when the
    recorder starts the first sensor; a hub may wait long for a recorder), or earlier by an
    explicit `start()`. Each sensor's own µs clock (offset, drift, reset at reboot) is separate.
    """

    __slots__ = ("generation", "origin_monotonic_s")

    def __init__(self, origin_monotonic_s: float | None = None) -> None:
        self.origin_monotonic_s = origin_monotonic_s
        self.generation = 0

    @property
    def started(self) -> bool:
        return self.origin_monotonic_s is not None

    def start(self, monotonic_s: float | None = None) -> float:
        """Start the body moving at MONOTONIC_S (default: now) unless already started;
        returns the origin in force."""
        if self.origin_monotonic_s is None:
            self.origin_monotonic_s = time.monotonic() if monotonic_s is None else monotonic_s
        return self.origin_monotonic_s

    def restart(self) -> None:
        """The body begins its motion again from time 0 at the next start (a new set): streams
        running now re-anchor at their next packet (they watch ``generation``)."""
        self.origin_monotonic_s = None
        self.generation += 1

    def motion_time_s(self, monotonic_s: float | None = None) -> float:
        """Seconds of motion at host monotonic MONOTONIC_S (default: now)."""
        if self.origin_monotonic_s is None:
            raise RuntimeError("body clock not started: no sensor of this hub has been started yet")
        return (time.monotonic() if monotonic_s is None else monotonic_s) - self.origin_monotonic_s

    def __repr__(self) -> str:
        return f"BodyClock(origin_monotonic_s={self.origin_monotonic_s!r})"


@dataclass(frozen=True, slots=True)
class MotionSource:
    """Specific force and angular velocity as functions of motion time (`BodyClock`).

    ``t_s`` starts at 0 and is strictly increasing. ``loop``: past the end, start again (a long
    test or benchmark can outlast a short recording); otherwise the last sample is held.
    """

    name: str
    t_s: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    loop: bool = True

    def __post_init__(self) -> None:
        n = len(self.t_s)
        if n < 2:
            raise ValueError(f"motion source {self.name!r}: needs at least 2 samples, got {n}")
        if self.acc_m_s2.shape != (n, 3) or self.gyr_rad_s.shape != (n, 3):
            raise ValueError(
                f"motion source {self.name!r}: acc {self.acc_m_s2.shape} / gyr {self.gyr_rad_s.shape}, expected ({n}, 3)"
            )
        if not np.all(np.diff(self.t_s) > 0):
            raise ValueError(f"motion source {self.name!r}: t_s must be strictly increasing")

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0])

    @classmethod
    def from_stream(cls, stream: SensorStream, *, loop: bool = True) -> MotionSource:
        t = np.asarray(stream.t_s, dtype=float)
        return cls(
            name=str(stream.sensor),
            t_s=t - t[0],
            acc_m_s2=np.asarray(stream.acc_m_s2, dtype=float),
            gyr_rad_s=np.asarray(stream.gyr_rad_s, dtype=float),
            loop=loop,
        )

    @classmethod
    def from_session(cls, session: RawSession, sensor: str, *, loop: bool = True) -> MotionSource:
        return cls.from_stream(session.stream(check_sensor(sensor)), loop=loop)

    @classmethod
    def synthetic(cls, name: str, *, seed: int, duration_s: float = 20.0, rate_hz: float = 200.0) -> MotionSource:
        """A smooth, seeded swing (gravity on +x, slow rotation about z): stand-in motion for
        tests and benchmarks that exercise the radio, not the biomechanics."""
        rng = np.random.default_rng(seed)
        t = np.arange(0.0, duration_s, 1.0 / rate_hz)
        freq_hz = rng.uniform(0.2, 0.5)
        amp_rad = np.deg2rad(rng.uniform(20.0, 60.0))
        angle = amp_rad * np.sin(2 * np.pi * freq_hz * t)
        rate = amp_rad * 2 * np.pi * freq_hz * np.cos(2 * np.pi * freq_hz * t)
        acc = np.column_stack(
            [GRAVITY_M_S2 * np.cos(angle), -GRAVITY_M_S2 * np.sin(angle), np.zeros_like(t)]
        ) + rng.normal(0.0, 0.05, (len(t), 3))
        gyr = np.column_stack([np.zeros_like(t), np.zeros_like(t), rate]) + rng.normal(0.0, 0.01, (len(t), 3))
        return cls(name=name, t_s=t, acc_m_s2=acc, gyr_rad_s=gyr)

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(acc (N,3), gyr (N,3)) at motion times T_S (seconds on the body clock), linear interp."""
        t = np.asarray(t_s, dtype=float)
        if self.loop:
            t = np.mod(t, self.duration_s)
        acc = np.column_stack([np.interp(t, self.t_s, self.acc_m_s2[:, i]) for i in range(3)])
        gyr = np.column_stack([np.interp(t, self.t_s, self.gyr_rad_s[:, i]) for i in range(3)])
        return acc, gyr
