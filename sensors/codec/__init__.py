"""Sensor bytes ↔ typed samples, driven by firmware_specs/*.json (one algorithm, two entry points).

- ``decode_packet(profile, data)`` — live per-notification path → ``DecodedPacket``
- ``decode_packets(profile, packets)`` — vectorised numpy path → ``ImuBatch`` (same algorithm)
- ``encode_packet(...)`` / ``samples_per_packet(profile, mtu)`` — for virtual sensors and tests
- ``encode_control`` / ``decode_control`` / ``control_target_uuid`` with ``ControlCommand``
- ``safe_decode`` and ``StreamChecker`` — never raise into the radio loop; count every anomaly
"""

from __future__ import annotations

from sensors.codec._checker import (
    CheckedPacket,
    StreamChecker,
    StreamStats,
    safe_decode,
)
from sensors.codec._control import (
    ControlCommand,
    control_target_uuid,
    decode_control,
    encode_control,
)
from sensors.codec._decode import (
    DecodedPacket,
    DecodeResult,
    decode_many,
    decode_packet,
    decode_packets,
)
from sensors.codec._encode import encode_packet
from sensors.profiles import Profile, get_profile


def samples_per_packet(profile: str | Profile, mtu: int = 23) -> int:
    """Samples per notification at this ATT MTU (0 if the MTU is too small for one packet)."""
    return get_profile(profile).samples_per_packet(mtu)


__all__ = [
    "CheckedPacket",
    "ControlCommand",
    "DecodeResult",
    "DecodedPacket",
    "StreamChecker",
    "StreamStats",
    "control_target_uuid",
    "decode_control",
    "decode_many",
    "decode_packet",
    "decode_packets",
    "encode_control",
    "encode_packet",
    "safe_decode",
    "samples_per_packet",
]
