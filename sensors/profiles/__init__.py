"""Sensor profiles, loaded from the JSON files shipped in this package — the one source of truth.

UUIDs, packet layouts, scale factors and control formats live in the JSON files next to the human
documents for firmware engineers; this module only reads them into frozen ``Profile`` objects. The
codec (sensors/codec) compiles the layouts into ``struct.Struct`` / numpy dtypes at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from sensors.errors import SpecError

#: Where the machine-readable specs live: package data next to this module (firmware_specs/*.json
#: at the repository root are symbolic links to these files, beside the documents for firmware engineers).
SPEC_DIR: Final = Path(__file__).resolve().parent
#: Order in which profiles are listed (CLI, docs).
PROFILE_NAMES: Final = ("rehab_imu_v1", "movella_dot", "witmotion_wt901ble")

FieldType = Literal["u8", "u16", "u32", "i16", "f32"]
#: struct format character per spec type (all little-endian, see each spec's ``byte_order``).
STRUCT_CODES: Final = MappingProxyType({"u8": "B", "u16": "H", "u32": "I", "i16": "h", "f32": "f"})
TYPE_SIZES: Final = MappingProxyType({"u8": 1, "u16": 2, "u32": 4, "i16": 2, "f32": 4})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a header or a sample, as the spec file states it."""

    name: str
    offset: int
    type: FieldType
    source: str = ""
    description: str = ""
    mask: int | None = None
    shift: int = 0
    const: int | None = None
    min: int | None = None
    max: int | None = None
    codes: Mapping[int, float] | None = field(default=None, compare=False)
    quantity: str | None = None  # acc / gyr / angle for sample fields
    axis: int | None = None

    @property
    def size(self) -> int:
        return TYPE_SIZES[self.type]


@dataclass(frozen=True, slots=True)
class Profile:
    """A supported sensor: GATT identity, rates, ranges and the packet layout."""

    name: str
    title: str
    service_uuid: str
    data_char_uuid: str
    control_char_uuid: str
    config_char_uuid: str | None
    name_prefix: str
    battery_service_uuid: str | None
    battery_level_char_uuid: str | None
    device_info_service_uuid: str | None
    device_info_char_uuids: Mapping[str, str] = field(compare=False)
    rates_hz: tuple[float, ...] = ()
    default_rate_hz: float = 100.0
    accel_ranges_g: tuple[float, ...] = ()
    gyro_ranges_dps: tuple[float, ...] = ()
    default_accel_range_g: float = 16.0
    default_gyro_range_dps: float = 2000.0
    seq_bits: int | None = None  # None: packets carry no sequence number
    seq_field: str | None = None
    clock_field: str | None = None  # header field with the sensor µs clock (None: host clock)
    clock_kind: Literal["sensor", "host"] = "sensor"
    clock_bits: int = 32
    att_overhead_bytes: int = 3
    header_size: int = 0
    header_fields: tuple[FieldSpec, ...] = ()
    sample_size: int = 0
    sample_fields: tuple[FieldSpec, ...] = ()
    count_field: str | None = None  # header field holding the sample count, if any
    max_samples: int = 1
    trailing: Mapping[str, Any] | None = field(default=None, compare=False)
    scales: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    limits: Mapping[str, float] = field(default_factory=dict, compare=False)
    control: Mapping[str, Any] = field(default_factory=dict, compare=False)
    spec_path: Path | None = None
    document: str = ""

    @property
    def has_sequence(self) -> bool:
        return self.seq_bits is not None

    @property
    def has_sensor_clock(self) -> bool:
        return self.clock_kind == "sensor"

    @property
    def min_packet_size(self) -> int:
        return self.header_size + self.sample_size

    @property
    def max_packet_size(self) -> int:
        total = self.header_size + self.sample_size * self.max_samples
        if self.trailing:
            total = max(total, int(self.trailing["max_total"]))
        return total

    def samples_per_packet(self, mtu: int = 23) -> int:
        """Samples one notification carries at this ATT MTU (payload = MTU − 3 bytes).

        0 means the MTU is too small for even one packet (Movella DOT needs MTU ≥ 31); the
        central must negotiate a larger MTU first (see ``min_mtu``).
        """
        payload = mtu - self.att_overhead_bytes
        if payload < self.min_packet_size:
            return 0
        if self.count_field is None:
            return 1
        return min(self.max_samples, (payload - self.header_size) // self.sample_size)

    @property
    def min_mtu(self) -> int:
        """Smallest ATT MTU that carries one packet."""
        return self.min_packet_size + self.att_overhead_bytes

    def header_field(self, name: str) -> FieldSpec:
        for f in self.header_fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}: no header field {name!r}")


