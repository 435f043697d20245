"""One sensor's connection, kept alive for the whole set.

`SensorLink.run()` connects through bleak-retry-connector's ``establish_connection`` (which counts
timeouts, connect errors and transient errors separately and raises a typed error naming the
device and the attempt count), reads the battery (warns below `LOW_BATTERY_PERCENT`), starts
streaming through the profile's control characteristic, subscribes, and then waits. When the link
drops it reports it, backs off (bleak-retry-connector's per-category backoff, grown exponentially
by `ReconnectPolicy`) and does it all again; the set goes on. Only a sensor unreachable for longer
than ``give_up_after_s`` ends in `SensorLostError`.

The notify callback does nothing but put ``Notification(sensor, host_s, data)`` on an
``asyncio.Queue`` (host_s = time.monotonic() at arrival): decoding happens downstream, so the radio
loop never waits on numpy, disk or the tracker. Link changes travel on the same queue as
``LinkEvent`` so the consumer sees them in order with the data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import (
    BLEAK_RETRY_EXCEPTIONS,
    calculate_backoff_time,
    establish_connection,
)

from sensors.codec import ControlCommand, control_target_uuid, encode_control
from sensors.errors import ControlError
from sensors.profiles import Profile
from service.errors import SensorConnectError, SensorLostError, SensorSetupError

logger = logging.getLogger(__name__)

#: Warn when a sensor's battery is below this, percent.
LOW_BATTERY_PERCENT: Final = 20


class Notification(NamedTuple):
    """One GATT notification as it arrived: sensor role, host monotonic time (s), raw bytes."""

    sensor: str
    host_s: float
    data: bytes | bytearray


class LinkEvent(NamedTuple):
    """A change of a sensor's link: kind is up | down | battery | error | lost."""

    sensor: str
    host_s: float
    kind: str
    detail: dict[str, Any]


