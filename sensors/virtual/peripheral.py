"""`VirtualSensor`: one IMU as a bumble GATT peripheral on its own virtual controller.

It advertises ``<name_prefix>-<sensor>-<id>`` with the profile's service UUID, serves Battery
and Device Information, obeys the profile's control characteristic exactly as the firmware spec
says, and — once started — notifies encoded packets at real-time pace (timer-driven, as many
samples per notification as the negotiated ATT MTU allows) stamped by its own µs clock with a
configurable offset and drift. Faults are injected through methods (see `FaultCounters`).

What it measures follows the body, not the radio: the motion source is sampled at `BodyClock`
time, shared by the hub's sensors and running through disconnects, silences and reboots. Samples
due while the sensor is not streaming (link down, rebooting) are never sent — firmware without
buffering — and after a restart the stream picks up the motion where the body is now.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import time
from typing import Any, Final

import numpy as np
from bumble import data_types, gatt
from bumble.att import ATT_Error, ErrorCode
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.link import LocalLink
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService
from bumble.transport.common import AsyncPipeSink

from sensors.ble.transport import (
    VirtualController,
    VirtualHost,
    drop_le_connections,
    random_static_address,
)
from sensors.errors import ControlError
from sensors.profiles import Profile, get_profile
from sensors.virtual import _protocol
from sensors.virtual.source import BodyClock, MotionSource

logger = logging.getLogger(__name__)

#: Advertising interval of the virtual sensors (real IMUs use 20–100 ms when connectable).
DEFAULT_ADVERTISING_INTERVAL_MS: Final = 50.0
#: Largest ATT MTU the virtual sensors grant (nRF52 SoftDevice default maximum).
DEFAULT_MAX_MTU: Final = 247
SIG_BATTERY_SERVICE_UUID: Final = "0000180f-0000-1000-8000-00805f9b34fb"
SIG_DEVICE_INFO_SERVICE_UUID: Final = "0000180a-0000-1000-8000-00805f9b34fb"
#: How long a rebooting sensor stays off the air before advertising again.
REBOOT_DOWNTIME_S: Final = 0.3


@dataclasses.dataclass(slots=True)
class VirtualSensorConfig:
    """How one virtual sensor looks and behaves. ``name`` is the advertised local name."""

    name: str
    profile: str = "rehab_imu_v1"
    clock_offset_us: int = 0
    clock_drift_ppm: float = 0.0
    battery_percent: int = 87
    manufacturer: str = "rehab-tracker (virtual)"
    model: str = "RehabIMU virtual"
    serial: str = ""
    firmware: str = "virtual-1"
    advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS
    max_mtu: int = DEFAULT_MAX_MTU
    max_samples_per_packet: int | None = None  # None: fill the MTU
    keep_sent: bool = True  # remember every notification sent (tests compare against it)
    address_seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.battery_percent <= 100:
            raise ValueError(f"{self.name}: battery_percent {self.battery_percent} not in 0..100")
        if self.max_mtu < 23:
            raise ValueError(f"{self.name}: max_mtu {self.max_mtu} is below the BLE minimum of 23")


@dataclasses.dataclass(slots=True)
class FaultCounters:
    """What the sensor did to its stream — the ground truth fault tests compare against."""

    packets_sent: int = 0  # notifications put on the air (data, malformed and duplicates)
    samples_sent: int = 0
    packets_lost_silent: int = 0  # produced while silent, never sent (sequence numbers skipped)
    malformed_sent: int = 0
    duplicates_sent: int = 0
    link_drops: int = 0
    reboots: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class SensorClock:
    """The sensor's clock model: reading(t) = offset_us + (t − boot_monotonic_s)·(1 + drift)·1e6,
    t on ``time.monotonic()``. Changes at a reboot (offset 0, new boot time)."""

    boot_monotonic_s: float
    offset_us: int
    drift_ppm: float

    def reading_us(self, monotonic_s: float) -> int:
        return int(self.offset_us + round((monotonic_s - self.boot_monotonic_s) * (1.0 + self.drift_ppm * 1e-6) * 1e6))


@dataclasses.dataclass(frozen=True, slots=True)
class SentPacket:
    """One notification as it left the sensor (``data``) and what it encodes."""

    seq: int
    t0_us: int
    acc_m_s2: np.ndarray  # (n, 3) the values handed to the encoder
    gyr_rad_s: np.ndarray
    data: bytes
    kind: str = "data"  # data | duplicate | malformed
    host_time_s: float = 0.0
    motion_t0_s: float = math.nan  # body-clock time of sample 0 (what the source was sampled at)


class VirtualSensor:
    """A virtual IMU on LINK. ``await power_on()`` to advertise; a central starts it via control.

    BODY_CLOCK: the motion timeline it shares with the other sensors on the same body (the
    hub passes its own); default: a clock of its own, started at its first start command."""

    def __init__(
        self, config: VirtualSensorConfig, source: MotionSource, link: LocalLink, *, body_clock: BodyClock | None = None
    ) -> None:
        self.config = config
        self.profile: Profile = get_profile(config.profile)
        self.source = source
        self.body_clock = body_clock if body_clock is not None else BodyClock()
        self.link = link
        rng = random.Random(config.address_seed if config.address_seed is not None else config.name)
        self.address = random_static_address(rng)
        self.controller = VirtualController(f"virt-{config.name}", link=link)
        self.device = Device(
            name=config.name,
            address=self.address,
            host=VirtualHost(self.controller, AsyncPipeSink(self.controller)),
        )
        self.device.gatt_server.max_mtu = config.max_mtu
        self.counters = FaultCounters()
        self.sent: list[SentPacket] = []
        self.battery_percent = config.battery_percent
        self.settings = _protocol.default_settings(self.profile)
        self.streaming = False
        self._seq = 0
        self._boot_monotonic_s = time.monotonic()
        self._clock_offset_us = config.clock_offset_us
        self._stream_task: asyncio.Task[None] | None = None
        self._silent_until_s = 0.0
        self._pending_malformed: list[str] = []
        self._pending_duplicates = 0
        self._powered = False
        self._build_gatt()
        self._tasks: set[asyncio.Task[None]] = set()
        self.device.on("connection", self._on_connection)
        self.device.on("characteristic_subscription", self._on_subscription)

    # --- identity / GATT -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    def _build_gatt(self) -> None:
        p = self.profile
        self.data_char = gatt.Characteristic(
            p.data_char_uuid, gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        chars: list[gatt.Characteristic[Any]] = [self.data_char]
        props, perms = _protocol.control_properties(p)
        self.control_char: gatt.Characteristic[Any] = gatt.Characteristic(
            p.control_char_uuid,
            props,
            perms,
            gatt.CharacteristicValue(read=self._read_control, write=self._write_control),
        )
        chars.append(self.control_char)
        self.config_char: gatt.Characteristic[Any] | None = None
        if p.config_char_uuid:
            self.config_char = gatt.Characteristic(
                p.config_char_uuid,
                gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.WRITE,
                gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
                gatt.CharacteristicValue(read=self._read_config, write=self._write_control),
            )
            chars.append(self.config_char)
        services: list[gatt.Service] = [gatt.Service(p.service_uuid, chars)]
        self.battery_char: gatt.Characteristic[Any] | None = None
        if p.battery_service_uuid == SIG_BATTERY_SERVICE_UUID:
            battery = BatteryService(lambda _conn: self.battery_percent)
            self.battery_char = battery.battery_level_characteristic
            services.append(battery)
        elif p.battery_service_uuid and p.battery_level_char_uuid:
            # Vendor battery service (Movella DOT: byte 0 level %, byte 1 charging).
            self.battery_char = gatt.Characteristic(
                p.battery_level_char_uuid,
                gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
                gatt.Characteristic.READABLE,
                gatt.CharacteristicValue(read=lambda _conn: bytes([self.battery_percent, 0])),
            )
            services.append(gatt.Service(p.battery_service_uuid, [self.battery_char]))
        if p.device_info_service_uuid == SIG_DEVICE_INFO_SERVICE_UUID:
            services.append(
                DeviceInformationService(
                    manufacturer_name=self.config.manufacturer,
                    model_number=self.config.model,
                    serial_number=self.config.serial or self.address.to_string(False).replace(":", ""),
                    firmware_revision=self.config.firmware,
                )
            )
        self.device.add_services(services)
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    data_types.Flags(
                        AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE
                        | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
                    ),
                    data_types.CompleteLocalName(self.config.name),
                    data_types.IncompleteListOf128BitServiceUUIDs([UUID(p.service_uuid)]),
                ]
            )
        )

    # --- lifecycle ------------------------------------------------------------------------
    async def power_on(self) -> None:
        await self.device.power_on()
        self._powered = True
        await self._advertise()

    async def _advertise(self) -> None:
        await self.device.start_advertising(
            auto_restart=True,
            advertising_interval_min=self.config.advertising_interval_ms,
            advertising_interval_max=self.config.advertising_interval_ms,
        )

    async def power_off(self) -> None:
        await self._stop_streaming()
        if self._powered:
            drop_le_connections(self.controller)
            await self.device.stop_advertising()
            await self.device.power_off()
            self._powered = False
        if self.controller in self.link.controllers:
            self.link.remove_controller(self.controller)

    def _on_connection(self, connection: Connection) -> None:
        connection.on("disconnection", lambda reason: self._on_disconnection(connection, reason))

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        # The firmware stops streaming when its central leaves (spec: streaming needs a start).
        if not self.device.connections:
            self.streaming = False
            if self._stream_task is not None:
                self._stream_task.cancel()
                self._stream_task = None

    # --- clock ----------------------------------------------------------------------------
    @property
    def clock(self) -> SensorClock:
        """The current clock model (ground truth for clock-alignment tests)."""
        return SensorClock(self._boot_monotonic_s, self._clock_offset_us, self.config.clock_drift_ppm)

    def sensor_clock_us(self, monotonic_s: float | None = None) -> int:
        """The sensor's free-running clock (offset + drift), unwrapped µs."""
        return self.clock.reading_us(time.monotonic() if monotonic_s is None else monotonic_s)

    # --- control --------------------------------------------------------------------------
    def _read_control(self, _connection: Connection | None) -> bytes:
        return _protocol.control_status(self.profile, self.settings, self.streaming)

    async def _write_control(self, _connection: Connection | None, value: bytes) -> None:
        try:
            action, settings = _protocol.apply_control(self.profile, self.settings, bytes(value))
        except ControlError as exc:
            logger.info("%s: rejected control write %s: %s", self.name, bytes(value).hex(), exc)
            raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED, message=str(exc)) from exc
        rate_changed = settings.rate_hz != self.settings.rate_hz
        self.settings = settings
        if action == "start":
            await self._start_streaming()
        elif action == "stop":
            await self._stop_streaming()
        elif self.streaming and rate_changed:
            await self._start_streaming()  # new output rate takes effect at once, sequence goes on

    def _read_config(self, _connection: Connection | None) -> bytes:
        return _protocol.config_value(self.profile, self.settings)

    def _on_subscription(
        self, _connection: Connection, characteristic: Any, notify_enabled: bool, indicate_enabled: bool
    ) -> None:
        # Sensors without a start command (WitMotion) stream while someone listens.
        if characteristic is not self.data_char or _protocol.has_start_command(self.profile):
            return
        task = asyncio.get_running_loop().create_task(
            self._start_streaming() if notify_enabled else self._stop_streaming()
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- streaming ------------------------------------------------------------------------
    async def _start_streaming(self) -> None:
        await self._stop_streaming()
        self.streaming = True
        self._stream_task = asyncio.get_running_loop().create_task(self._stream(), name=f"stream-{self.name}")

    async def _stop_streaming(self) -> None:
        self.streaming = False
        task, self._stream_task = self._stream_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _mtu(self) -> int:
        mtus = [c.att_mtu for c in self.device.connections.values()]
        return min(mtus) if mtus else 23

    def samples_per_packet(self) -> int:
        n = self.profile.samples_per_packet(self._mtu())
        if self.config.max_samples_per_packet is not None:
            n = max(1, min(n, self.config.max_samples_per_packet))
        return n

    async def _stream(self) -> None:
        """Emit sample k at real time start + k / (rate · (1 + drift)); notify a full packet
        as soon as its last sample exists — a timer per packet, not per sample. Sample k
        measures the body at that real time (body clock), whenever this stream started."""
        loop = asyncio.get_running_loop()
        rate_hz = float(self.settings.rate_hz)
        real_period_s = 1.0 / (rate_hz * (1.0 + self.config.clock_drift_ppm * 1e-6))
        start_loop_s = loop.time()
        start_mono_s = time.monotonic()
        # The first stream started on this body starts the drill: its sample 0 is motion time 0.
        motion0_s = start_mono_s - self.body_clock.start(start_mono_s)
        generation = self.body_clock.generation
        k = 0
        try:
            while self.streaming:
                n = self.samples_per_packet()
                due_s = start_loop_s + (k + n - 1) * real_period_s
                delay = due_s - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.body_clock.generation != generation:  # the body restarted its motion
                    generation = self.body_clock.generation
                    motion0_s = start_mono_s - self.body_clock.start(start_mono_s + k * real_period_s)
                t_motion_s = motion0_s + (k + np.arange(n)) * real_period_s
                acc, gyr = self.source.sample(t_motion_s)
                t0_us = self.sensor_clock_us(start_mono_s + k * real_period_s)
                await self._send_packet(t0_us, acc, gyr, float(t_motion_s[0]))
                k += n
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s: streaming stopped by an error", self.name)
            self.streaming = False

    async def _send_packet(self, t0_us: int, acc: np.ndarray, gyr: np.ndarray, motion_t0_s: float = math.nan) -> None:
        seq = self._seq
        self._seq = (self._seq + 1) % (1 << (self.profile.seq_bits or 16))
        mtu = self._mtu()
        data = _protocol.encode(self.profile, self.settings, seq, t0_us, acc, gyr, mtu=mtu)
        now = time.monotonic()
        if now < self._silent_until_s:
            self.counters.packets_lost_silent += 1
            return
        outgoing: list[tuple[bytes, str]] = []
        if self._pending_malformed:
            kind = self._pending_malformed.pop(0)
            outgoing.append((_protocol.corrupt(self.profile, data, kind, mtu - self.profile.att_overhead_bytes), "malformed"))
            self.counters.malformed_sent += 1
        else:
            outgoing.append((data, "data"))
            self.counters.samples_sent += len(acc)
            if self._pending_duplicates > 0:
                self._pending_duplicates -= 1
                outgoing.append((data, "duplicate"))
                self.counters.duplicates_sent += 1
        # Book-keep before awaiting: bumble hands the PDU to per-connection tasks at once, so a
        # stop (task cancel) during the await must not leave a sent packet uncounted.
        for payload, kind in outgoing:
            self.counters.packets_sent += 1
            if self.config.keep_sent:
                self.sent.append(SentPacket(seq, t0_us, acc, gyr, payload, kind, now, motion_t0_s))
        for payload, _kind in outgoing:
            await self.device.notify_subscribers(self.data_char, payload)

    # --- faults ---------------------------------------------------------------------------
    async def drop_link(self) -> int:
        """Lose the radio link (supervision timeout on both ends); keeps advertising afterwards."""
        dropped = drop_le_connections(self.controller)
        self.counters.link_drops += dropped
        await asyncio.sleep(0)
        return dropped

    def go_silent(self, duration_s: float) -> None:
        """Stop sending for DURATION_S while sampling goes on: the sequence numbers skip."""
        if duration_s < 0 or not math.isfinite(duration_s):
            raise ValueError(f"{self.name}: silence duration {duration_s} s must be finite and >= 0")
        self._silent_until_s = time.monotonic() + duration_s

    def send_malformed(self, count: int = 1, kind: str = "truncate") -> None:
        """Corrupt the next COUNT data packets (kind: truncate | bad_header | pad)."""
        _protocol.check_corruption(kind)
        self._pending_malformed.extend([kind] * count)

    def send_duplicates(self, count: int = 1) -> None:
        """Send each of the next COUNT data packets twice (same bytes, same sequence number)."""
        self._pending_duplicates += count

    async def set_battery(self, percent: int) -> None:
        """Change the battery level and notify subscribers of the Battery Level characteristic."""
        if not 0 <= percent <= 100:
            raise ValueError(f"{self.name}: battery level {percent} not in 0..100")
        self.battery_percent = percent
        if self.device.connections and self.battery_char is not None:
            await self.device.notify_subscribers(self.battery_char)

    async def reboot(self, downtime_s: float = REBOOT_DOWNTIME_S) -> None:
        """Firmware reset: link lost, streaming stopped, sequence and clock back to zero,
        settings to defaults; advertises again after DOWNTIME_S. The body keeps moving."""
        await self._stop_streaming()
        await self.device.stop_advertising()
        self.counters.reboots += 1
        self.counters.link_drops += drop_le_connections(self.controller)
        self._seq = 0
        self._boot_monotonic_s = time.monotonic()
        self._clock_offset_us = 0
        self.settings = _protocol.default_settings(self.profile)
        self._silent_until_s = 0.0
        await asyncio.sleep(downtime_s)
        if self._powered:
            await self._advertise()
