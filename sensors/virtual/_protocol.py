"""The firmware side of a profile, built only on the shared codec (sensors/codec): current
settings, the control characteristic's behaviour, packet encoding, and fault corruption."""

from __future__ import annotations

import dataclasses
from typing import Final, Literal

import numpy as np
from bumble import gatt

from sensors import codec
from sensors.profiles import Profile

Action = Literal["start", "stop", "configure", "none"]
CORRUPTIONS: Final = ("truncate", "bad_header", "pad")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """What the firmware is configured to do (applied by control writes)."""

    rate_hz: float
    accel_range_g: float
    gyro_range_dps: float


def default_settings(profile: Profile) -> Settings:
    return Settings(profile.default_rate_hz, profile.default_accel_range_g, profile.default_gyro_range_dps)


def control_properties(profile: Profile) -> tuple[gatt.Characteristic.Properties, gatt.Attribute.Permissions]:
    """GATT properties/permissions of the control characteristic, from the spec's list."""
    names = profile.control.get("char_properties") or _spec_control_props(profile)
    props = gatt.Characteristic.Properties(0)
    perms = gatt.Attribute.Permissions(0)
    for name in names:
        if name == "read":
            props |= gatt.Characteristic.Properties.READ
            perms |= gatt.Attribute.Permissions.READABLE
        elif name == "write":
            props |= gatt.Characteristic.Properties.WRITE
            perms |= gatt.Attribute.Permissions.WRITEABLE
        elif name == "write-without-response":
            props |= gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE
            perms |= gatt.Attribute.Permissions.WRITEABLE
        elif name == "notify":
            props |= gatt.Characteristic.Properties.NOTIFY
    return props, perms


def _spec_control_props(profile: Profile) -> list[str]:
    import json

    if profile.spec_path is None:
        return ["read", "write"]
    raw = json.loads(profile.spec_path.read_text())
    return list(raw.get("gatt", {}).get("control_char_properties", ["read", "write"]))


def encode(
    profile: Profile, settings: Settings, seq: int, t0_us: int, acc: np.ndarray, gyr: np.ndarray, *, mtu: int
) -> bytes:
    return codec.encode_packet(
        profile,
        seq,
        t0_us,
        (acc, gyr),
        mtu=mtu,
        accel_range_g=settings.accel_range_g,
        gyro_range_dps=settings.gyro_range_dps,
        rate_hz=settings.rate_hz,
    )


def check_corruption(kind: str) -> None:
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; expected one of {', '.join(CORRUPTIONS)}")


def corrupt(profile: Profile, data: bytes, kind: str, max_len: int) -> bytes:
    """A packet the spec forbids: cut short, a constant header field changed, or padded.

    MAX_LEN is the notification payload limit (ATT MTU − 3); padding that would not fit drops
    the last sample first, so the length still disagrees with the header's sample count."""
    check_corruption(kind)
    if kind == "truncate":
        return data[: max(1, len(data) - 5)]
    if kind == "pad":
        if len(data) + 3 > max_len:
            data = data[: max(1, len(data) - profile.sample_size)]
        return data + b"\xee" * 3
    for f in profile.header_fields:
        if f.const is not None and f.type == "u8":
            out = bytearray(data)
            mask = f.mask if f.mask is not None else 0xFF
            wrong = ((f.const + 1) << f.shift) & mask
            out[f.offset] = (out[f.offset] & ~mask & 0xFF) | wrong
            return bytes(out)
    return data[: max(1, len(data) - 1)]  # no constant field in this profile: break the length


def apply_control(profile: Profile, settings: Settings, value: bytes) -> tuple[Action, Settings]:
    """Decode a control (or config) write with the codec: what to do and the new settings.

    Raises ``ControlError`` for bytes the spec does not allow (the GATT layer answers with an
    ATT error, as firmware would)."""
    cmd = codec.decode_control(profile, value)
    new = Settings(
        rate_hz=float(cmd.rate_hz) if cmd.rate_hz is not None else settings.rate_hz,
        accel_range_g=float(cmd.accel_range_g) if cmd.accel_range_g is not None else settings.accel_range_g,
        gyro_range_dps=float(cmd.gyro_range_dps) if cmd.gyro_range_dps is not None else settings.gyro_range_dps,
    )
    return cmd.action, new


def has_start_command(profile: Profile) -> bool:
    """False for sensors that stream whenever a central subscribes (WitMotion)."""
    return "opcodes" in profile.control or profile.control.get("kind") == "movella_dot"


def _configure(settings: Settings) -> codec.ControlCommand:
    return codec.ControlCommand(
        "configure",
        rate_hz=settings.rate_hz,
        accel_range_g=settings.accel_range_g,
        gyro_range_dps=settings.gyro_range_dps,
    )


def control_status(profile: Profile, settings: Settings, streaming: bool) -> bytes:
    """What a read of the control characteristic returns, per the spec's ``control`` section.

    rehab_v1: the configure layout with byte 0 = 0 stopped / 1 streaming; Movella DOT: the
    3-byte start/stop form reflecting the current state."""
    kind = profile.control.get("kind")
    if kind == "rehab_v1":
        out = bytearray(codec.encode_control(profile, _configure(settings)))
        out[0] = 1 if streaming else 0
        return bytes(out)
    if kind == "movella_dot":
        return codec.encode_control(profile, codec.ControlCommand("start" if streaming else "stop"))
    return b""


def config_value(profile: Profile, settings: Settings) -> bytes:
    """Read-back of the configuration characteristic (Movella DOT device control)."""
    return codec.encode_control(profile, codec.ControlCommand("configure", rate_hz=settings.rate_hz))
