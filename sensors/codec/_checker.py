"""Per-sensor stream integrity: gaps, duplicates, reboots, clock wrap-around, bad values.

The radio loop never sees an exception from here: ``safe_decode`` turns a ``DecodeError`` into
``None`` + a counter + a debug log line with the packet hex; ``StreamChecker`` classifies each
decoded packet against the previous one and unwraps the 32-bit µs sensor clock onto a monotonic
int64 timeline. Every anomaly is counted in ``StreamStats`` — nothing is silently repaired.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sensors.codec._decode import DecodedPacket, decode_packet
from sensors.errors import DecodeError
from sensors.profiles import Profile, get_profile
from sensors.samples import NO_TIME

log = logging.getLogger("sensors.codec")

_WRAP = 1 << 32
_HALF = 1 << 31
#: With host arrival times (no sensor clock), BLE batching makes intervals jitter by a whole
#: connection interval; only intervals longer than this many sample periods count as a gap.
HOST_CLOCK_GAP_PERIODS = 3.0


@dataclass(slots=True)
class StreamStats:
    """Counters for one sensor's stream (all start at 0)."""

    packets: int = 0  # accepted packets
    samples: int = 0  # accepted samples
    malformed: int = 0  # DecodeError: counted and skipped
    duplicates: int = 0
    gaps: int = 0  # gap events
    missing_packets: int = 0
    missing_samples: int = 0
    resets: int = 0  # sequence/clock restarted (sensor reboot or reconnect)
    clock_wraps: int = 0  # 32-bit µs clock rolled over (every 71.6 min)
    invalid_values: int = 0  # samples with non-finite / implausible values (packet dropped)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CheckedPacket:
    """A decoded packet and what the checker concluded about it."""

    packet: DecodedPacket
    t_us: np.ndarray  # (n,) int64 per-sample time on the unwrapped, monotonic µs timeline
    events: tuple[str, ...]  # subset of: first, gap, duplicate, reset, wrap, invalid_values
    missing_packets: int = 0
    missing_samples: int = 0

    @property
    def accepted(self) -> bool:
        return "duplicate" not in self.events and "invalid_values" not in self.events


def safe_decode(
    profile: str | Profile,
    data: bytes | bytearray | memoryview,
    *,
    host_time_us: int | None = None,
    stats: StreamStats | None = None,
    sensor: str = "",
) -> DecodedPacket | None:
    """``decode_packet`` for the radio loop: bad bytes → None, ``stats.malformed`` += 1, debug log."""
    try:
        return decode_packet(profile, data, host_time_us=host_time_us)
    except DecodeError as exc:
        if stats is not None:
            stats.malformed += 1
        log.debug("dropped malformed packet%s: %s", f" from {sensor}" if sensor else "", exc)
        return None


@dataclass(slots=True)
class StreamChecker:
    """Stateful checker for one sensor; feed packets in arrival order.

    ``rate_hz`` is the configured output rate, used to size gaps when the packet does not carry
    its own rate (Movella DOT, WitMotion). Defaults to the profile's default rate.
    """

    profile: str | Profile
    sensor: str = ""
    rate_hz: float | None = None
    stats: StreamStats = field(default_factory=StreamStats)
    _p: Profile = field(init=False)
    _last_seq: int | None = field(default=None, init=False)
    _last_raw: int = field(default=0, init=False)
    _last_unwrapped: int = field(default=0, init=False)
    _last_n: int = field(default=1, init=False)
    _last_period: float = field(default=0.0, init=False)
    _offset: int = field(default=0, init=False)
    _started: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._p = get_profile(self.profile)
        if self.rate_hz is None:
            self.rate_hz = self._p.default_rate_hz

    def feed(self, data: bytes | bytearray | memoryview, host_time_us: int | None = None) -> CheckedPacket | None:
        """Decode (safely) and check one notification; None if it was malformed."""
        pkt = safe_decode(self._p, data, host_time_us=host_time_us, stats=self.stats, sensor=self.sensor)
        return None if pkt is None else self.check(pkt)

    def check(self, pkt: DecodedPacket) -> CheckedPacket:
        p = self._p
        n = len(pkt.samples)
        period = 1e6 / (pkt.rate_hz or self.rate_hz or p.default_rate_hz)
        raw = np.array([s.sensor_time_us for s in pkt.samples], np.int64)
        events: list[str] = []
        missing_p = missing_s = 0
        bad_values = self._count_invalid(pkt)
        if not self._started:
            events.append("first")
            self._offset = 0
        elif p.has_sensor_clock:
            dt = (int(raw[0]) - self._last_raw) % _WRAP
            reset = False
            if p.has_sequence:
                assert self._last_seq is not None
                mod = 1 << (p.seq_bits or 16)
                d = (pkt.seq - self._last_seq) % mod
                if d == 0 and dt == 0:
                    return self._duplicate(pkt, raw)
                if d == 0 or d >= mod // 2 or dt >= _HALF:
                    reset = True
                else:
                    missing_p = d - 1
                    if missing_p:
                        est = int(round(dt / period)) - self._last_n
                        missing_s = max(est, 0) if est > 0 else missing_p * self._last_n
            else:
                if dt == 0:
                    return self._duplicate(pkt, raw)
                if dt >= _HALF:
                    reset = True
                else:
                    missing_s = max(int(round(dt / period)) - self._last_n, 0)
                    missing_p = missing_s  # one sample per packet on these profiles
            if reset:
                events.append("reset")
                self.stats.resets += 1
                step = int(round(self._last_n * self._last_period)) or 1
                self._offset = self._last_unwrapped + step - int(raw[0])
                missing_p = missing_s = 0
            elif int(raw[0]) < self._last_raw:
                events.append("wrap")
                self.stats.clock_wraps += 1
                self._offset += _WRAP
        else:  # host clock: only long silences count as gaps
            if int(raw[0]) != NO_TIME and self._last_raw != NO_TIME:
                dt = int(raw[0]) - self._last_raw
                if dt > HOST_CLOCK_GAP_PERIODS * period:
                    missing_s = missing_p = max(int(round(dt / period)) - 1, 0)
        if missing_p or missing_s:
            events.append("gap")
            self.stats.gaps += 1
            self.stats.missing_packets += missing_p
            self.stats.missing_samples += missing_s
        t0 = int(raw[0]) + self._offset
        if p.has_sensor_clock:
            t = t0 + (raw - raw[0]) % _WRAP
        else:
            t = raw.copy()
        if bad_values:
            events.append("invalid_values")
            self.stats.invalid_values += bad_values
        else:
            self.stats.packets += 1
            self.stats.samples += n
        self._started = True
        self._last_seq = pkt.seq
        self._last_raw = int(raw[0])
        self._last_unwrapped = t0
        self._last_n = n
        self._last_period = period
        return CheckedPacket(pkt, t, tuple(events), missing_p, missing_s)

    def _duplicate(self, pkt: DecodedPacket, raw: np.ndarray) -> CheckedPacket:
        self.stats.duplicates += 1
        t = self._last_unwrapped + (raw - raw[0]) % _WRAP
        return CheckedPacket(pkt, t, ("duplicate",))

    def _count_invalid(self, pkt: DecodedPacket) -> int:
        lim_a = self._p.limits.get("acc_m_s2", math.inf)
        lim_g = self._p.limits.get("gyr_rad_s", math.inf)
        bad = 0
        for s in pkt.samples:
            vals_ok = all(math.isfinite(v) and abs(v) <= lim_a for v in s.acc_m_s2) and all(
                math.isfinite(v) and abs(v) <= lim_g for v in s.gyr_rad_s
            )
            bad += not vals_ok
        return bad
