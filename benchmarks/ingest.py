"""Ingestion benchmark: a 2-sensor 100 Hz recording through the real BLE path.

Virtual thigh + pelvis sensors run in their own process (`python -m sensors.virtual`, HCI over
TCP); this process is the service: scan, connect, stream, decode, align, journal (fsync every
0.5 s), live tracker, then offline analysis + store (SQLite in a temp dir). The virtual sensors
stream in real time, so the default 10 minutes takes 10 minutes (``--minutes`` to shorten).

Prints: samples received vs sent, CPU % of the service (user+sys over wall time; 100 % = one
core), peak RSS, notification → live-state latency p50/p99, end-of-set analysis + store time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rehab.commands.sensors_cmd import SIMULATED_SENSORS_COMMAND
from sensors.virtual.process import VirtualSensorProcess
from service.assignment import AssignmentStore
from service.ingest import IngestService
from service.journal import read_journal
from service.recorder import SetRequest


def _rss_mib() -> float:
    """Current resident set size (Linux /proc), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run(minutes: float, live: bool, store_enabled: bool, mtu: int) -> None:
    duration_s = minutes * 60.0
    reps = max(10, int(duration_s / 5.5) + 2)  # the simulated drill outlasts the recording
    tmp = Path(tempfile.mkdtemp(prefix="rehab-ingest-bench-"))
    os.environ["REHAB_DATA_DIR"] = str(tmp)
    store = None
    patient = "1"
    if store_enabled:
        from store import Store

        store = Store(None, data_dir=tmp)
        patient = str(store.create_user("bench-patient", "bench-password-1", role="patient").id)
    t_sim = time.perf_counter()
    async with VirtualSensorProcess(
        ["--exercise", "knee_raise", "--side", "right", "--reps", str(reps), "--seed", "1", "--drift-ppm", "60"],
        command=SIMULATED_SENSORS_COMMAND, ready_timeout_s=300,
    ) as sensors:
        print(f"virtual sensors ready in {time.perf_counter() - t_sim:.1f} s ({sensors.transport})")
        service = IngestService(
            transport=sensors.transport,
            data_root=tmp / "recordings",
            store=store,
            assignments=AssignmentStore(tmp / "sensors.json"),
            scan_timeout_s=1.0,
            live=live,
        )
        service.backend.client["bumble_mtu"] = mtu  # 23: one sample per notification (worst case)
        request = SetRequest(patient, "knee_raise", "right", duration_s=duration_s)
        rss0_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        recorder, _ = await service.start_set(request)
        cpu0, wall0 = _cpu_s(), time.perf_counter()
        last_report = wall0
        while service.running and recorder.state in ("connecting", "calibrating", "recording"):
            await asyncio.sleep(0.5)
            if time.perf_counter() - last_report >= 60:
                last_report = time.perf_counter()
                q = recorder.pipeline.link_quality() if recorder.pipeline else {}
                print(f"  {recorder.elapsed_s:6.0f} s: " + ", ".join(f"{k} {v['samples']}" for k, v in q.items()))
        cpu1, wall1 = _cpu_s(), time.perf_counter()
        rss_recording = _rss_mib()
        result = await service.wait_set()
        wall2 = time.perf_counter()
        latency = recorder.pipeline.latency_percentiles_ms()
        flushes = recorder.journal.flushes
        max_flush_ms = recorder.journal.max_flush_s * 1e3
        max_fsync_ms = recorder.journal.max_fsync_s * 1e3
    sent = {s["name"].split("-")[1]: s["samples_sent"] for s in sensors.stopped.get("sensors", [])}
    c = read_journal(result.directory)
    received = c.counts()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"recording: {minutes:g} min, 2 sensors, 100 Hz, ATT MTU {mtu}, live tracker {'on' if live else 'off'}")
    for role in ("thigh", "pelvis"):
        print(f"  {role:6s}: received {received[role]:7d} / sent {sent.get(role, 0):7d} samples "
              f"(lost {sent.get(role, 0) - received[role]})")
    print(f"  service CPU: {100 * (cpu1 - cpu0) / (wall1 - wall0):.1f} % of one core while recording")
    print(f"  memory: RSS at the end of recording {rss_recording:.0f} MiB; peak RSS {rss_kb / 1024:.0f} MiB "
          f"(incl. end-of-set analysis; before the set: {rss0_kb / 1024:.0f} MiB)")
    print(f"  latency notification -> live state: p50 {latency['p50']:.2f} ms, p99 {latency['p99']:.2f} ms")
    print(f"  journal: {flushes} flushes (longest on the event loop {max_flush_ms:.1f} ms; fsync in a thread, "
          f"longest {max_fsync_ms:.1f} ms), "
          f"{(result.directory / 'samples.csv').stat().st_size / 1e6:.1f} MB")
    print(f"  end of set (journal read, clock re-fit, analysis, store): {wall2 - wall1:.2f} s -> {result.status}"
          + (f", session {result.session_id}" if result.session_id is not None else "")
          + (f" ({result.error})" if result.error else ""))
    if result.analysis is not None:
        print(f"  reps counted: {result.analysis.summary.rep_count}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="recording length (real time), default 10")
    ap.add_argument("--no-live", action="store_true", help="without the live tracker")
    ap.add_argument("--no-store", action="store_true", help="analyse but do not store")
    ap.add_argument("--mtu", type=int, default=23, help="ATT MTU to request: 23 = 1 sample/notification "
                    "(default, worst case), 247 = 19 samples/notification")
    args = ap.parse_args()
    asyncio.run(run(args.minutes, live=not args.no_live, store_enabled=not args.no_store, mtu=args.mtu))


if __name__ == "__main__":
    main()
