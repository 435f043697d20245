"""Virtual sensors in a child process, for tests, benchmarks and the CLI: start, wait until
reachable, stop — with asyncio (`async with VirtualSensorProcess(...)`) or blocking
(`start_blocking()` / `stop_blocking()`, for the synchronous CLI).

The child prints one JSON line ``{"event": "ready", "transport": ..., "sensors": [...]}`` when it is
reachable and ``{"event": "stopped", ...}`` at exit; it dies with its parent (PR_SET_PDEATHSIG), so
a killed recorder never leaves orphan sensors behind. The default child is ``python -m
sensors.virtual`` (CSV or synthetic motion); ``rehab`` passes its own command, which simulates a drill.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

#: How long the launcher waits for the child's ready line.
READY_TIMEOUT_S = 30.0
#: The radio-only runner (sensors/virtual/runner.py).
DEFAULT_COMMAND: tuple[str, ...] = (sys.executable, "-m", "sensors.virtual")
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # runs in the child between fork and exec
    """A child process gets SIGTERM when its parent dies, however it dies (PR_SET_PDEATHSIG): the
    helper processes of the demo, the dashboard and virtual sensors never outlive what started them."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


#: ``subprocess.Popen`` keyword for a child that dies with its parent (Linux; elsewhere nothing).
DIES_WITH_PARENT: dict[str, Any] = {"preexec_fn": die_with_parent} if sys.platform.startswith("linux") else {}


def _event(line: str | bytes) -> dict[str, Any] | None:
    with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
        event = json.loads(line)
        if isinstance(event, dict):
            return event
    return None


class VirtualSensorProcess:
    """``async with VirtualSensorProcess(["--synthetic-seed", "1"]) as proc: proc.transport``.

    Starts ``COMMAND --port 0 ARGS`` in a child process, waits for its ready line, and on exit
    sends SIGTERM and waits for the ``stopped`` report (`stopped`)."""

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        command: Sequence[str] = DEFAULT_COMMAND,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.argv = [*command, "--port", "0", *args]
        self.ready_timeout_s = ready_timeout_s
        self.process: asyncio.subprocess.Process | None = None
        self.popen: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}
        self.stopped: dict[str, Any] = {}
        self._command_lock = threading.Lock()
        self._stderr: Any = None

    @property
    def transport(self) -> str:
        return str(self.ready["transport"])

    @property
    def sensor_names(self) -> list[str]:
        return [s["name"] for s in self.ready["sensors"]]

    def _not_ready(self, why: str) -> str:
        return f"virtual sensors ({' '.join(self.argv)}) {why}"

    def _read_stopped(self, out: bytes) -> None:
        for line in out.decode(errors="replace").splitlines():
            event = _event(line)
            if event is not None and event.get("event") == "stopped":
                self.stopped = event

    # -- asyncio -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            **DIES_WITH_PARENT,
        )  # fmt: skip
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), max(remaining, 0.01))
            except TimeoutError:
                await self.stop()
                raise TimeoutError(self._not_ready(f"not ready within {self.ready_timeout_s:.0f} s")) from None
            if not line:
                err = await self.process.stderr.read() if self.process.stderr is not None else b""
                await self.process.wait()
                raise RuntimeError(self._not_ready(
                    f"exited with code {self.process.returncode} before ready: {err.decode(errors='replace')[-2000:]}"
                ))  # fmt: skip
            event = _event(line)
            if event is not None and event.get("event") == "ready":
                self.ready = event
                return

    async def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        out, _err = await asyncio.wait_for(proc.communicate(), 30)
        self._read_stopped(out)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- blocking ------------------------------------------------------------------------------
    def start_blocking(self) -> str:
        """Start and wait for the ready line; returns the transport spec."""
        # stderr to a file, not a pipe: nobody reads it while the sensors run, and a full pipe would
        # block the child (bumble logs)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - the child's stderr for its lifetime, closed by stop_blocking()
        self.popen = proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            **DIES_WITH_PARENT,
        )  # fmt: skip
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.ready_timeout_s
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    self.stop_blocking()
                    raise TimeoutError(self._not_ready(f"not ready within {self.ready_timeout_s:.0f} s"))
                line = proc.stdout.readline()
                if not line:
                    proc.wait()
                    self._stderr.seek(0)
                    err = self._stderr.read()
                    raise RuntimeError(self._not_ready(
                        f"exited with code {proc.returncode}: {err.decode(errors='replace')[-2000:]}"
                    ))  # fmt: skip
                event = _event(line)
                if event is not None and event.get("event") == "ready":
                    self.ready = event
                    return self.transport
        finally:
            sel.close()

    def command_blocking(self, command: dict[str, Any], *, answer: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """Send one JSON command to a child started with ``start_blocking`` (its runner must take
        commands) and wait for the JSON line whose ``event`` is ANSWER (an ``error`` event raises)."""
        proc = self.popen
        if proc is None or proc.poll() is not None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError(self._not_ready("are not running"))
        with self._command_lock:
            proc.stdin.write(json.dumps(command).encode() + b"\n")
            proc.stdin.flush()
            sel = selectors.DefaultSelector()
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout_s
            try:
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not sel.select(remaining):
                        raise TimeoutError(self._not_ready(f"did not answer {command.get('cmd')!r} within {timeout_s:.0f} s"))
                    line = proc.stdout.readline()
                    if not line:
                        raise RuntimeError(self._not_ready("exited while answering a command"))
                    event = _event(line)
                    if event is None:
                        continue
                    if event.get("event") == "error":
                        raise RuntimeError(self._not_ready(f"refused {command.get('cmd')!r}: {event.get('error')}"))
                    if event.get("event") == answer:
                        return event
            finally:
                sel.close()

    def send_stop(self) -> None:
        """SIGTERM the sensors' process now (it winds down while the caller does); reap it with
        `stop_blocking`."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def stop_blocking(self, timeout_s: float = 15.0) -> None:
        """SIGTERM the sensors' process (ours, by pid) and reap it."""
        proc, self.popen = self.popen, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        self._read_stopped(out or b"")
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
