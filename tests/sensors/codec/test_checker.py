"""StreamChecker: gaps, duplicates, resets, clock wrap, malformed bytes — each counted, none raised."""

from __future__ import annotations

import logging

import numpy as np

from sensors.codec import StreamChecker, encode_packet, safe_decode
from sensors.samples import ImuSample

S = ImuSample(0, 0, (0.0, 0.0, 9.81), (0.0, 0.0, 0.1))


def rehab(seq: int, t: int, n: int = 1) -> bytes:
    return encode_packet("rehab_imu_v1", seq, t, [S] * n, rate_hz=100)


def test_clean_stream_across_seq_and_clock_wrap_is_monotonic():
    c = StreamChecker("rehab_imu_v1", sensor="thigh")
    t0 = 2**32 - 25_000
    times = []
    for i in range(6):
        r = c.feed(rehab((65533 + i) % 65536, (t0 + i * 10_000) % 2**32))
        times.extend(r.t_us.tolist())
    assert np.all(np.diff(times) == 10_000)
    assert c.stats.clock_wraps == 1 and c.stats.gaps == 0 and c.stats.resets == 0
    assert c.stats.packets == 6 and c.stats.samples == 6


def test_gap_counts_missing_packets_and_samples():
    c = StreamChecker("rehab_imu_v1")
    c.feed(rehab(10, 0, n=4))
    r = c.feed(rehab(13, 120_000, n=4))  # seq 11, 12 lost: 8 samples (40 ms each packet)
    assert "gap" in r.events and r.missing_packets == 2 and r.missing_samples == 8
    assert c.stats.gaps == 1 and c.stats.missing_packets == 2 and c.stats.missing_samples == 8


def test_duplicate_is_flagged_and_not_accepted():
    c = StreamChecker("rehab_imu_v1")
    c.feed(rehab(5, 1000))
    r = c.feed(rehab(5, 1000))
    assert not r.accepted and r.events == ("duplicate",)
    assert c.stats.duplicates == 1 and c.stats.packets == 1


def test_reboot_resets_counters_but_keeps_timeline_monotonic():
    c = StreamChecker("rehab_imu_v1")
    a = c.feed(rehab(900, 50_000_000))
    b = c.feed(rehab(0, 3_000))  # sensor rebooted: seq and clock restart
    assert "reset" in b.events and c.stats.resets == 1
    assert b.t_us[0] > a.t_us[-1]
    d = c.feed(rehab(1, 13_000))
    assert d.t_us[0] - b.t_us[0] == 10_000 and d.events == ()


def test_movella_gap_and_duplicate_from_timestamps():
    c = StreamChecker("movella_dot", rate_hz=60)
    period = round(1e6 / 60)
    mk = lambda t: encode_packet("movella_dot", 0, t, [S])
    c.feed(mk(0))
    c.feed(mk(period))
    assert c.feed(mk(period)).events == ("duplicate",)
    r = c.feed(mk(4 * period))
    assert "gap" in r.events and r.missing_samples == 2


def test_witmotion_host_clock_gap_only_after_long_silence():
    c = StreamChecker("witmotion_wt901ble", rate_hz=100)
    mk = lambda: encode_packet("witmotion_wt901ble", 0, 0, [S])
    for t in (0, 8_000, 31_000, 41_000):  # BLE jitter: not gaps
        assert "gap" not in c.feed(mk(), host_time_us=t).events
    r = c.feed(mk(), host_time_us=141_000)
    assert "gap" in r.events and r.missing_samples == 9


def test_malformed_bytes_are_counted_logged_and_skipped(caplog):
    c = StreamChecker("rehab_imu_v1", sensor="pelvis")
    with caplog.at_level(logging.DEBUG, logger="sensors.codec"):
        assert c.feed(b"\x00\x01\x02") is None
    assert c.stats.malformed == 1
    assert "pelvis" in caplog.text and "000102" in caplog.text
    assert safe_decode("movella_dot", b"") is None


def test_invalid_values_from_other_sources_are_counted():
    from sensors.codec import DecodedPacket

    c = StreamChecker("rehab_imu_v1")
    bad = DecodedPacket("rehab_imu_v1", 1, 0, (ImuSample(0, 1, (float("nan"), 0.0, 0.0), (0.0, 0.0, 0.0)),), rate_hz=100.0)
    r = c.check(bad)
    assert not r.accepted and c.stats.invalid_values == 1 and c.stats.packets == 0
