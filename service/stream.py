"""Downstream of the radio: bytes → checked samples → session clock → journal + live tracker.

One `SensorIngest` per sensor holds its `StreamChecker` (decode, gaps, duplicates, reboots, clock
wrap) and `ClockAligner`; `IngestPipeline.handle` takes the queue items in arrival order. Samples
are written to the journal exactly as decoded and in arrival order; nothing is reordered, filled in
or dropped except what the checker rejects (malformed, duplicate, invalid values — each counted).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from sensors.codec import StreamChecker
from sensors.profiles import Profile
from service.alignment import ClockAligner
from service.journal import JournalWriter
from service.link import LinkEvent, Notification, QueueItem

logger = logging.getLogger(__name__)

#: Window over which packets/s is computed, seconds.
RATE_WINDOW_S = 2.0
#: How many notification → live-state latencies are kept for p50/p99.
LATENCY_KEEP = 20_000


class LiveSink(Protocol):
    """What the pipeline feeds: the processing core's live path (or anything shaped like it)."""

    def update(self, sensor: str, t_s: float, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> list[Any]: ...


@dataclass(slots=True)
class SensorCounters:
    notifications: int = 0
    samples: int = 0
    link_gaps: int = 0
    loss_gaps: int = 0


@dataclass(slots=True)
class SensorIngest:
    """Per-sensor state of the pipeline."""

    sensor: str
    profile: Profile
    checker: StreamChecker
    aligner: ClockAligner
    counters: SensorCounters = field(default_factory=SensorCounters)
    arrivals: deque[float] = field(default_factory=deque)
    last_t_s: float | None = None
    link_down_at_s: float | None = None  # host time (session clock) of an unclosed link drop
    battery_percent: int | None = None
    connected: bool = False

    def packets_per_s(self, now_host_s: float) -> float:
        while self.arrivals and self.arrivals[0] < now_host_s - RATE_WINDOW_S:
            self.arrivals.popleft()
        return len(self.arrivals) / RATE_WINDOW_S


class IngestPipeline:
    """Consumes `Notification` / `LinkEvent` items for one set.

    ``origin_s`` is the host monotonic time of session time 0. ``live`` (optional) gets every
    accepted sample on the session clock; ``on_live_events`` gets what it returns.
    """

    def __init__(
        self,
        profiles: dict[str, Profile],
        journal: JournalWriter | None,
        *,
        origin_s: float,
        rate_hz: float | None = None,
        live: LiveSink | None = None,
        on_live_events: Callable[[str, list[Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.journal = journal
        self.origin_s = origin_s
        self.live = live
        self.on_live_events = on_live_events
        self.clock = clock
        self.sensors: dict[str, SensorIngest] = {
            name: SensorIngest(
                name, p, StreamChecker(p, sensor=name, rate_hz=rate_hz or p.default_rate_hz), ClockAligner(name)
            )
            for name, p in profiles.items()
        }
        self.latencies_s: deque[float] = deque(maxlen=LATENCY_KEEP)
        self.live_errors = 0
        self.version = 0  # bumps whenever the live state may have changed

    # --- items ----------------------------------------------------------------------------
    def handle(self, item: QueueItem) -> None:
        if isinstance(item, Notification):
            self._notification(item)
        else:
            self._link_event(item)

    def _notification(self, n: Notification) -> None:
        s = self.sensors[n.sensor]
        host_s = n.host_s - self.origin_s
        s.counters.notifications += 1
        s.arrivals.append(host_s)
        s.packets_per_s(host_s)  # trims the window
        host_us = int(round(n.host_s * 1e6)) if not s.profile.has_sensor_clock else None
        checked = s.checker.feed(n.data, host_time_us=host_us)
        if checked is None or not checked.accepted:
            return
        pkt = checked.packet
        k = len(pkt.samples)
        reset = "reset" in checked.events
        t = np.empty(k)
        seg = np.empty(k, dtype=np.int64)
        for i in range(k):
            t[i] = s.aligner.update(int(checked.t_us[i]), host_s, reset=reset and i == 0)
            seg[i] = s.aligner.segment
        acc = np.array([x.acc_m_s2 for x in pkt.samples], dtype=float)
        gyr = np.array([x.gyr_rad_s for x in pkt.samples], dtype=float)
        index_before = s.counters.samples
        if self.journal is not None:
            if s.link_down_at_s is not None and s.last_t_s is not None:
                self.journal.event(
                    "gap", sensor=s.sensor, start_s=s.last_t_s, end_s=float(t[0]), after_index=index_before,
                    reason="link drop", down_host_s=s.link_down_at_s, up_host_s=host_s,
                )
                s.counters.link_gaps += 1
            elif "gap" in checked.events and s.last_t_s is not None:
                self.journal.event(
                    "gap", sensor=s.sensor, start_s=s.last_t_s, end_s=float(t[0]), after_index=index_before,
                    reason="packet loss", missing_packets=checked.missing_packets,
                    missing_samples=checked.missing_samples,
                )
                s.counters.loss_gaps += 1
            if reset:
                self.journal.event("reset", sensor=s.sensor, t_s=float(t[0]), segment=int(seg[0]), after_index=index_before)
            self.journal.append(s.sensor, t, acc, gyr, np.full(k, pkt.seq), checked.t_us, host_s, seg)
        s.link_down_at_s = None
        s.last_t_s = float(t[-1])
        s.counters.samples += k
        if self.live is not None:
            for i in range(k):
                try:
                    events = self.live.update(s.sensor, float(t[i]), acc[i], gyr[i])
                except Exception:
                    self.live_errors += 1
                    if self.live_errors <= 3:
                        logger.exception("live tracker failed on %s sample at t=%.3f s", s.sensor, t[i])
                    continue
                if events and self.on_live_events is not None:
                    self.on_live_events(s.sensor, events)
        self.version += 1
        self.latencies_s.append(self.clock() - n.host_s)

    def _link_event(self, e: LinkEvent) -> None:
        s = self.sensors[e.sensor]
        host_s = e.host_s - self.origin_s
        if e.kind == "up":
            s.connected = True
        elif e.kind == "down":
            s.connected = False
            if s.link_down_at_s is None:
                s.link_down_at_s = host_s
        elif e.kind == "battery":
            s.battery_percent = int(e.detail.get("percent", -1))
        if self.journal is not None:
            self.journal.event(
                "link_" + e.kind if e.kind in ("up", "down", "lost") else e.kind,
                sensor=e.sensor, host_s=host_s, t_s=s.last_t_s, **e.detail,
            )
        self.version += 1

    # --- figures --------------------------------------------------------------------------
    def latency_percentiles_ms(self) -> dict[str, float | None]:
        if not self.latencies_s:
            return {"p50": None, "p99": None}
        arr = np.fromiter(self.latencies_s, float) * 1e3
        return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99))}

    def link_quality(self, now_s: float | None = None) -> dict[str, dict[str, Any]]:
        now_host = (self.clock() if now_s is None else now_s) - self.origin_s
        out = {}
        for name, s in self.sensors.items():
            st = s.checker.stats
            out[name] = {
                "connected": s.connected,
                "packets_per_s": round(s.packets_per_s(now_host), 2),
                "notifications": s.counters.notifications,
                "samples": s.counters.samples,
                "lost_packets": st.missing_packets,
                "lost_samples": st.missing_samples,
                "malformed": st.malformed,
                "duplicates": st.duplicates,
                "invalid": st.invalid_values,
                "resets": st.resets,
                "link_gaps": s.counters.link_gaps,
                "battery_percent": s.battery_percent,
                "clock_drift_ppm": (round(s.aligner.fit.drift_ppm, 1) if s.aligner.fit else None),
                "clock_segments": s.aligner.segment + 1 if s.aligner.fit else 0,
            }
        return out