QueueItem = Notification | LinkEvent


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How hard to try. Backoff = max(bleak-retry-connector's category backoff,
    initial · multiplier^(failures−1)), capped at max_backoff_s."""

    initial_backoff_s: float = 0.1
    multiplier: float = 2.0
    max_backoff_s: float = 4.0
    give_up_after_s: float = 60.0
    attempts_per_round: int = 2  # establish_connection's max_attempts
    connect_timeout_s: float = 10.0
    #: extra time per attempt (service discovery, backoff) before a connect round counts as hung;
    #: the bumble backend honours its timeout now, so this only guards other stacks
    safety_margin_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("initial_backoff_s", "max_backoff_s", "give_up_after_s", "connect_timeout_s", "safety_margin_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ReconnectPolicy.{name} must be > 0, got {getattr(self, name)}")
        if self.multiplier < 1:
            raise ValueError(f"ReconnectPolicy.multiplier must be >= 1, got {self.multiplier}")
        if self.attempts_per_round < 1:
            raise ValueError(f"ReconnectPolicy.attempts_per_round must be >= 1, got {self.attempts_per_round}")

    def backoff_s(self, exc: BaseException | None, failures: int) -> float:
        category = calculate_backoff_time(exc) if isinstance(exc, Exception) else 0.0
        grown = self.initial_backoff_s * self.multiplier ** max(failures - 1, 0)
        return min(self.max_backoff_s, max(category, grown))


def start_commands(profile: Profile, rate_hz: float | None) -> list[tuple[str, bytes]]:
    """(characteristic UUID, bytes) writes that make a sensor of PROFILE stream at RATE_HZ."""
    kind = profile.control.get("kind")
    if kind == "witmotion":  # streams whenever connected; only the rate can be set
        cmd = ControlCommand("configure", rate_hz=rate_hz)
        return [(control_target_uuid(profile, cmd), encode_control(profile, cmd))]
    if kind == "movella_dot":
        cfg = ControlCommand("configure", rate_hz=rate_hz)
        start = ControlCommand("start")
        return [
            (control_target_uuid(profile, cfg), encode_control(profile, cfg)),
            (control_target_uuid(profile, start), encode_control(profile, start)),
        ]
    cmd = ControlCommand("start", rate_hz=rate_hz)
    return [(control_target_uuid(profile, cmd), encode_control(profile, cmd))]


@dataclass(slots=True)
class LinkStatus:
    """What the dashboard shows per sensor (plus counters the tests compare)."""

    sensor: str
    address: str
    name: str | None
    connected: bool = False
    battery_percent: int | None = None
    low_battery: bool = False
    connects: int = 0
    drops: int = 0
    failed_rounds: int = 0
    last_error: str | None = None
    since_s: float = field(default_factory=time.monotonic)


class SensorLink:
    """Keep one sensor connected and streaming until `stop()`; see the module doc."""

    def __init__(
        self,
        sensor: str,
        device: BLEDevice,
        profile: Profile,
        queue: asyncio.Queue[QueueItem],
        *,
        client_kwargs: dict[str, Any] | None = None,
        rate_hz: float | None = None,
        policy: ReconnectPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sensor = sensor
        self.device = device
        self.profile = profile
        self.queue = queue
        self.client_kwargs = dict(client_kwargs or {})
        self.rate_hz = rate_hz
        self.policy = policy or ReconnectPolicy()
        self.clock = clock
        self.status = LinkStatus(sensor, device.address, device.name)
        self._client: BleakClient | None = None
        self._disconnected = asyncio.Event()
        self._stopping = False
        self._commands = start_commands(profile, rate_hz)  # raises ControlError early for a bad rate

    # --- callbacks (radio loop: no work here) --------------------------------------------
    def _on_data(self, _char: Any, data: bytearray) -> None:
        self.queue.put_nowait(Notification(self.sensor, self.clock(), data))

    def _on_disconnect(self, _client: BleakClient) -> None:
        self._disconnected.set()

    def _emit(self, kind: str, **detail: Any) -> None:
        self.queue.put_nowait(LinkEvent(self.sensor, self.clock(), kind, detail))

    # --- one connection --------------------------------------------------------------------
    async def _connect_once(self) -> BleakClient:
        # A stack whose connect ignores its timeout must not hang the link: bound the whole round.
        safety_s = self.policy.attempts_per_round * (self.policy.connect_timeout_s + self.policy.safety_margin_s)
        try:
            async with asyncio.timeout(safety_s):
                return await establish_connection(
                    BleakClient,
                    self.device,
                    self.sensor,
                    disconnected_callback=self._on_disconnect,
                    max_attempts=self.policy.attempts_per_round,
                    timeout=self.policy.connect_timeout_s,
                    **self.client_kwargs,
                )
        except (*BLEAK_RETRY_EXCEPTIONS, ConnectionError, OSError) as exc:
            attempts = (self.status.failed_rounds + 1) * self.policy.attempts_per_round
            detail = str(exc) or (
                f"connect did not finish within {safety_s:.1f} s" if isinstance(exc, TimeoutError) else type(exc).__name__
            )
            raise SensorConnectError(self.sensor, self.device.address, attempts, type(exc).__name__, detail) from exc

    async def _set_up(self, client: BleakClient) -> None:
        p = self.profile
        step = "battery read"
        try:
            if p.battery_level_char_uuid and client.services.get_characteristic(p.battery_level_char_uuid):
                level = int((await client.read_gatt_char(p.battery_level_char_uuid))[0])
                self.status.battery_percent = level
                self.status.low_battery = level < LOW_BATTERY_PERCENT
                if self.status.low_battery:
                    logger.warning("%s (%s): battery low: %d %%", self.sensor, self.device.address, level)
                self._emit("battery", percent=level, low=self.status.low_battery)
            step = "subscribe"
            await client.start_notify(p.data_char_uuid, self._on_data)
            step = "start streaming"
            for uuid, data in self._commands:
                await client.write_gatt_char(uuid, data, response=True)
        except (TimeoutError, BleakError, ControlError, IndexError) as exc:
            raise SensorSetupError(self.sensor, self.device.address, step, str(exc) or type(exc).__name__) from exc

    # --- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, stream, reconnect after drops — until `stop()` or the give-up time."""
        down_since = self.clock()
        last_exc: BaseException | None = None
        while not self._stopping:
            self._disconnected.clear()
            try:
                client = await self._connect_once()
                self._client = client
                if self._disconnected.is_set() or not client.is_connected:
                    raise SensorSetupError(self.sensor, self.device.address, "connect", "dropped while connecting")
                await self._set_up(client)
            except (SensorConnectError, SensorSetupError) as exc:
                await self._disconnect_quietly()
                last_exc = exc.__cause__ or exc
                self.status.failed_rounds += 1
                self.status.last_error = str(exc)
                self._emit("error", error=str(exc), category=type(last_exc).__name__)
                logger.info("%s", exc)
                if self.clock() - down_since > self.policy.give_up_after_s:
                    attempts = exc.attempts if isinstance(exc, SensorConnectError) else self.status.failed_rounds
                    lost = SensorLostError(
                        self.sensor, self.device.address, attempts, type(last_exc).__name__,
                        f"unreachable for {self.clock() - down_since:.1f} s: {exc}",
                    )
                    self._emit("lost", error=str(lost))
                    raise lost from exc
                await self._sleep(self.policy.backoff_s(last_exc, self.status.failed_rounds))
                continue
            # streaming
            self.status.connected = True
            self.status.connects += 1
            self.status.failed_rounds = 0
            self.status.since_s = self.clock()
            self._emit("up", connects=self.status.connects, mtu=_mtu(client))
            await self._disconnected.wait()
            self.status.connected = False
            self._client = None
            if self._stopping:
                break
            self.status.drops += 1
            self.status.since_s = down_since = self.clock()
            self._emit("down", drops=self.status.drops)
            last_exc = BleakError("Disconnected")
            await self._sleep(self.policy.backoff_s(last_exc, 1))

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0 and not self._stopping:
            await asyncio.sleep(seconds)

    async def _disconnect_quietly(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except (TimeoutError, BleakError, OSError) as exc:
                logger.debug("%s: disconnect during clean-up failed: %s", self.sensor, exc)

    async def stop(self) -> None:
        """Stop streaming (best effort) and disconnect; `run()` returns."""
        self._stopping = True
        client = self._client
        if client is not None and client.is_connected:
            try:
                if self.profile.control.get("kind") in ("rehab_v1", "movella_dot"):
                    cmd = ControlCommand("stop")
                    await client.write_gatt_char(
                        control_target_uuid(self.profile, cmd), encode_control(self.profile, cmd), response=True
                    )
            except (TimeoutError, BleakError, ControlError) as exc:
                logger.debug("%s: stop command failed: %s", self.sensor, exc)
        await self._disconnect_quietly()
        self._disconnected.set()


def _mtu(client: BleakClient) -> int | None:
    try:
        return int(client.mtu_size)
    except (BleakError, AttributeError):
        return None
