"""The raw-session CSV round-trips with documented dtypes; malformed files name the line and reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import SimulationConfig, simulate
from tracker.raw import RawSession, SensorStream
from tracker.rawcsv import (
    RawCsvError,
    find_gaps,
    frame_to_raw,
    raw_to_frame,
    read_raw_csv,
    write_raw_csv,
)

HEADER = "t,sensor,ax,ay,az,gx,gy,gz"


@pytest.fixture(scope="module")
def sim_raw() -> RawSession:
    return simulate(SimulationConfig(reps=2, seed=7, packet_loss=0.03, thigh_rate_hz=60.0, pelvis_rate_hz=100.0)).raw


def _assert_same(a: RawSession, b: RawSession) -> None:
    for sa, sb in zip(a.streams(), b.streams()):
        assert sa.sensor == sb.sensor
        assert np.array_equal(sa.t_s, sb.t_s)
        assert np.array_equal(sa.acc_m_s2, sb.acc_m_s2)
        assert np.array_equal(sa.gyr_rad_s, sb.gyr_rad_s)
        assert (sa.mag_ut is None) == (sb.mag_ut is None)
        if sa.mag_ut is not None:
            assert np.array_equal(sa.mag_ut, sb.mag_ut)
    assert a.gaps == b.gaps


def test_round_trip_through_file_and_pandas(tmp_path: Path, sim_raw: RawSession) -> None:
    path = write_raw_csv(sim_raw, tmp_path / "session.csv")
    assert path.read_text().splitlines()[0] == HEADER
    back = read_raw_csv(path)
    _assert_same(sim_raw, back)
    # plain pandas sees the documented dtypes
    df = pd.read_csv(path)
    assert list(df.columns) == HEADER.split(",")
    for c in ("t", "ax", "ay", "az", "gx", "gy", "gz"):
        assert df[c].dtype == np.float64
    assert set(df["sensor"]) == {"thigh", "pelvis"}
    assert len(df) == len(sim_raw.thigh) + len(sim_raw.pelvis)
    assert np.all(np.diff(df["t"].to_numpy()) >= 0)  # written interleaved by time


def test_frame_dtypes_and_frame_round_trip(sim_raw: RawSession) -> None:
    df = raw_to_frame(sim_raw)
    assert df["t"].dtype == np.float64
    assert isinstance(df["sensor"].dtype, pd.CategoricalDtype)
    assert list(df["sensor"].cat.categories) == ["thigh", "pelvis"]
    for c in ("ax", "ay", "az", "gx", "gy", "gz"):
        assert df[c].dtype == np.float64
    _assert_same(sim_raw, frame_to_raw(df))
    # a frame with str sensors (as pandas reads it) works as well
    df2 = df.assign(sensor=df["sensor"].astype(str))
    _assert_same(sim_raw, frame_to_raw(df2))


def test_magnetometer_and_quaternion_columns(tmp_path: Path) -> None:
    raw = simulate(SimulationConfig(reps=1, seed=2, with_magnetometer=True)).raw
    q = np.tile([1.0, 0.0, 0.0, 0.0], (len(raw.pelvis), 1))
    pelvis = SensorStream("pelvis", raw.pelvis.t_s, raw.pelvis.acc_m_s2, raw.pelvis.gyr_rad_s, raw.pelvis.mag_ut, q)
    raw = RawSession(thigh=raw.thigh, pelvis=pelvis, gaps=raw.gaps)
    path = write_raw_csv(raw, tmp_path / "m.csv")
    assert path.read_text().splitlines()[0] == HEADER + ",mx,my,mz,qw,qx,qy,qz"
    back = read_raw_csv(path)
    _assert_same(raw, back)
    assert back.thigh.quat is None  # thigh rows leave qw..qz empty
    assert np.array_equal(back.pelvis.quat, q)


def test_interleaving_is_free_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    text = "\n".join(
        [
            HEADER + ",temperature",
            "0.00,pelvis,0,9.8,0,0,0,0,31.5",
            "0.01,pelvis,0,9.8,0,0,0,0,31.5",
            "0.00,thigh,9.8,0,0,0,0,0,30.1",
            "0.02,pelvis,0,9.8,0,0,0,0,31.5",
            "0.005,thigh,9.8,0,0,0,0.1,0,30.1",
        ]
    )
    p = tmp_path / "i.csv"
    p.write_text(text + "\n")
    raw = read_raw_csv(p)
    assert np.array_equal(raw.thigh.t_s, [0.0, 0.005])
    assert np.array_equal(raw.pelvis.t_s, [0.0, 0.01, 0.02])
    assert raw.thigh.gyr_rad_s[1, 1] == 0.1


def _write(tmp_path: Path, lines: list[str], name: str = "bad.csv") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


GOOD = [
    HEADER,
    "0.00,thigh,9.8,0,0,0,0,0",
    "0.00,pelvis,9.8,0,0,0,0,0",
    "0.01,thigh,9.8,0,0,0,0,0",
    "0.01,pelvis,9.8,0,0,0,0,0",
    "0.02,thigh,9.8,0,0,0,0,0",
    "0.02,pelvis,9.8,0,0,0,0,0",
]


@pytest.mark.parametrize(
    "edit,line,reason",
    [
        (lambda L: ["t,sensor,ax,ay,az,gx,gy"] + [x.rsplit(",", 1)[0] for x in L[1:]], 1, "missing column(s) gz"),
        (lambda L: L[:4] + ["0.02,thigh,9.8,abc,0,0,0,0"] + L[5:], 5, "column 'ay': 'abc' is not a number"),
        (lambda L: L[:3] + ["0.01,knee,9.8,0,0,0,0,0"] + L[4:], 4, "unknown sensor 'knee'"),
        (lambda L: L[:5] + ["0.005,pelvis,9.8,0,0,0,0,0"] + L[6:], 6, "time of sensor 'pelvis' does not increase"),
        (lambda L: L[:6] + ["0.01,thigh,9.8,0,0,0,0,0"] + L[7:], 7, "time of sensor 'thigh' does not increase"),
        (lambda L: L[:2] + ["0.00,pelvis,9.8,,0,0,0,0"] + L[3:], 3, "column 'ay' is empty"),
        (lambda L: L[:2] + ["nan,pelvis,9.8,0,0,0,0,0"] + L[3:], 3, "column 't'"),
        (lambda L: L[:3] + ["0.01,thigh,9.8,0,0,0,0,0,7,8"] + L[4:], 4, "malformed row"),
        (lambda L: L[:3] + [""] + L[4:], 4, "empty line"),
        (lambda L: L[:3] + ["0.01,,9.8,0,0,0,0,0"] + L[4:], 4, "unknown sensor empty"),
    ],
)
def test_malformed_files_name_line_and_reason(tmp_path: Path, edit, line: int, reason: str) -> None:
    p = _write(tmp_path, edit(list(GOOD)))
    with pytest.raises(RawCsvError) as info:
        read_raw_csv(p)
    err = info.value
    assert err.line == line, str(err)
    assert reason in err.reason, str(err)
    assert "bad.csv" in str(err) and f"line {line}" in str(err)
    assert isinstance(err, ValueError)


def test_empty_header_only_and_missing_sensor(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(RawCsvError, match=r"empty\.csv, line 1: empty file"):
        read_raw_csv(empty)
    with pytest.raises(RawCsvError, match=r"line 2: no samples"):
        read_raw_csv(_write(tmp_path, [HEADER]))
    only_thigh = [GOOD[0]] + [x for x in GOOD[1:] if "thigh" in x]
    with pytest.raises(RawCsvError, match="no samples for sensor 'pelvis'") as info:
        read_raw_csv(_write(tmp_path, only_thigh))
    assert info.value.line is None


def test_frame_errors_use_csv_line_numbers() -> None:
    df = pd.DataFrame(
        {"t": [0.0, 0.0, 0.01], "sensor": ["thigh", "pelvis", "pelvis"], "ax": [9.8] * 3, "ay": [0.0] * 3,
         "az": [0.0] * 3, "gx": [0.0] * 3, "gy": [0.0] * 3, "gz": [0.0] * 3}
    )
    frame_to_raw(df)
    with pytest.raises(RawCsvError, match=r"imported, line 4: time of sensor 'pelvis' does not increase: t=0.01 after t=0.02 \(line 3\)"):
        frame_to_raw(df.assign(t=[0.0, 0.02, 0.01]), source="imported")


def test_gaps_are_found_not_filled(tmp_path: Path) -> None:
    t = np.r_[np.arange(0, 1, 0.01), np.arange(1.2, 2, 0.01)]
    gaps = find_gaps("thigh", t)
    assert len(gaps) == 1 and gaps[0].start_s == pytest.approx(0.99) and gaps[0].end_s == pytest.approx(1.2)
    assert find_gaps("thigh", np.r_[np.arange(0, 1, 0.01), np.arange(1.02, 2, 0.01)]) == []  # 2 periods: no gap
    n = len(t)
    s = SensorStream("thigh", t, np.zeros((n, 3)), np.zeros((n, 3)))
    p = SensorStream("pelvis", np.arange(0, 2, 0.01), np.zeros((200, 3)), np.zeros((200, 3)))
    back = read_raw_csv(write_raw_csv(RawSession(s, p), tmp_path / "g.csv"))
    assert len(back.thigh) == n
    assert [(g.sensor, round(g.start_s, 2), round(g.end_s, 2)) for g in back.gaps] == [("thigh", 0.99, 1.2)]
