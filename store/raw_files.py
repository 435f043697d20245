"""One Parquet directory per session: ``raw.parquet`` (samples) and ``angles.parquet`` (time series).

Raw samples are long-format rows ``t, sensor, ax, ay, az, gx, gy, gz[, mx, my, mz][, qw, qx, qy, qz]``
in the units of tracker.raw (s, m/s², rad/s, µT, unit quaternion) — the columns of the raw-session
CSV. Each numeric column is stored as int64 on a fixed decimal grid (``GRID_DECIMALS``: 1e-6 for
time, acceleration, angular rate and quaternions, 1e-4 µT for the magnetometer), delta-encoded and
zstd-compressed. The grid is far below any MEMS sensor's resolution, so quantisation is physically
lossless; values that already sit on the grid (e.g. read from a raw-session CSV written with at least
that many decimals) come back bit-for-bit. Gaps and the format version go in the file metadata.

Where the files live (a directory or object storage) and how a session's folder is published
atomically is store/files/.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from store.errors import RawFileError
from tracker.conventions import SENSOR_NAMES, check_sensor
from tracker.raw import Gap, RawSession, SensorStream

RAW_FORMAT = "rehab.raw/1"
ANGLES_FORMAT = "rehab.angles/1"
METADATA_KEY = b"rehab"
RAW_FILE_NAME = "raw.parquet"
ANGLES_FILE_NAME = "angles.parquet"
ZSTD_LEVEL = 1  # higher levels gain < 0.1 % on IMU noise and cost ~50 % more time

ACC_COLUMNS = ("ax", "ay", "az")
GYR_COLUMNS = ("gx", "gy", "gz")
MAG_COLUMNS = ("mx", "my", "mz")
QUAT_COLUMNS = ("qw", "qx", "qy", "qz")
GRID_DECIMALS: dict[str, int] = {
    "t": 6,
    **dict.fromkeys(ACC_COLUMNS, 6),
    **dict.fromkeys(GYR_COLUMNS, 6),
    **dict.fromkeys(MAG_COLUMNS, 4),
    **dict.fromkeys(QUAT_COLUMNS, 6),
}
_MAX_EXACT_INT = 2**53


def quantize(values: np.ndarray, decimals: int) -> np.ndarray:
    """Snap to the storage grid: the float64 values a read of the stored file gives back."""
    scale = 10.0**decimals
    return np.round(np.asarray(values, dtype=np.float64) * scale) / scale


def quantize_raw(raw: RawSession) -> RawSession:
    """The raw session exactly as the store will give it back (analyse this to match the file)."""

    def q(stream: SensorStream) -> SensorStream:
        return replace(
            stream,
            t_s=quantize(stream.t_s, GRID_DECIMALS["t"]),
            acc_m_s2=quantize(stream.acc_m_s2, GRID_DECIMALS["ax"]),
            gyr_rad_s=quantize(stream.gyr_rad_s, GRID_DECIMALS["gx"]),
            mag_ut=None if stream.mag_ut is None else quantize(stream.mag_ut, GRID_DECIMALS["mx"]),
            quat=None if stream.quat is None else quantize(stream.quat, GRID_DECIMALS["qw"]),
        )

    return RawSession(thigh=q(raw.thigh), pelvis=q(raw.pelvis), gaps=raw.gaps)


def _encode(values: np.ndarray, decimals: int, column: str) -> pa.Array:
    scaled = np.round(np.asarray(values, dtype=np.float64) * 10.0**decimals)
    finite = np.isfinite(scaled)
    if finite.any() and np.abs(scaled[finite]).max() >= _MAX_EXACT_INT:
        raise RawFileError(column, f"value too large for the {10.0**-decimals:g} storage grid")
    ints = np.where(finite, scaled, 0.0).astype(np.int64)
    return pa.array(ints, type=pa.int64(), mask=None if finite.all() else ~finite)


def _decode(column: pa.ChunkedArray, decimals: int) -> np.ndarray:
    arr = column.to_numpy()  # int64, or float64 with NaN where null
    return arr.astype(np.float64) / 10.0**decimals


def raw_to_table(raw: RawSession) -> pa.Table:
    streams = raw.streams()
    n = [len(s) for s in streams]
    total = sum(n)

    def stacked(attr: str, width: int) -> np.ndarray | None:
        if all(getattr(s, attr) is None for s in streams):
            return None
        parts = [
            getattr(s, attr) if getattr(s, attr) is not None else np.full((len(s), width), np.nan)
            for s in streams
        ]
        return np.concatenate(parts, axis=0) if total else np.empty((0, width))

    sensor_codes = np.repeat(np.arange(len(streams), dtype=np.int8), n)
    columns: dict[str, pa.Array] = {
        "t": _encode(np.concatenate([s.t_s for s in streams]), GRID_DECIMALS["t"], "t"),
        "sensor": pa.DictionaryArray.from_arrays(
            pa.array(sensor_codes, type=pa.int8()), pa.array([s.sensor for s in streams])
        ),
    }
    for attr, names, width in (
        ("acc_m_s2", ACC_COLUMNS, 3),
        ("gyr_rad_s", GYR_COLUMNS, 3),
        ("mag_ut", MAG_COLUMNS, 3),
        ("quat", QUAT_COLUMNS, 4),
    ):
        block = stacked(attr, width)
        if block is None:
            continue
        for i, name in enumerate(names):
            columns[name] = _encode(block[:, i], GRID_DECIMALS[name], name)
    meta = {
        "format": RAW_FORMAT,
        "decimals": {k: GRID_DECIMALS[k] for k in columns if k != "sensor"},
        "gaps": [
            {"sensor": g.sensor, "start_s": g.start_s, "end_s": g.end_s, "reason": g.reason} for g in raw.gaps
        ],
    }
    table = pa.table(columns)
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})


def table_to_raw(table: pa.Table, path: object = "<table>") -> RawSession:
    meta_raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if meta_raw is None:
        raise RawFileError(path, "no rehab metadata; not a raw-session Parquet file")
    meta = json.loads(meta_raw)
    if meta.get("format") != RAW_FORMAT:
        raise RawFileError(path, f"format {meta.get('format')!r}, expected {RAW_FORMAT!r}")
    decimals: dict[str, int] = meta["decimals"]
    sensors = table.column("sensor").to_numpy(zero_copy_only=False).astype(str)
    cols = {name: _decode(table.column(name), d) for name, d in decimals.items()}
    streams: dict[str, SensorStream] = {}
    for name in SENSOR_NAMES:
        sel = sensors == name
        t = cols["t"][sel]

        def block(names: tuple[str, ...], required: bool, sel: np.ndarray = sel, name: str = name) -> np.ndarray | None:
            if not all(c in cols for c in names):
                if required:
                    raise RawFileError(path, f"missing columns {', '.join(names)}")
                return None
            arr = np.column_stack([cols[c][sel] for c in names]) if sel.any() else np.empty((0, len(names)))
            if not required and len(arr) and np.isnan(arr).all():
                return None
            return arr

        acc = block(ACC_COLUMNS, True)
        gyr = block(GYR_COLUMNS, True)
        assert acc is not None and gyr is not None
        streams[name] = SensorStream(
            sensor=name,
            t_s=t,
            acc_m_s2=acc,
            gyr_rad_s=gyr,
            mag_ut=block(MAG_COLUMNS, False),
            quat=block(QUAT_COLUMNS, False),
        )
    gaps = tuple(
        Gap(sensor=check_sensor(g["sensor"]), start_s=float(g["start_s"]), end_s=float(g["end_s"]), reason=g["reason"])
        for g in meta.get("gaps", [])
    )
    return RawSession(thigh=streams["thigh"], pelvis=streams["pelvis"], gaps=gaps)


def _write_table(table: pa.Table, sink: Path | Any, **options: object) -> None:
    """Write to a path (fsynced) or into an open binary stream (the storage back end syncs it)."""
    if isinstance(sink, Path):
        with open(sink, "wb") as f:
            pq.write_table(table, f, compression="zstd", compression_level=ZSTD_LEVEL, **options)
            f.flush()
            os.fsync(f.fileno())
        return
    pq.write_table(table, sink, compression="zstd", compression_level=ZSTD_LEVEL, **options)


def _read_table(source: Path | Any, name: object) -> pa.Table:
    try:
        return pq.read_table(source)
    except FileNotFoundError as exc:
        raise RawFileError(name, "file missing") from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise RawFileError(name, f"unreadable Parquet ({exc})") from exc


def write_raw(raw: RawSession, sink: Path | Any) -> None:
    """``sink``: a path, or a writable binary stream (Python file or pyarrow NativeFile)."""
    table = raw_to_table(raw)
    numeric = [c for c in table.column_names if c != "sensor"]
    _write_table(
        table,
        sink,
        use_dictionary=["sensor"],
        column_encoding=dict.fromkeys(numeric, "DELTA_BINARY_PACKED"),
    )


def read_raw(source: Path | Any, name: object = None) -> RawSession:
    """``source``: a path, a readable stream or a pyarrow buffer; ``name`` names it in errors."""
    name = source if name is None else name
    return table_to_raw(_read_table(source, name), name)


def write_angles(angles: pd.DataFrame, sink: Path | Any) -> None:
    table = pa.Table.from_pandas(angles.reset_index(drop=True), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps({"format": ANGLES_FORMAT}).encode()
    table = table.replace_schema_metadata(meta)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    texts = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
    # Dictionary encoding of unique floats is pure overhead (3× slower, 50 % larger); split bytes instead.
    _write_table(table, sink, use_dictionary=texts or False, use_byte_stream_split=floats or False)


def read_angles(source: Path | Any, name: object = None) -> pd.DataFrame:
    name = source if name is None else name
    table = _read_table(source, name)
    meta_raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if meta_raw is not None and json.loads(meta_raw).get("format") != ANGLES_FORMAT:
        raise RawFileError(name, f"format {json.loads(meta_raw).get('format')!r}, expected {ANGLES_FORMAT!r}")
    return table.to_pandas().reset_index(drop=True)
