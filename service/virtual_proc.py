"""Start/stop the virtual sensors' process for `rehab record --virtual` (synchronous, for the CLI).

The child is ``python -m sensors.virtual`` (the same runner as `rehab sensors virtual`) streaming a
simulated set of the requested drill; it dies with the recorder (PR_SET_PDEATHSIG), so a killed
recorder never leaves orphan sensors behind.
"""

from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

READY_TIMEOUT_S = 60.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def start_virtual_sensors(
    *,
    exercise: str,
    side: str,
    reps: int,
    seed: int = 0,
    rate_hz: float | None = None,
    extra_args: list[str] | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> tuple[subprocess.Popen[str], str]:
    """Launch the sensors; returns (process, transport spec) once they are reachable."""
    root = Path(__file__).resolve().parents[2]
    argv = [
        sys.executable, "-m", "sensors.virtual", "--port", "0",
        "--exercise", exercise, "--side", side, "--reps", str(reps), "--seed", str(seed),
        *(extra_args or []),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root, env=env,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )  # fmt: skip
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + ready_timeout_s
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                stop_virtual_sensors(proc)
                raise RuntimeError(f"virtual sensors not ready within {ready_timeout_s:.0f} s ({' '.join(argv)})")
            line = proc.stdout.readline()
            if not line:
                err = proc.stderr.read() if proc.stderr else ""
                proc.wait()
                raise RuntimeError(f"virtual sensors exited with code {proc.returncode}: {err[-2000:]}")
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "ready":
                return proc, str(event["transport"])
    finally:
        sel.close()


def stop_virtual_sensors(proc: subprocess.Popen[str], timeout_s: float = 15.0) -> None:
    """SIGTERM the sensors' process (ours, by pid) and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
