"""Issue 16.7's file and process items: a shared data directory is refused (never chmod-ed), the demo
logins are rewritten owner-only without ever sitting in a readable file, and stopping the dashboard
launcher stops its Streamlit child."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard.launch import free_port
from rehab.clinic import LOGINS_FILE, DemoLogins, load_logins, save_logins
from service.datadir import recordings_dir
from store import Store, StoreConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o755, 0o750])
def test_a_shared_data_directory_is_refused_and_left_as_it_was(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    for open_it in (lambda: Store(data_dir=shared), lambda: recordings_dir(shared)):
        with pytest.raises(StoreConfigError) as info:
            open_it()
        assert str(shared) in str(info.value) and f"{mode:04o}" in str(info.value) and "REHAB_DATA_DIR" in str(info.value)
    assert stat.S_IMODE(shared.stat().st_mode) == mode  # not chmod-ed
    assert list(shared.iterdir()) == []  # and nothing written into it


def test_the_cli_names_the_shared_directory(tmp_path: Path) -> None:
    shared = tmp_path / "tmpdir"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    out = subprocess.run(
        [sys.executable, "-m", "rehab", "db", "upgrade"], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "REHAB_DATA_DIR": str(shared)},
    )  # fmt: skip
    assert out.returncode == 2 and "shared (mode 1777)" in out.stdout + out.stderr


def test_a_directory_the_project_creates_is_private(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path / "new" / "data") as store:
        assert stat.S_IMODE(store.data_dir.stat().st_mode) == 0o700


def test_demo_logins_are_rewritten_owner_only_and_atomically(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    path = data / LOGINS_FILE
    path.write_text("{}")
    os.chmod(path, 0o644)  # e.g. copied in by hand
    before = path.stat().st_ino
    save_logins(data, DemoLogins({"alex.demo": "s3cret-words"}))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # a new file replaced the 0644 one: the passwords were never written into a readable inode
    assert path.stat().st_ino != before
    assert load_logins(data).passwords == {"alex.demo": "s3cret-words"}
    assert [p.name for p in data.iterdir()] == [LOGINS_FILE]  # no temporary file left behind


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_for_dashboard(port: int, proc: subprocess.Popen[bytes], *, timeout_s: float) -> None:
    """Until the dashboard on ``port`` answers its health check (``proc``, what serves it, must live)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline and proc.poll() is None, f"the dashboard on port {port} did not start"
        time.sleep(0.3)


def _start_launcher(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "dashboard.launch", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for_dashboard(port, launcher, timeout_s=90)
    (child,) = _children(launcher.pid)
    return launcher, child


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_stopping_the_launcher_stops_the_streamlit_child(tmp_path: Path, how: str) -> None:
    launcher, child = _start_launcher(tmp_path)
    try:
        assert _alive(child)
        launcher.send_signal(getattr(signal, how))
        launcher.wait(15)
        deadline = time.monotonic() + 15
        while _alive(child):
            assert time.monotonic() < deadline, f"streamlit (pid {child}) outlived its launcher after {how}"
            time.sleep(0.1)
        if how == "SIGTERM":
            assert launcher.returncode == 0
    finally:
        for pid in (launcher.pid, child):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        launcher.wait(10)



def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


@pytest.mark.slow
def test_stopping_the_demo_stops_every_process_it_started(tmp_path: Path) -> None:
    """`make run` stopped by SIGTERM (a closed terminal, a service manager): the dashboard, the ingestion
    service and its virtual sensors go with it (the ingestion service and its sensors used to stay)."""
    port = free_port()
    exe = Path(sys.executable).with_name("rehab")
    demo = subprocess.Popen(
        [str(exe), "demo", "--no-live", "--weeks", "1", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    started: list[int] = []
    try:
        _wait_for_dashboard(port, demo, timeout_s=120)
        deadline = time.monotonic() + 30
        while len(started := _descendants(demo.pid)) < 3:  # streamlit, rehab serve, its virtual sensors
            assert time.monotonic() < deadline, f"expected the dashboard, the service and its sensors: {started}"
            time.sleep(0.2)
        demo.send_signal(signal.SIGTERM)
        demo.wait(15)
        deadline = time.monotonic() + 20
        while alive := [p for p in started if _alive(p)]:
            assert time.monotonic() < deadline, f"processes outlived the demo after SIGTERM: {alive}"
            time.sleep(0.2)
    finally:
        for pid in [demo.pid, *started]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        demo.wait(10)
