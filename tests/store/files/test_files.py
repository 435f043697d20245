"""Session files through one interface on both back ends: a directory, and S3-compatible object
storage (moto's standalone S3 server on loopback, reached by pyarrow.fs exactly as a real one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from store import RawFileError, Store, StoreConfigError
from store import sessions as sessions_module
from store.files import DirectoryFiles, ObjectStoreFiles, SessionFiles, open_session_files

from ..conftest import FAST_HASHER, T0


@pytest.fixture(params=["directory", "s3"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> SessionFiles:
    if request.param == "directory":
        return open_session_files(None, tmp_path / "data")
    return open_session_files(request.getfixturevalue("s3_url"), tmp_path / "unused")


def test_stage_publish_read_discard(files: SessionFiles) -> None:
    key = "ab12"
    files.stage(key)
    files.write_bytes(key, "raw.parquet", b"raw bytes")
    files.write(key, "angles.parquet", lambda f: f.write(b"angles"))
    files.publish(key)
    assert files.read_bytes(files.relative(key, "raw.parquet")) == b"raw bytes"
    with files.open(files.relative(key, "angles.parquet")) as f:
        assert f.read() == b"angles"
    assert [e.name for e in files.entries()] == [key]
    files.stage("cd34")  # a re-analysis: keep the raw file, write new angles
    files.link_into("cd34", files.relative(key, "raw.parquet"), "raw.parquet")
    files.publish("cd34")
    assert files.read_bytes(files.relative("cd34", "raw.parquet")) == b"raw bytes"
    with pytest.raises(RawFileError, match="missing"):
        files.link_into("cd34", files.relative(key, "nope.parquet"), "x.parquet")
    files.discard("cd34")
    files.discard(key)
    assert list(files.entries()) == []
    with pytest.raises(RawFileError, match="missing"):
        files.read_bytes(files.relative(key, "raw.parquet"))


def test_orphans_and_refused_names(files: SessionFiles) -> None:
    for key in ("aa", "bb"):
        files.stage(key)
        files.write_bytes(key, "angles.parquet", b"x")
        files.publish(key)
    assert files.orphans({"aa", "bb"}, older_than_s=0) == []
    assert [e.name for e in files.orphans({"aa"}, older_than_s=0)] == ["bb"]
    assert files.orphans({"aa"}, older_than_s=3600) == []  # too young: maybe another process's write
    files.remove(e.name for e in files.orphans({"aa"}, older_than_s=0))
    assert [e.name for e in files.entries()] == ["aa"]
    for bad in ("../etc", "AB", ""):
        with pytest.raises(RawFileError):
            files.stage(bad)
    with pytest.raises(RawFileError):
        files.open("sessions/../../etc/passwd")
    with pytest.raises(RawFileError):
        files.write_bytes("aa", "../escape", b"x")


def test_store_on_object_storage(s3_url: str, tmp_path: Path, analysis_factory, raw_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}", data_dir=tmp_path / "data", files_url=s3_url,
                  password_hasher=FAST_HASHER)  # fmt: skip
    assert isinstance(store.files, ObjectStoreFiles) and store.files.location.startswith("s3://rehab-")
    pid = store.create_user("alice", "alice-pw-123", role="patient").id
    analysis, raw = analysis_factory(), raw_factory(duration_s=3)
    sid = store.save_session(pid, analysis, raw, started_at=T0)
    back = store.load_session(sid)
    pd.testing.assert_frame_equal(back.analysis.angles, analysis.angles)
    np.testing.assert_array_equal(back.raw.thigh.gyr_rad_s, store.load_raw(sid).thigh.gyr_rad_s)  # type: ignore[union-attr]
    assert not (tmp_path / "data" / "sessions").exists() or not any((tmp_path / "data" / "sessions").iterdir())

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk gone")

    with monkeypatch.context() as m, pytest.raises(RuntimeError):
        m.setattr(sessions_module, "write_angles", boom)  # dies after the raw object was written
        store.save_session(pid, analysis, raw, started_at=T0)
    assert len(list(store.files.entries())) == 1  # the failed write's objects are gone
    store.delete_session(sid)
    assert list(store.files.entries()) == [] and store.clean_orphans(older_than_s=0) == []
    store.close()


def test_files_url_is_checked(tmp_path: Path) -> None:
    with pytest.raises(StoreConfigError, match="secret_key"):
        open_session_files("s3://b/p?endpoint_override=h:1&secret_key=x", tmp_path)
    with pytest.raises(StoreConfigError, match="unsupported scheme"):
        open_session_files("ftp://h/p", tmp_path)
    with pytest.raises(StoreConfigError, match="absolute"):
        open_session_files("file://relative/path", tmp_path)
    assert isinstance(open_session_files(f"file://{tmp_path / 'shared'}", tmp_path), DirectoryFiles)
    assert (tmp_path / "shared" / "sessions").is_dir()