def _field(raw: Mapping[str, Any], where: str) -> FieldSpec:
    try:
        codes = raw.get("codes")
        return FieldSpec(
            name=raw["name"],
            offset=int(raw["offset"]),
            type=raw["type"],
            source=raw.get("source", ""),
            description=raw.get("description", ""),
            mask=raw.get("mask"),
            shift=int(raw.get("shift", 0)),
            const=raw.get("const"),
            min=raw.get("min"),
            max=raw.get("max"),
            codes=MappingProxyType({int(k): float(v) for k, v in codes.items()}) if codes else None,
            quantity=raw.get("quantity"),
            axis=raw.get("axis"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"{where}: bad field {raw!r}: {exc}") from exc


def load_profile(path: Path) -> Profile:
    """Read one spec file into a ``Profile`` (validating the layout is self-consistent)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: cannot read spec: {exc}") from exc
    where = str(path)
    try:
        gatt = raw["gatt"]
        pkt = raw["packet"]
        samples = pkt["samples"]
        header = tuple(_field(f, where) for f in pkt["header"])
        sample_fields = tuple(_field(f, where) for f in pkt["sample_fields"])
        profile = Profile(
            name=raw["name"],
            title=raw["title"],
            service_uuid=gatt["service_uuid"].lower(),
            data_char_uuid=gatt["data_char_uuid"].lower(),
            control_char_uuid=gatt["control_char_uuid"].lower(),
            config_char_uuid=(gatt.get("config_char_uuid") or None),
            name_prefix=raw["advertising"]["name_prefix"],
            battery_service_uuid=gatt.get("battery_service_uuid"),
            battery_level_char_uuid=gatt.get("battery_level_char_uuid"),
            device_info_service_uuid=gatt.get("device_info_service_uuid"),
            device_info_char_uuids=MappingProxyType(dict(gatt.get("device_info_char_uuids") or {})),
            rates_hz=tuple(float(r) for r in raw["rates_hz"]),
            default_rate_hz=float(raw["default_rate_hz"]),
            accel_ranges_g=tuple(float(r) for r in raw["accel_ranges_g"]),
            gyro_ranges_dps=tuple(float(r) for r in raw["gyro_ranges_dps"]),
            default_accel_range_g=float(raw["default_accel_range_g"]),
            default_gyro_range_dps=float(raw["default_gyro_range_dps"]),
            seq_bits=(raw["sequence"] or {}).get("bits"),
            seq_field=(raw["sequence"] or {}).get("field"),
            clock_field=raw["clock"].get("field"),
            clock_kind=raw["clock"]["kind"],
            clock_bits=int(raw["clock"]["bits"]),
            att_overhead_bytes=int(pkt.get("att_overhead_bytes", 3)),
            header_size=int(pkt["header_size"]),
            header_fields=header,
            sample_size=int(pkt["sample_size"]),
            sample_fields=sample_fields,
            count_field=samples.get("count_field"),
            max_samples=int(samples["max"]),
            trailing=MappingProxyType(dict(pkt["trailing"])) if pkt.get("trailing") else None,
            scales=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in raw["scales"].items()}),
            limits=MappingProxyType({k: float(v) for k, v in raw["limits"].items()}),
            control=MappingProxyType(dict(raw["control"])),
            spec_path=path,
            document=raw.get("document", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"{where}: missing or invalid key: {exc}") from exc
    _check_layout(profile)
    return profile


def _check_layout(p: Profile) -> None:
    for f in p.header_fields:
        if f.offset + f.size > p.header_size:
            raise SpecError(f"{p.spec_path}: header field {f.name!r} runs past header_size {p.header_size}")
    covered = 0
    for f in p.sample_fields:
        if f.offset + f.size > p.sample_size:
            raise SpecError(f"{p.spec_path}: sample field {f.name!r} runs past sample_size {p.sample_size}")
        covered += f.size
    if covered != p.sample_size:
        raise SpecError(f"{p.spec_path}: sample fields cover {covered} bytes, sample_size is {p.sample_size}")
    for q in {f.quantity for f in p.sample_fields}:
        if q not in p.scales:
            raise SpecError(f"{p.spec_path}: no scale for quantity {q!r}")
    if p.count_field is not None:
        p.header_field(p.count_field)
    names = {f.name for f in p.header_fields}
    for what, fname in (("sequence", p.seq_field), ("clock", p.clock_field)):
        if fname is not None and fname not in names:
            raise SpecError(f"{p.spec_path}: {what} field {fname!r} is not a header field")
    if p.has_sensor_clock and p.clock_field is None:
        raise SpecError(f"{p.spec_path}: clock kind 'sensor' needs clock.field")
    if p.default_rate_hz not in p.rates_hz:
        raise SpecError(f"{p.spec_path}: default_rate_hz {p.default_rate_hz} not in rates_hz {p.rates_hz}")


def _load_all() -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for name in PROFILE_NAMES:
        path = SPEC_DIR / f"{name}.json"
        profile = load_profile(path)
        if profile.name != name:
            raise SpecError(f"{path}: file declares name {profile.name!r}, expected {name!r}")
        profiles[name] = profile
    return profiles


#: Every supported profile by name.
PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(_load_all())


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (a ``Profile`` passes through); the error lists valid names."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown sensor profile {name!r}; valid profiles: {', '.join(PROFILES)}") from None


def profile_for_service_uuid(uuid: str) -> Profile | None:
    """The profile whose primary service is ``uuid`` (any case, 16-bit short form accepted)."""
    u = uuid.strip().lower()
    if len(u) == 4:
        u = f"0000{u}-0000-1000-8000-00805f9b34fb"
    for p in PROFILES.values():
        if p.service_uuid == u:
            return p
    return None
