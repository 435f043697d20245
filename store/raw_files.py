"""One Parquet directory per session: ``raw.parquet`` (samples) and ``angles.parquet`` (time series).

Raw samples are long-format rows ``t, sensor, ax, ay, az, gx, gy, gz[, mx, my, mz][, qw, qx, qy, qz]``
in the units of tracker.raw (s, m/s², rad/s, µT, unit quaternion) — the columns of the raw-session
CSV. Each numeric column is stored as int64 on a fixed decimal grid (``GRID_DECIMALS``: 1e-6 for
time, acceleration, angular rate and quaternions, 1e-4 µT for the magnetometer), delta-encoded and
zstd-compressed. The grid is far below any MEMS sensor's resolution, so quantisation is physically
lossless; values that already sit on the grid (e.g. read from a raw-session CSV written with at least
that many decimals) come back bit-for-bit. Gaps and the format version go in the file metadata.

Publishing is atomic: files are written and fsynced in ``sessions/.tmp-<key>/`` and the directory is
renamed to ``sessions/<key>/`` in one ``os.replace``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from store.config import ensure_private_dir
from store.errors import RawFileError
from tracker.conventions import SENSOR_NAMES, check_sensor
from tracker.raw import Gap, RawSession, SensorStream

RAW_FORMAT = "rehab.raw/1"
ANGLES_FORMAT = "rehab.angles/1"
METADATA_KEY = b"rehab"
RAW_FILE_NAME = "raw.parquet"
ANGLES_FILE_NAME = "angles.parquet"
SESSIONS_DIR_NAME = "sessions"
STAGING_PREFIX = ".tmp-"
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


def _write_table(table: pa.Table, path: Path, **options: object) -> None:
    with open(path, "wb") as f:
        pq.write_table(table, f, compression="zstd", compression_level=ZSTD_LEVEL, **options)
        f.flush()
        os.fsync(f.fileno())


def write_raw(raw: RawSession, path: Path) -> None:
    table = raw_to_table(raw)
    numeric = [c for c in table.column_names if c != "sensor"]
    _write_table(
        table,
        path,
        use_dictionary=["sensor"],
        column_encoding=dict.fromkeys(numeric, "DELTA_BINARY_PACKED"),
    )


def read_raw(path: Path) -> RawSession:
    try:
        table = pq.read_table(path)
    except FileNotFoundError as exc:
        raise RawFileError(path, "file missing") from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise RawFileError(path, f"unreadable Parquet ({exc})") from exc
    return table_to_raw(table, path)


def write_angles(angles: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(angles.reset_index(drop=True), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps({"format": ANGLES_FORMAT}).encode()
    table = table.replace_schema_metadata(meta)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    texts = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
    # Dictionary encoding of unique floats is pure overhead (3× slower, 50 % larger); split bytes instead.
    _write_table(table, path, use_dictionary=texts or False, use_byte_stream_split=floats or False)


def read_angles(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except FileNotFoundError as exc:
        raise RawFileError(path, "file missing") from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise RawFileError(path, f"unreadable Parquet ({exc})") from exc
    return table.to_pandas().reset_index(drop=True)


class SessionFiles:
    """The ``sessions/`` folder of a data directory: staging, atomic publish, orphan clean-up."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.root = ensure_private_dir(data_dir / SESSIONS_DIR_NAME)

    def staging_dir(self, key: str) -> Path:
        return self.root / f"{STAGING_PREFIX}{key}"

    def final_dir(self, key: str) -> Path:
        return self.root / key

    def relative(self, key: str, file_name: str) -> str:
        """Path stored in the database: relative to the data directory, always with '/'."""
        return f"{SESSIONS_DIR_NAME}/{key}/{file_name}"

    def absolute(self, relative_path: str) -> Path:
        return self.data_dir / relative_path

    @staticmethod
    def key_of(relative_path: str) -> str:
        parts = relative_path.split("/")
        if len(parts) != 3 or parts[0] != SESSIONS_DIR_NAME:
            raise RawFileError(relative_path, "not a sessions/<key>/<file> path")
        return parts[1]

    def stage(self, key: str) -> Path:
        path = self.staging_dir(key)
        path.mkdir(mode=0o700)
        return path

    def link_into(self, key: str, relative_path: str, file_name: str) -> Path:
        """Put an already published file into staging directory ``key`` (a hard link: same bytes,
        no copy; a copy where the file system has no hard links), fsynced like a written file."""
        source = self.absolute(relative_path)
        if not source.is_file():
            raise RawFileError(source, "file missing")
        target = self.staging_dir(key) / file_name
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
            fd = os.open(target, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(self.staging_dir(key))
        return target

    def publish(self, key: str) -> Path:
        final = self.final_dir(key)
        os.replace(self.staging_dir(key), final)
        _fsync_dir(self.root)
        return final

    def discard(self, key: str) -> None:
        for path in (self.staging_dir(key), self.final_dir(key)):
            shutil.rmtree(path, ignore_errors=True)

    def orphans(self, known_keys: Iterable[str], *, older_than_s: float) -> list[Path]:
        """Staging dirs, and published dirs no database row points at, untouched for ``older_than_s``.

        The age guard protects another process's write in flight (staged but not yet committed)."""
        known = set(known_keys)
        cutoff = time.time() - older_than_s
        found = []
        for entry in self.root.iterdir():
            if not entry.is_dir():
                continue
            staged = entry.name.startswith(STAGING_PREFIX)
            if (staged or entry.name not in known) and entry.stat().st_mtime <= cutoff:
                found.append(entry)
        return sorted(found)

    def remove(self, paths: Iterable[Path]) -> None:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
