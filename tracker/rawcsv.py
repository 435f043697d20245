"""The raw-session CSV: the exchange format shared by recorder, simulator, importer, exporter and core.

Format (docs/raw-session-csv.md is the full statement): header ``t,sensor,ax,ay,az,gx,gy,gz``, optional
``mx,my,mz`` and ``qw,qx,qy,qz``, extra columns ignored; one row per sample per sensor, sensors may
interleave. ``t`` is seconds on the session clock, ``sensor`` is ``thigh`` or ``pelvis``, acceleration is
specific force in m/s², angular velocity rad/s, magnetic field µT.

Reading uses pandas' C parser and validates with vectorised checks; the offending line is located only
once something is known to be wrong, so a clean 30-minute file costs one parse. Line numbers in errors
are what an editor or spreadsheet shows: the header is line 1, the first sample line 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.conventions import SENSOR_NAMES, SensorName
from tracker.raw import Gap, RawSession, SensorStream

REQUIRED_COLUMNS: tuple[str, ...] = ("t", "sensor", "ax", "ay", "az", "gx", "gy", "gz")
ACC_COLUMNS: tuple[str, str, str] = ("ax", "ay", "az")
GYR_COLUMNS: tuple[str, str, str] = ("gx", "gy", "gz")
MAG_COLUMNS: tuple[str, str, str] = ("mx", "my", "mz")
QUAT_COLUMNS: tuple[str, str, str, str] = ("qw", "qx", "qy", "qz")
VALUE_COLUMNS: tuple[str, ...] = ("t",) + ACC_COLUMNS + GYR_COLUMNS

#: An inter-sample interval longer than this many median periods of that sensor is a gap.
GAP_FACTOR: float = 3.0

#: dtype of the ``sensor`` column in frames built here.
SENSOR_DTYPE = pd.CategoricalDtype(categories=list(SENSOR_NAMES), ordered=False)

_HEADER_LINE = 1
_FIRST_DATA_LINE = 2

#: Units of the value columns, for messages.
COLUMN_UNITS: dict[str, str] = {
    "t": "s", **dict.fromkeys(ACC_COLUMNS, "m/s²"), **dict.fromkeys(GYR_COLUMNS, "rad/s"),
    **dict.fromkeys(MAG_COLUMNS, "µT"), **dict.fromkeys(QUAT_COLUMNS, ""),
}  # fmt: skip
#: Physically possible values per column: (low, high), inclusive.
Limits = Mapping[str, tuple[float, float]]


class RawCsvError(ValueError):
    """A raw-session CSV (or frame) that breaks the format. ``line`` is 1-based; None = whole file."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


# --------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------


def read_raw_csv(path: str | os.PathLike[str], *, limits: Limits | None = None) -> RawSession:
    """Parse and validate a raw-session CSV; gaps (> 3 median periods) are listed, never filled.

    ``limits``: per column, the (low, high) range a value must lie in (e.g. the supported sensors'
    full scale); the first value outside is an error naming its line and column.
    """
    path = Path(path)
    source = path.name
    try:
        # only an empty cell is missing: 'nan', 'NA' or 'null' written in a cell is text, reported as such
        df = pd.read_csv(
            path, engine="c", skip_blank_lines=False, dtype={"sensor": str}, keep_default_na=False, na_values=[""]
        )
    except pd.errors.EmptyDataError:
        raise RawCsvError(source, _HEADER_LINE, "empty file: expected a header 't,sensor,ax,ay,az,gx,gy,gz'") from None
    except pd.errors.ParserError as exc:
        raise RawCsvError(source, _parser_error_line(str(exc)), f"malformed row: {exc}") from None
    except UnicodeDecodeError as exc:
        raise RawCsvError(source, None, f"not a text CSV file ({exc.reason})") from None
    if not isinstance(df.index, pd.RangeIndex):
        # every data line has more fields than the header: pandas would take the first as an index
        fields = len(df.columns) + df.index.nlevels
        raise RawCsvError(
            source,
            _FIRST_DATA_LINE,
            f"{fields} fields but the header names {len(df.columns)}: remove the extra field(s) "
            "or name them in the header",
        )
    return _validate_frame(df, source, limits)


def _parser_error_line(message: str) -> int | None:
    # pandas: "Error tokenizing data. C error: Expected 8 fields in line 5, saw 9" (1-based, header = 1)
    import re

    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def frame_to_raw(df: pd.DataFrame, source: str = "<frame>", *, limits: Limits | None = None) -> RawSession:
    """Validate a frame with the CSV's columns and build a RawSession.

    Line numbers in errors are those the frame would have as a CSV: row position + 2.
    """
    return _validate_frame(df.reset_index(drop=True), source, limits)


