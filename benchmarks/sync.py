"""Hub → clinic sync at scale, and the clinic's roster and history at clinic scale (PostgreSQL).

1. 1,000 simulated hubs (async httpx, each its own HTTPS connection and device token) each upload one
   10-minute, two-sensor, 100 Hz session (rows + raw and angles Parquet, as a bundle) to ONE
   `rehab server run` process: sessions/s, upload latency p50/p99 (PUT sent → receipt; includes
   waiting for an upload slot), the server's RSS (peak), and 0 lost / 0 duplicated (counted in the
   database). A hub that gets 429/503 or loses its connection backs off and retries, as real hubs do.
2. The same with TWO server processes on the same PostgreSQL and files: hubs alternate between
   them, and every 10th hub sends its session to both at the same moment — still no duplicates.
3. Roster and patient history for a therapist with 10,000 patients × 1 year of daily sessions
   (3.65 M sessions, a third with pain reports), seeded in SQL: goals ≤ 1 s and ≤ 0.3 s.

PostgreSQL: $REHAB_TEST_POSTGRES_URL (as under scripts/with-postgres / `make bench`), else a
throw-away server. Run: .venv/bin/python benchmarks/sync.py [--hubs 1000] [--patients 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.certs import make_private_pki
from service.sync import ClinicBusyError, ClinicClient, ClinicUnreachableError, SyncPolicy
from store import Store
from store.bundle import SessionBundle, pack

sys.path.insert(1, str(REPO / "benchmarks"))
import storage as bench_store  # its session generator and throw-away PostgreSQL

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SESSION_S = 600.0
HUB_POLICY = SyncPolicy(initial_backoff_s=0.5, max_backoff_s=5.0, connect_timeout_s=30.0, request_timeout_s=300.0)


# ------------------------------------------------------------------------------ set-up
@contextlib.contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def template_bundle(tmp: Path) -> SessionBundle:
    """One 10-minute two-sensor session as a hub stores and exports it."""
    raw = bench_store.quantize_raw(bench_store.make_raw(SESSION_S, seed=1))
    analysis = bench_store.make_analysis(SESSION_S, seed=1)
    analysis = dataclasses.replace(analysis, side="right")
    with Store(None, data_dir=tmp / "hub", password_hasher=FAST_HASHER) as hub:
        pid = hub.create_user("hub-patient", "bench-password", role="patient").id
        hub.save_session(pid, analysis, raw, started_at=bench_store.T0, uid="template")
        return hub.export_bundle("template")


@dataclasses.dataclass
class Hub:
    patient_id: int
    token: str
    uid: str


def enrol_hubs(store: Store, n: int, prefix: str) -> list[Hub]:
    thera = store.create_user(f"{prefix}-thera", "bench-password", role="therapist").id
    hubs = []
    for i in range(n):
        pid = store.create_user(f"{prefix}-{i}", "bench-password", role="patient", therapist_id=thera).id
        code = store.create_enrolment_code(pid, created_by=thera)
        token = store.redeem_enrolment_code(code.code, device_name=f"hub {i}").token
        hubs.append(Hub(pid, token, f"{prefix}-{i:05d}"))
    return hubs


class Server:
    """`rehab server run` in its own process, with its RSS sampled."""

    def __init__(self, url: str, data_dir: Path, certs, workdir: Path, name: str) -> None:  # type: ignore[no-untyped-def]
        ready = workdir / f"{name}.ready"
        self.log = workdir / f"{name}.log"
        cmd = [sys.executable, "-c", "from rehab.cli import app; app()", "server", "run", "--port", "0",
               "--database-url", url, "--data-dir", str(data_dir), "--cert", str(certs.cert_file),
               "--key", str(certs.key_file), "--ready-file", str(ready), "--log-level", "warning"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_")}
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-2000:])
            time.sleep(0.05)
        import json

        self.url = json.loads(ready.read_text())["url"]
        self.peak_rss_mib = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _status_kib(self, field: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
        return float("nan")

    def _sample(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.peak_rss_mib = max(self.peak_rss_mib, self._status_kib("VmRSS") / 1024)
            self._stop.wait(0.2)

    def rss_mib(self) -> float:
        return self._status_kib("VmRSS") / 1024

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.peak_rss_mib = max(self.peak_rss_mib, self._status_kib("VmHWM") / 1024)
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ------------------------------------------------------------------------------ the hubs
@dataclasses.dataclass
class Outcome:
    uid: str
    latency_s: float  # last PUT sent → its receipt
    attempts: int
    created: bool


async def run_hub(hub: Hub, url: str, template: SessionBundle, ca_file: str, start_gate: asyncio.Event) -> Outcome:
    """A hub that comes online: ask whether the clinic has the session, upload it, retry like `rehab hub run`."""
    await start_gate.wait()
    attempts, data = 0, b""
    async with ClinicClient(url, token=hub.token, ca_file=ca_file, policy=HUB_POLICY) as client:
        while True:
            attempts += 1
            try:
                receipt = await client.receipt(hub.patient_id, hub.uid)
                if receipt is not None:
                    return Outcome(hub.uid, 0.0, attempts, False)
                data = pack(dataclasses.replace(template, uid=hub.uid))  # built when sent, as a hub does
                t0 = time.perf_counter()
                receipt = await client.upload(hub.patient_id, hub.uid, data)
                del data
                return Outcome(hub.uid, time.perf_counter() - t0, attempts, bool(receipt["created"]))
            except (ClinicBusyError, ClinicUnreachableError) as exc:
                data = b""  # a hub waiting to retry holds no bundle
                wait = HUB_POLICY.backoff_s(attempts)
                if isinstance(exc, ClinicBusyError) and exc.retry_after_s:
                    wait = max(wait, exc.retry_after_s * random.uniform(0.5, 1.0))
                await asyncio.sleep(wait)


async def upload_all(hubs: list[Hub], urls: list[str], template: SessionBundle, ca_file: str, *, both_every: int = 0):
    gate = asyncio.Event()
    tasks = []
    for i, hub in enumerate(hubs):
        targets = [urls[i % len(urls)]]
        if both_every and i % both_every == 0 and len(urls) > 1:
            targets = list(urls)  # the same session to every replica at once
        tasks += [asyncio.create_task(run_hub(hub, u, template, ca_file, gate)) for u in targets]
    t0 = time.perf_counter()
    gate.set()
    outcomes = await asyncio.gather(*tasks)
    return outcomes, time.perf_counter() - t0


def count_stored(url: str, prefix: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as c:
        total, distinct = c.execute(
            text("SELECT count(*), count(DISTINCT uid) FROM sessions WHERE uid LIKE :p"), {"p": f"{prefix}-%"}
        ).one()
        received = c.execute(text("SELECT count(*) FROM received_sessions WHERE uid LIKE :p"), {"p": f"{prefix}-%"}).scalar()
    engine.dispose()
    assert received == total, (received, total)
    return int(total), int(distinct)


def report_uploads(label: str, hubs: list[Hub], outcomes: list[Outcome], wall_s: float, url: str, prefix: str,
                   servers: list[Server], bundle_mib: float) -> None:  # fmt: skip
    lat = sorted(o.latency_s for o in outcomes if o.latency_s > 0)
    created = sum(o.created for o in outcomes)
    total, distinct = count_stored(url, prefix)
    lost = len(hubs) - distinct
    dup = total - distinct
    retries = sum(o.attempts - 1 for o in outcomes)
    print(f"[{label}] {len(hubs)} hubs, {len(outcomes)} uploads of {bundle_mib:.2f} MiB: {wall_s:.1f} s → "
          f"{len(hubs) / wall_s:.1f} sessions/s ({len(hubs) * bundle_mib / wall_s:.1f} MiB/s)")  # fmt: skip
    print(f"[{label}] upload latency p50 {statistics.median(lat):.2f} s, p99 {lat[int(0.99 * (len(lat) - 1))]:.2f} s "
          f"(PUT → receipt, incl. waiting for a slot); retries {retries}")  # fmt: skip
    print(f"[{label}] server peak RSS: " + ", ".join(f"{s.peak_rss_mib:.0f} MiB" for s in servers))
    print(f"[{label}] stored {total}, distinct {distinct}, created by this run {created}: "
          f"lost {lost}, duplicated {dup}")  # fmt: skip
    if lost or dup:
        raise SystemExit(f"[{label}] FAILED: {lost} lost, {dup} duplicated")


# ------------------------------------------------------------------------------ roster at scale
def seed_clinic(store: Store, n_patients: int, days: int) -> int:
    """A therapist with ``n_patients`` patients, two prescriptions each and one session a day for
    ``days`` days (inserted oldest first, as a clinic's database fills), a third with pain reports."""
    tid = store.create_user("big-thera", "bench-password", role="therapist").id
    with store.engine.begin() as c:
        c.execute(text("""
            INSERT INTO users (username, display_name, role, password_hash, therapist_id, active, created_at)
            SELECT 'rp' || g, 'Patient ' || g, 'patient', 'x', :tid, true, now() FROM generate_series(1, :n) g"""),
                  {"tid": tid, "n": n_patients})  # fmt: skip
        c.execute(text("""
            INSERT INTO prescriptions (patient_id, exercise, side, sets, reps, sessions_per_week, target_rom_deg,
                                       compensation_threshold_deg, active, created_at, updated_at)
            SELECT u.id, e.exercise, 'left', 2, 10, 3, e.target, 10.0, true, now(), now()
            FROM users u CROSS JOIN (VALUES ('knee_raise', 90.0), ('hip_extension', 20.0)) AS e(exercise, target)
            WHERE u.therapist_id = :tid"""), {"tid": tid})  # fmt: skip
        c.execute(text("""
            INSERT INTO sessions (uid, patient_id, exercise, side, started_at, status, source, sensors, calibration,
              calibration_quality, threshold_deg, target_rom_deg, prescribed_sets, prescribed_reps, rep_count,
              full_rep_count, partial_rep_count, rom_deg, mean_peak_hip_flexion_deg, compensation_count,
              compensation_rate, mean_rep_duration_s, mean_hold_s, duration_s, set_count, created_at)
            SELECT md5(u.id::text || '-' || d::text), u.id,
              CASE WHEN d % 2 = 0 THEN 'knee_raise' ELSE 'hip_extension' END, 'left',
              now() - make_interval(days => d) - make_interval(mins => (u.id * 7 + d * 13) % 600),
              'complete', 'simulated', '{}', '{}', 'good', 10.0, 90.0, 2, 10, 10, 10, 0, 60 + ((u.id + d) % 30),
              75.0, (u.id + d) % 4, ((u.id + d) % 4) / 10.0, 3.0, 0.5, 45.0, 2, now()
            FROM users u CROSS JOIN generate_series(0, :days - 1) d
            WHERE u.therapist_id = :tid ORDER BY d DESC, u.id"""), {"tid": tid, "days": days})  # fmt: skip
        c.execute(text("""
            INSERT INTO pain_reports (session_id, pain_before, pain_after, note, created_at)
            SELECT s.id, s.id % 7, s.id % 5, '', now() FROM sessions s JOIN users u ON u.id = s.patient_id
            WHERE u.therapist_id = :tid AND s.id % 3 = 0 ORDER BY s.id"""), {"tid": tid})  # fmt: skip
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
    return tid


def bench_roster(url: str, data_dir: Path, n_patients: int, days: int) -> None:
    store = Store(url, data_dir=data_dir, password_hasher=FAST_HASHER, clean_on_open=False)
    t0 = time.perf_counter()
    tid = seed_clinic(store, n_patients, days)
    print(f"[roster] seeded {n_patients:,} patients × {days} days = {n_patients * days:,} sessions "
          f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
    pid = store.list_patients(tid)[0].id
    store.roster(tid)  # warm
    roster_s, roster = bench_store.timed(lambda: store.roster(tid), 5)
    hist_s, hist = bench_store.timed(lambda: store.patient_history(pid), 10)
    assert len(roster) == n_patients and len(hist) == days  # type: ignore[arg-type]
    print(f"[roster] roster of {n_patients:,} patients: {roster_s:.2f} s (goal ≤ 1 s); "
          f"patient history, {days} sessions: {hist_s * 1000:.0f} ms (goal ≤ 300 ms)")  # fmt: skip
    store.close()


# ------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hubs", type=int, default=1000)
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--roster-only", action="store_true", help="skip the uploads (part 3 only)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="rehab-bench-sync.") as tmp_name, bench_store.postgres_url() as pg:
        if pg is None:
            raise SystemExit("no PostgreSQL: set REHAB_TEST_POSTGRES_URL or install PostgreSQL")
        tmp = Path(tmp_name)
        template = template_bundle(tmp)
        bundle_mib = len(pack(template)) / 2**20
        certs = make_private_pki(tmp / "tls", ("127.0.0.1", "localhost"))
        for label, n_servers in () if args.roster_only else (("1 server", 1), ("2 servers", 2)):
            prefix = f"s{n_servers}"
            with fresh_database(pg) as url:
                with Store(url, data_dir=tmp / f"clinic-{prefix}", password_hasher=FAST_HASHER) as store:
                    hubs = enrol_hubs(store, args.hubs, prefix)
                servers = [Server(url, tmp / f"clinic-{prefix}", certs, tmp, f"{prefix}-{i}") for i in range(n_servers)]
                try:
                    outcomes, wall_s = asyncio.run(upload_all(hubs, [s.url for s in servers], template,
                                                              str(certs.ca_file), both_every=10 if n_servers > 1 else 0))
                finally:
                    for s in servers:
                        s.stop()
                report_uploads(label, hubs, outcomes, wall_s, url, prefix, servers, bundle_mib)
        with fresh_database(pg) as url:
            bench_roster(url, tmp / "roster", args.patients, args.days)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
