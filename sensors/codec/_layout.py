"""Compile a ``Profile``'s spec into ready-to-use numpy dtypes, struct formats and scale tables.

Done once per profile at import; both the decoder and the encoder use these objects, so the JSON
spec is the only place a layout or a scale factor is written down.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sensors.profiles import PROFILES, STRUCT_CODES, FieldSpec, Profile
from tracker.conventions import GRAVITY_M_S2

_NP_TYPES = {"u8": "<u1", "u16": "<u2", "u32": "<u4", "i16": "<i2", "f32": "<f4"}
#: Multiply a value in the spec's unit by this to get SI (m/s², rad/s, degrees stay degrees).
_UNIT_TO_SI = {"g": GRAVITY_M_S2, "m/s^2": 1.0, "dps": math.pi / 180.0, "deg": 1.0}


@dataclass(frozen=True, slots=True)
class Layout:
    """Everything the codec needs about one profile, precompiled."""

    profile: Profile
    header_struct: struct.Struct  # distinct header words, in offset order
    header_words: tuple[tuple[int, str], ...]  # (offset, type) of each struct item
    sample_dtype: np.dtype  # structured dtype of one sample (itemsize = sample_size)
    quantity_fields: Mapping[str, tuple[FieldSpec, ...]]  # acc/gyr/angle -> 3 axis fields
    int_quantities: frozenset[str]  # quantities stored as integers (clip detection)
    #: For "constant" scales: raw -> SI factor. For "full_scale": SI factor per range code.
    const_factor: Mapping[str, float]
    code_factor: Mapping[str, Mapping[int, float]]
    range_field: Mapping[str, str]  # quantity -> header field holding its range code
    # Lookup tables indexed by a (masked) header code: vectorised checks without Python loops.
    code_valid: Mapping[str, np.ndarray]  # field -> bool[max_code + 1]
    code_value_table: Mapping[str, np.ndarray]  # field -> float[max_code + 1], nan if invalid
    code_factor_table: Mapping[str, np.ndarray]  # quantity -> SI factor per range code, 0 if invalid
    period_table_us: np.ndarray  # rate code -> sample period µs (0 if invalid / no rate field)
    int_bounds: Mapping[str, tuple[int, int]]  # integer quantity -> (min, max) raw value
    quantity_view: Mapping[str, tuple[int, np.dtype]]  # quantity -> (byte offset in sample, axis dtype)

    @property
    def name(self) -> str:
        return self.profile.name

    def word_dtype(self, ftype: str) -> np.dtype:
        return np.dtype(_NP_TYPES[ftype])


def _compile(p: Profile) -> Layout:
    words = sorted({(f.offset, f.type) for f in p.header_fields})
    fmt = "<"
    pos = 0
    for off, typ in words:
        if off < pos:
            raise ValueError(f"{p.name}: overlapping header words at offset {off}")
        fmt += "x" * (off - pos) + STRUCT_CODES[typ]
        pos = off + struct.calcsize("<" + STRUCT_CODES[typ])
    fmt += "x" * (p.header_size - pos)
    dtype = np.dtype(
        {
            "names": [f.name for f in p.sample_fields],
            "formats": [_NP_TYPES[f.type] for f in p.sample_fields],
            "offsets": [f.offset for f in p.sample_fields],
            "itemsize": p.sample_size,
        }
    )
    quantities: dict[str, tuple[FieldSpec, ...]] = {}
    for q in dict.fromkeys(f.quantity for f in p.sample_fields):
        axes = sorted((f for f in p.sample_fields if f.quantity == q), key=lambda f: f.axis or 0)
        quantities[str(q)] = tuple(axes)
    const_factor: dict[str, float] = {}
    code_factor: dict[str, dict[int, float]] = {}
    range_field: dict[str, str] = {}
    for q, scale in p.scales.items():
        unit_si = _UNIT_TO_SI[scale["unit"]]
        if scale["kind"] == "constant":
            const_factor[q] = float(scale["factor"]) * unit_si
        elif scale["kind"] == "full_scale":
            rf = p.header_field(scale["range_field"])
            assert rf.codes is not None, f"{p.name}: range field {rf.name} has no codes"
            divisor = float(scale["divisor"])
            code_factor[q] = {code: rng / divisor * unit_si for code, rng in rf.codes.items()}
            range_field[q] = rf.name
        else:
            raise ValueError(f"{p.name}: unknown scale kind {scale['kind']!r}")
    code_valid: dict[str, np.ndarray] = {}
    code_value: dict[str, np.ndarray] = {}
    for f in p.header_fields:
        if f.codes is None:
            continue
        size = (f.mask >> f.shift) + 1 if f.mask is not None else 1 << (8 * f.size)
        valid = np.zeros(size, bool)
        values = np.full(size, np.nan)
        for code, v in f.codes.items():
            valid[code] = True
            values[code] = v
        code_valid[f.name] = valid
        code_value[f.name] = values
    factor_table = {
        q: np.nan_to_num(code_value[range_field[q]] * 0.0)
        + np.array([table.get(c, 0.0) for c in range(len(code_value[range_field[q]]))])
        for q, table in code_factor.items()
    }
    period = np.zeros(1, np.int64)
    if "rate" in code_value:
        hz = code_value["rate"]
        period = np.where(np.isnan(hz), 0, np.rint(1e6 / np.where(np.isnan(hz), 1.0, hz))).astype(np.int64)
    int_bounds = {
        q: (int(np.iinfo(_NP_TYPES[fs[0].type]).min), int(np.iinfo(_NP_TYPES[fs[0].type]).max))
        for q, fs in quantities.items()
        if fs[0].type != "f32"
    }
    quantity_view: dict[str, tuple[int, np.dtype]] = {}
    for q, fs in quantities.items():
        dt = np.dtype(_NP_TYPES[fs[0].type])
        if len(fs) != 3 or any(f.type != fs[0].type or f.offset != fs[0].offset + i * dt.itemsize for i, f in enumerate(fs)):
            raise ValueError(f"{p.name}: quantity {q!r} must be three adjacent {fs[0].type} axes x, y, z")
        quantity_view[q] = (fs[0].offset, dt)
    return Layout(
        profile=p,
        header_struct=struct.Struct(fmt),
        header_words=tuple(words),
        sample_dtype=dtype,
        quantity_fields=quantities,
        int_quantities=frozenset(q for q, fs in quantities.items() if fs[0].type != "f32"),
        const_factor=const_factor,
        code_factor=code_factor,
        range_field=range_field,
        code_valid=code_valid,
        code_value_table=code_value,
        code_factor_table=factor_table,
        period_table_us=period,
        int_bounds=int_bounds,
        quantity_view=quantity_view,
    )


#: Compiled layouts for every profile, built at import.
LAYOUTS: Mapping[str, Layout] = {name: _compile(p) for name, p in PROFILES.items()}


def layout_for(profile: str | Profile) -> Layout:
    from sensors.profiles import get_profile

    p = get_profile(profile)
    lay = LAYOUTS.get(p.name)
    if lay is None or lay.profile is not p:
        lay = _compile(p)
    return lay
