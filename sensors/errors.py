"""One exception tree for everything that comes off (or goes onto) a sensor.

``SensorError`` is the root; decoding problems are ``DecodeError`` subclasses whose message names the
profile, the field and the byte offset, so a log line alone says what was wrong and where.
Connection-related errors (scanning, connecting, GATT) are added beside ``DecodeError`` by the
transport layer; they subclass ``SensorError`` too.
"""

from __future__ import annotations


class SensorError(Exception):
    """Root of every sensor-side error (decode, control, connection)."""


class DecodeError(SensorError):
    """Bytes that do not form a valid packet of ``profile``.

    Attributes say where: ``field`` (spec field name), ``offset`` (byte offset in the packet),
    ``packet_hex`` (the packet, hex, truncated to 64 bytes), ``reason`` (what was wrong).
    """

    def __init__(
        self,
        profile: str,
        field: str,
        offset: int,
        reason: str,
        packet: bytes | bytearray | memoryview = b"",
        packet_index: int | None = None,
    ) -> None:
        self.profile = profile
        self.field = field
        self.offset = offset
        self.reason = reason
        raw = bytes(packet)
        self.packet_hex = raw[:64].hex() + ("…" if len(raw) > 64 else "")
        self.packet_length = len(raw)
        self.packet_index = packet_index
        where = f"packet {packet_index}, " if packet_index is not None else ""
        super().__init__(
            f"{profile}: {where}field {field!r} at byte offset {offset}: {reason} "
            f"(packet of {len(raw)} bytes: {self.packet_hex})"
        )

    def __reduce__(self):  # keep pickling (multiprocessing, logging handlers) working
        return (
            type(self),
            (self.profile, self.field, self.offset, self.reason, bytes.fromhex(self.packet_hex.rstrip("…")), self.packet_index),
        )


class PacketLengthError(DecodeError):
    """The packet length does not match the layout (truncated, padded, wrong sample count)."""


class HeaderError(DecodeError):
    """A header byte holds a value the spec forbids (magic byte, version, reserved bit, range code)."""


class ValueRangeError(DecodeError):
    """A decoded value is non-finite or outside the physically plausible range of the sensor."""


class ControlError(SensorError):
    """A control command the profile cannot express, or control bytes that do not parse."""


class SpecError(SensorError):
    """A firmware spec file (firmware_specs/*.json) is missing or inconsistent."""


class SensorConnectionError(SensorError, ConnectionError):
    """A BLE transport or link could not be opened (names the transport spec and the cause)."""
