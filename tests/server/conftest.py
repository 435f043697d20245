"""The clinic server's fixtures: a PostgreSQL database per test, throw-away TLS certificates made with
`cryptography`, the server as a real process (`rehab server run`), and a hub store on SQLite."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.certs import Authority, make_private_pki, new_authority
from store import Store
from store import auth as store_auth

REPO = Path(__file__).resolve().parents[2]
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


# ------------------------------------------------------------------------------ PostgreSQL
@pytest.fixture
def clinic_db(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test (the server and the test both open it)."""
    name = f"clinic_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Clinic:
    store: Store
    url: str
    data_dir: Path
    therapist: int
    patients: dict[str, int]


@pytest.fixture
def clinic(clinic_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clinic]:
    """A therapist with patients alice and bob (each with a knee-raise prescription) on PostgreSQL."""
    monkeypatch.setattr(store_auth, "DEFAULT_HASHER", FAST_HASHER)
    data_dir = tmp_path / "clinic"
    store = Store(clinic_db, data_dir=data_dir, password_hasher=FAST_HASHER)
    t = store.create_user("thera", "therapist-pw-1", role="therapist", display_name="Dr T").id
    patients = {}
    for name in ("alice", "bob"):
        patients[name] = store.create_user(name, f"{name}-password-1", role="patient", display_name=name.title(),
                                           therapist_id=t).id  # fmt: skip
        store.add_prescription(patients[name], "knee_raise", "right", sets=1, reps=4, target_rom_deg=70, stage="box",
                               created_by=t)  # fmt: skip
    yield Clinic(store, clinic_db, data_dir, t, patients)
    store.close()


def hub_store(path: Path, username: str = "alice") -> tuple[Store, int]:
    """A home hub's store (SQLite in its own data dir) with the patient's local account."""
    store = Store(None, data_dir=path, password_hasher=FAST_HASHER)
    return store, store.create_user(username, f"{username}-local-pw", role="patient", display_name=username.title()).id


# ------------------------------------------------------------------------------ certificates
@dataclass
class Tls:
    """A throw-away CA and a server certificate it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    authority: Authority


def make_tls(
    folder: Path, *, label: str = "clinic", hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), ca: Tls | None = None
) -> Tls:
    """A server certificate for ``hosts``, signed by a new CA — or by ``ca``'s (as `rehab server certs`)."""
    authority = ca.authority if ca is not None else new_authority(f"{label} test CA")
    files = make_private_pki(folder, hosts, ca=authority, prefix=f"{label}-")
    return Tls(files.ca_file, files.cert_file, files.key_file, authority)


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path / "tls")


