"""Control characteristic writes/reads: start, stop, output rate, full-scale ranges.

Each profile's byte format comes from its spec's ``control`` section. ``encode_control`` returns
the bytes; ``control_target_uuid`` says which characteristic to write them to (Movella DOT sets
the output rate on its Device Control characteristic, not on the measurement Control one).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

from sensors.errors import ControlError
from sensors.profiles import Profile, get_profile

Action = Literal["start", "stop", "configure"]


@dataclass(frozen=True, slots=True)
class ControlCommand:
    """What the host wants; None fields mean "the profile default" (or "unchanged" on read)."""

    action: Action
    rate_hz: float | None = None
    accel_range_g: float | None = None
    gyro_range_dps: float | None = None


def _code(p: Profile, field: str, value: float | None, default: float) -> int:
    f = p.header_field(field)
    v = default if value is None else float(value)
    assert f.codes is not None
    for code, val in f.codes.items():
        if abs(val - v) < 1e-9:
            return code
    raise ControlError(f"{p.name}: {field} {v:g} not supported; choose one of {sorted(f.codes.values())}")


def _fixed_ranges(p: Profile, cmd: ControlCommand) -> None:
    if cmd.accel_range_g is not None and float(cmd.accel_range_g) not in p.accel_ranges_g:
        raise ControlError(f"{p.name}: accelerometer range is fixed at {p.accel_ranges_g}, cannot set {cmd.accel_range_g}")
    if cmd.gyro_range_dps is not None and float(cmd.gyro_range_dps) not in p.gyro_ranges_dps:
        raise ControlError(f"{p.name}: gyroscope range is fixed at {p.gyro_ranges_dps}, cannot set {cmd.gyro_range_dps}")


def control_target_uuid(profile: str | Profile, command: ControlCommand) -> str:
    """The characteristic ``encode_control(profile, command)`` must be written to."""
    p = get_profile(profile)
    if p.control["kind"] == "movella_dot" and command.action == "configure":
        assert p.config_char_uuid is not None
        return p.config_char_uuid
    return p.control_char_uuid


def encode_control(profile: str | Profile, command: ControlCommand) -> bytes:
    """Bytes for one control write. Raises ``ControlError`` for what the sensor cannot do."""
    p = get_profile(profile)
    kind = p.control["kind"]
    if command.rate_hz is not None and float(command.rate_hz) not in p.rates_hz:
        raise ControlError(f"{p.name}: output rate {command.rate_hz:g} Hz not supported; choose one of {p.rates_hz}")
    if kind == "rehab_v1":
        op = int(p.control["opcodes"][command.action])
        return bytes(
            [
                op,
                _code(p, "rate", command.rate_hz, p.default_rate_hz),
                _code(p, "accel_range", command.accel_range_g, p.default_accel_range_g),
                _code(p, "gyro_range", command.gyro_range_dps, p.default_gyro_range_dps),
            ]
        )
    _fixed_ranges(p, command)
    if kind == "movella_dot":
        mode = int(p.control["payload_mode"])
        if command.action in ("start", "stop"):
            if command.rate_hz is not None:
                raise ControlError(f"{p.name}: set the output rate with a separate 'configure' command before 'start'")
            return bytes([1, 1 if command.action == "start" else 0, mode])
        dc = p.control["device_control"]
        buf = bytearray(int(dc["size"]))
        buf[0] = int(dc["visit_index_output_rate"])
        rate = p.default_rate_hz if command.rate_hz is None else float(command.rate_hz)
        struct.pack_into("<H", buf, int(dc["output_rate_offset"]), int(rate))
        return bytes(buf)
    if kind == "witmotion":
        if command.action != "configure":
            raise ControlError(f"{p.name}: the sensor streams whenever it is connected; it has no {command.action!r} command")
        rate = p.default_rate_hz if command.rate_hz is None else float(command.rate_hz)
        code = int(p.control["rate_codes"][str(int(rate))])
        return bytes([0xFF, 0xAA, 0x03, code, 0x00])
    raise ControlError(f"{p.name}: unknown control kind {kind!r}")


def decode_control(profile: str | Profile, data: bytes | bytearray) -> ControlCommand:
    """Parse control bytes (a write, or a read-back of the current state) into a ``ControlCommand``."""
    p = get_profile(profile)
    kind = p.control["kind"]
    b = bytes(data)
    if kind == "rehab_v1":
        if len(b) != int(p.control["size"]):
            raise ControlError(f"{p.name}: control value is {len(b)} bytes, expected {p.control['size']} (byte offset 0)")
        actions = {int(v): k for k, v in p.control["opcodes"].items()}
        if b[0] not in actions:
            raise ControlError(f"{p.name}: control byte offset 0: unknown opcode {b[0]}; valid {actions}")
        vals = []
        for off, name in ((1, "rate"), (2, "accel_range"), (3, "gyro_range")):
            f = p.header_field(name)
            assert f.codes is not None
            if b[off] not in f.codes:
                raise ControlError(f"{p.name}: control byte offset {off}: invalid {name} code {b[off]}; valid {dict(f.codes)}")
            vals.append(f.codes[b[off]])
        return ControlCommand(actions[b[0]], vals[0], vals[1], vals[2])
    if kind == "movella_dot":
        dc = p.control["device_control"]
        if len(b) == 3:
            if b[0] != 1 or b[1] not in (0, 1):
                raise ControlError(f"{p.name}: control bytes {b.hex()}: expected type 1 and action 0/1 (byte offsets 0, 1)")
            return ControlCommand("start" if b[1] == 1 else "stop")
        if len(b) == int(dc["size"]):
            (rate,) = struct.unpack_from("<H", b, int(dc["output_rate_offset"]))
            return ControlCommand("configure", rate_hz=float(rate))
        raise ControlError(f"{p.name}: control value is {len(b)} bytes, expected 3 (control) or {dc['size']} (device control)")
    if kind == "witmotion":
        if len(b) != 5 or b[:2] != b"\xff\xaa":
            raise ControlError(f"{p.name}: command {b.hex()} is not 'FF AA reg lo hi' (byte offset 0)")
        if b[2] != 0x03:
            raise ControlError(f"{p.name}: byte offset 2: register 0x{b[2]:02x} is not RATE (0x03)")
        rates = {int(v): float(k) for k, v in p.control["rate_codes"].items()}
        if b[3] not in rates:
            raise ControlError(f"{p.name}: byte offset 3: rate code 0x{b[3]:02x} outside the supported {rates}")
        return ControlCommand("configure", rate_hz=rates[b[3]])
    raise ControlError(f"{p.name}: unknown control kind {kind!r}")