def _validate_frame(df: pd.DataFrame, source: str, limits: Limits | None = None) -> RawSession:
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise RawCsvError(
            source,
            _HEADER_LINE,
            f"missing column(s) {', '.join(missing)}; the header must contain {','.join(REQUIRED_COLUMNS)}",
        )
    # trailing blank lines (skip_blank_lines=False keeps line numbers honest) are tolerated
    if len(df):
        empty = df.isna().all(axis=1).to_numpy()
        if empty[-1]:
            last = 0 if empty.all() else len(df) - int(np.argmin(empty[::-1]))
            df = df.iloc[:last]
    if len(df) == 0:
        raise RawCsvError(source, _FIRST_DATA_LINE, "no samples after the header")
    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        raise RawCsvError(source, int(np.argmax(blank)) + _FIRST_DATA_LINE, "empty line inside the data")

    has_mag = all(c in df.columns for c in MAG_COLUMNS)
    has_quat = all(c in df.columns for c in QUAT_COLUMNS)
    numeric_cols = list(VALUE_COLUMNS) + (list(MAG_COLUMNS) if has_mag else []) + (list(QUAT_COLUMNS) if has_quat else [])
    values: dict[str, np.ndarray] = {}
    for col in numeric_cols:
        values[col] = _numeric_column(df[col], col, source, required=col in VALUE_COLUMNS)
        if limits is not None and col in limits:
            _check_range(values[col], col, limits[col], source)

    sensor_raw = df["sensor"]
    sensor_str = sensor_raw.astype("string").str.strip()
    known = sensor_str.isin(SENSOR_NAMES).to_numpy(dtype=bool, na_value=False)
    if not known.all():
        i = int(np.argmin(known))
        bad = sensor_raw.iloc[i]
        shown = "empty" if pd.isna(bad) or str(bad).strip() == "" else repr(str(bad))
        raise RawCsvError(source, i + _FIRST_DATA_LINE, f"unknown sensor {shown}; expected 'thigh' or 'pelvis'")
    sensor_codes = sensor_str.to_numpy(dtype=object)

    streams: dict[SensorName, SensorStream] = {}
    gaps: list[Gap] = []
    for name in SENSOR_NAMES:
        rows = np.flatnonzero(sensor_codes == name)
        if len(rows) == 0:
            raise RawCsvError(source, None, f"no samples for sensor {name!r}: both 'thigh' and 'pelvis' are required")
        t = values["t"][rows]
        dt = np.diff(t)
        bad_dt = dt <= 0
        if bad_dt.any():
            k = int(np.argmax(bad_dt))
            raise RawCsvError(
                source,
                int(rows[k + 1]) + _FIRST_DATA_LINE,
                f"time of sensor {name!r} does not increase: t={float(t[k + 1]):.9g} after t={float(t[k]):.9g} "
                f"(line {int(rows[k]) + _FIRST_DATA_LINE})",
            )
        mag = _optional_block(values, MAG_COLUMNS, rows, name, source) if has_mag else None
        quat = _optional_block(values, QUAT_COLUMNS, rows, name, source) if has_quat else None
        streams[name] = SensorStream(
            sensor=name,
            t_s=t.copy(),
            acc_m_s2=np.column_stack([values[c][rows] for c in ACC_COLUMNS]),
            gyr_rad_s=np.column_stack([values[c][rows] for c in GYR_COLUMNS]),
            mag_ut=mag,
            quat=quat,
        )
        gaps.extend(find_gaps(name, t))
    gaps.sort(key=lambda g: (g.start_s, g.sensor))
    return RawSession(thigh=streams["thigh"], pelvis=streams["pelvis"], gaps=tuple(gaps))


def _numeric_column(col: pd.Series, name: str, source: str, *, required: bool) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        arr = col.to_numpy(dtype=np.float64, na_value=np.nan)
        bad_text = np.zeros(len(arr), dtype=bool)
    else:
        arr = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad_text = np.isnan(arr) & col.notna().to_numpy() & (col.astype("string").str.strip() != "").to_numpy(
            dtype=bool, na_value=False
        )
    if bad_text.any():
        i = int(np.argmax(bad_text))
        text = str(col.iloc[i]).strip()
        try:
            is_number = not np.isfinite(float(text))  # 'nan', 'inf', '-Infinity' …
        except ValueError:
            is_number = False
        if is_number:
            raise RawCsvError(source, i + _FIRST_DATA_LINE, f"column {name!r} is {text}, not a finite number")
        raise RawCsvError(source, i + _FIRST_DATA_LINE, f"column {name!r}: {text!r} is not a number")
    invalid = ~np.isfinite(arr) if required else np.isinf(arr)
    if invalid.any():
        i = int(np.argmax(invalid))
        what = "is empty" if np.isnan(arr[i]) else f"is {arr[i]:g}, not a finite number"
        raise RawCsvError(source, i + _FIRST_DATA_LINE, f"column {name!r} {what}")
    return np.asarray(arr)


