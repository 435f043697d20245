"""The raw-sample Parquet format: grid quantisation, optional columns, gaps, compression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import RawFileError
from store.raw_files import GRID_DECIMALS, quantize, quantize_raw, read_raw, write_raw
from tracker.raw import RawSession, SensorStream

from .conftest import make_raw


def test_decimal_text_values_come_back_bit_exact() -> None:
    rng = np.random.default_rng(11)
    text = [f"{v:.6f}" for v in rng.normal(0, 20, 5000)]
    parsed = np.array([float(t) for t in text])
    assert np.array_equal(quantize(parsed, 6), parsed)
    assert np.array_equal(quantize(quantize(parsed * np.pi, 6), 6), quantize(parsed * np.pi, 6))


def test_write_read_with_mag_quat_and_gaps(tmp_path: Path) -> None:
    base = make_raw(duration_s=3, seed=4, mag=True)
    n = len(base.pelvis)
    q = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    pelvis = SensorStream("pelvis", base.pelvis.t_s, base.pelvis.acc_m_s2, base.pelvis.gyr_rad_s, mag_ut=None, quat=q)
    raw = RawSession(thigh=base.thigh, pelvis=pelvis, gaps=base.gaps)
    path = tmp_path / "raw.parquet"
    write_raw(raw, path)
    back = read_raw(path)
    expect = quantize_raw(raw)
    assert back.gaps == raw.gaps
    assert back.pelvis.mag_ut is None and back.thigh.quat is None  # absent stays absent per sensor
    np.testing.assert_array_equal(back.pelvis.quat, q)
    for a, b in zip(back.streams(), expect.streams(), strict=True):
        np.testing.assert_array_equal(a.t_s, b.t_s)
        np.testing.assert_array_equal(a.acc_m_s2, b.acc_m_s2)
        np.testing.assert_array_equal(a.gyr_rad_s, b.gyr_rad_s)
    np.testing.assert_allclose(back.thigh.mag_ut, raw.thigh.mag_ut, rtol=0, atol=0.5 * 10.0 ** -GRID_DECIMALS["mx"])
    meta = pq.read_schema(path).metadata[b"rehab"]
    assert b"rehab.raw/1" in meta


def test_compressed_well_below_csv(tmp_path: Path) -> None:
    raw = quantize_raw(make_raw(duration_s=60, seed=5))
    path = tmp_path / "raw.parquet"
    write_raw(raw, path)
    from tracker.rawcsv import write_raw_csv

    csv = write_raw_csv(raw, tmp_path / "raw.csv")
    ratio = csv.stat().st_size / path.stat().st_size
    assert ratio >= 5.0, f"Parquet only {ratio:.1f}x smaller than the CSV"


def test_errors_name_file(tmp_path: Path) -> None:
    with pytest.raises(RawFileError, match="missing"):
        read_raw(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(RawFileError, match="bad.parquet"):
        read_raw(bad)




@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=50))
def test_grid_values_survive_text_and_quantisation(micro: list[int]) -> None:
    """Any value with ≤ 6 decimals, read from text, is a fixed point of the storage grid."""
    values = np.array([float(f"{m / 10**6:.6f}") for m in micro])
    assert np.array_equal(quantize(values, 6), values)
    assert np.array_equal(np.array([float(repr(float(v))) for v in values]), values)