# ------------------------------------------------------------------------------ processes
def rehab_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from rehab.cli import app; app()", *args]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_") or k == "REHAB_TEST_POSTGRES_URL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """`rehab server run` in its own process; restartable on the same port, killable with SIGKILL."""

    database_url: str
    data_dir: Path
    tls: Tls | None
    workdir: Path
    files_url: str | None = None
    port: int = 0
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self, *, timeout_s: float = 60.0, tls: Tls | None = None) -> ServerProcess:
        tls = tls or self.tls
        ready = self.workdir / f"ready-{len(self.logs)}.json"
        log = self.workdir / f"server-{len(self.logs)}.log"
        self.logs.append(log)
        args = ["server", "run", "--port", str(self.port), "--database-url", self.database_url,
                "--data-dir", str(self.data_dir), "--ready-file", str(ready)]  # fmt: skip
        args += ["--cert", str(tls.cert_file), "--key", str(tls.key_file)] if tls else ["--no-tls"]
        args += ["--files-url", self.files_url] if self.files_url else []
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(rehab_cmd(*args), cwd=REPO, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"server not ready in {timeout_s} s: {log.read_text()[-3000:]}")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        self.url = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


@pytest.fixture
def server_process(clinic: Clinic, tls: Tls, tmp_path: Path) -> Iterator[ServerProcess]:
    sp = ServerProcess(clinic.url, clinic.data_dir, tls, tmp_path)
    try:
        yield sp
    finally:
        sp.stop()


# ------------------------------------------------------------------------------ sessions
QUICK_SET = dict(reps=4, up_s=0.8, hold_s=0.3, down_s=0.8, rest_between_reps_s=0.6, stand_s=2.5, end_stand_s=1.0)


def simulated_set(seed: int = 3):  # type: ignore[no-untyped-def]
    """A short simulated right knee-raise set, on the storage grid, and its analysis."""
    from simulation import SimulationConfig, simulate
    from store import quantize_raw
    from tracker.pipeline import analyze_session

    sim = simulate(SimulationConfig(exercise="knee_raise", side="right", seed=seed, **QUICK_SET))  # type: ignore[arg-type]
    raw = quantize_raw(sim.raw)
    return analyze_session(raw, "knee_raise", "right"), raw


def store_sets(store: Store, patient_id: int, n: int, *, prefix: str = "set", start: dt.datetime = T0) -> list[str]:
    """``n`` finished sets stored as the recorder would (distinct seeds, one minute apart); their uids."""
    uids = []
    for i in range(n):
        analysis, raw = simulated_set(seed=100 + i)
        uid = f"{prefix}-{i:03d}"
        store.save_session(patient_id, analysis, raw, started_at=start + dt.timedelta(minutes=i), uid=uid,
                           sensors={"backend": "virtual", "recording": uid})  # fmt: skip
        uids.append(uid)
    return uids


# ------------------------------------------------------------------------------ a faulty network
class FaultProxy:
    """A loopback TCP proxy in front of the server that can act in the middle of a connection.

    ``on_upload(bytes_so_far)`` is called once per request when the client has sent more than
    ``upload_threshold`` bytes since the server last answered — only a session upload is that large —
    before the chunk that crossed it is forwarded; it returns "kill" (drop the connection, after the
    callback did its damage), "corrupt" (flip one bit of that chunk) or None. ``on_response`` is
    called when the server starts answering such a request, before the answer is forwarded.
    Works through TLS too (it never reads the bytes)."""

    def __init__(self, target_port: int, *, upload_threshold: int = 20_000) -> None:
        import socket as _socket
        import threading

        self.target_port = target_port
        self.upload_threshold = upload_threshold
        self.on_upload: object = None
        self.on_response: object = None
        self._listener = _socket.socket()
        self._listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self.uploads_seen = 0
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        import socket as _socket
        import threading

        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = _socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()  # the server is down: the hub sees the connection drop
                continue
            upstream.settimeout(None)
            state = {"up": 0, "upload": False, "answered": False, "dead": False}
            for src, dst, direction in ((client, upstream, "up"), (upstream, client, "down")):
                t = threading.Thread(target=self._pump, args=(src, dst, direction, state, (client, upstream)), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, src, dst, direction: str, state: dict, pair: tuple) -> None:  # type: ignore[no-untyped-def]
        try:
            while not state["dead"]:
                chunk = src.recv(65536)
                if not chunk:
                    break
                action = None
                if direction == "up":
                    state["up"] += len(chunk)
                    if not state["upload"] and state["up"] > self.upload_threshold:
                        state["upload"] = True
                        self.uploads_seen += 1
                        if callable(self.on_upload):
                            action = self.on_upload(state["up"])
                else:  # the server answers: the request is over (httpx does not pipeline)
                    if state["upload"] and callable(self.on_response):
                        action = self.on_response()
                    state["up"], state["upload"] = 0, False
                if action == "kill":
                    state["dead"] = True
                    break
                if action == "corrupt":
                    chunk = bytearray(chunk)
                    chunk[len(chunk) // 2] ^= 0x20
                    chunk = bytes(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            state["dead"] = True
            for s in pair:  # shutdown wakes the other pump's recv and sends the FIN now
                with contextlib.suppress(OSError):
                    s.shutdown(2)
                s.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


@pytest.fixture
def proxy_factory() -> Iterator[object]:
    made: list[FaultProxy] = []

    def make(target_port: int, **kw: int) -> FaultProxy:
        p = FaultProxy(target_port, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