def _check_range(arr: np.ndarray, name: str, limit: tuple[float, float], source: str) -> None:
    low, high = limit
    outside = (arr < low) | (arr > high)  # NaN (an optional channel left empty) is never outside
    if outside.any():
        i = int(np.argmax(outside))
        unit = COLUMN_UNITS.get(name, "")
        raise RawCsvError(
            source,
            i + _FIRST_DATA_LINE,
            f"column {name!r} is {arr[i]:.6g}{' ' + unit if unit else ''}, outside the possible range "
            f"{low:g} … {high:g}{' ' + unit if unit else ''}",
        )


def _optional_block(
    values: dict[str, np.ndarray], cols: tuple[str, ...], rows: np.ndarray, sensor: str, source: str
) -> np.ndarray | None:
    block = np.column_stack([values[c][rows] for c in cols])
    nan = np.isnan(block)
    if nan.all():
        return None  # this sensor does not report these channels
    if nan.any():
        k = int(np.argmax(nan.any(axis=1)))
        raise RawCsvError(
            source,
            int(rows[k]) + _FIRST_DATA_LINE,
            f"sensor {sensor!r} reports {','.join(cols)} on some rows but this row leaves them empty",
        )
    return block


def find_gaps(sensor: SensorName, t_s: np.ndarray, factor: float = GAP_FACTOR) -> list[Gap]:
    """Spans where an inter-sample interval exceeds ``factor`` × the sensor's median period."""
    if len(t_s) < 3:
        return []
    dt = np.diff(t_s)
    limit = factor * float(np.median(dt))
    idx = np.flatnonzero(dt > limit)
    return [Gap(sensor=sensor, start_s=float(t_s[i]), end_s=float(t_s[i + 1])) for i in idx]


# --------------------------------------------------------------------------------------------------
# frames and writing
# --------------------------------------------------------------------------------------------------


def raw_to_frame(raw: RawSession) -> pd.DataFrame:
    """All samples as one frame sorted by ``t`` (ties: thigh first).

    dtypes: ``t`` float64, ``sensor`` categorical (thigh, pelvis), every value column float64.
    ``mx..mz`` / ``qw..qz`` appear when at least one sensor has them (NaN for the other).
    """
    parts = []
    has_mag = any(s.mag_ut is not None for s in raw.streams())
    has_quat = any(s.quat is not None for s in raw.streams())
    for order, s in enumerate(raw.streams()):
        n = len(s)
        cols: dict[str, np.ndarray] = {"t": np.asarray(s.t_s, dtype=np.float64)}
        acc = np.asarray(s.acc_m_s2, dtype=np.float64)
        gyr = np.asarray(s.gyr_rad_s, dtype=np.float64)
        for j, c in enumerate(ACC_COLUMNS):
            cols[c] = acc[:, j]
        for j, c in enumerate(GYR_COLUMNS):
            cols[c] = gyr[:, j]
        if has_mag:
            mag = np.full((n, 3), np.nan) if s.mag_ut is None else np.asarray(s.mag_ut, dtype=np.float64)
            for j, c in enumerate(MAG_COLUMNS):
                cols[c] = mag[:, j]
        if has_quat:
            q = np.full((n, 4), np.nan) if s.quat is None else np.asarray(s.quat, dtype=np.float64)
            for j, c in enumerate(QUAT_COLUMNS):
                cols[c] = q[:, j]
        part = pd.DataFrame(cols)
        part.insert(1, "sensor", pd.Categorical([s.sensor] * n, dtype=SENSOR_DTYPE))
        part["_order"] = order
        parts.append(part)
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["t", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return df


def write_raw_csv(raw: RawSession, path: str | os.PathLike[str]) -> Path:
    """Write the raw-session CSV (rows interleaved by time; floats round-trip exactly)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    df = raw_to_frame(raw)
    df["sensor"] = df["sensor"].astype(str)
    # pyarrow writes shortest round-trip floats ~10x faster than DataFrame.to_csv; NaN -> empty cell
    table = pa.Table.from_pandas(df, preserve_index=False)
    with open(path, "wb") as fh:
        fh.write((",".join(df.columns) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return path
