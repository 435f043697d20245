"""Discovery, assignment memory and identify-by-motion with real virtual sensors."""

from __future__ import annotations

import numpy as np
import pytest

from sensors.virtual import MotionSource
from service.assignment import (
    Assignment,
    AssignmentStore,
    SensorRef,
    assign_by_name,
    discover,
    identify_by_motion,
    resolve,
)
from service.errors import AssignmentError, SensorNotFoundError
from tracker.conventions import GRAVITY_M_S2

from .conftest import start_pair


def _still(name: str) -> MotionSource:
    t = np.arange(0.0, 10.0, 0.01)
    acc = np.tile([GRAVITY_M_S2, 0.0, 0.0], (len(t), 1))
    return MotionSource(name, t, acc, np.zeros((len(t), 3)))


def test_assignment_round_trip_and_validation(tmp_path):
    store = AssignmentStore(tmp_path / "sensors.json")
    assert store.load() is None
    a = Assignment(SensorRef("AA:00", "RehabIMU-x", "rehab_imu_v1"), SensorRef("BB:00", None, "movella_dot"), "left")
    store.save(a)
    assert store.load() == a
    assert (tmp_path / "sensors.json").stat().st_mode & 0o077 == 0
    with pytest.raises(AssignmentError, match="same sensor"):
        Assignment(a.thigh, a.thigh, "left")
    with pytest.raises(AssignmentError, match="side"):
        Assignment(a.thigh, a.pelvis, "middle")
    (tmp_path / "sensors.json").write_text("{not json")
    with pytest.raises(AssignmentError, match="sensors.json"):
        store.load()


async def test_discover_by_profile_assign_and_identify_the_moving_sensor():
    # the "pelvis" sensor lies still; the "thigh" one is being moved by the patient
    pair = await start_pair({"thigh": MotionSource.synthetic("thigh", seed=1), "pelvis": _still("pelvis")})
    try:
        found = await discover(timeout_s=0.3, scanner_kwargs=pair.scanner_kwargs)
        assert sorted(c.name for c in found) == ["RehabIMU-pelvis-002", "RehabIMU-thigh-001"]
        assert {c.profile for c in found} == {"rehab_imu_v1"}
        a = assign_by_name(found, "left")
        assert a.thigh.name == "RehabIMU-thigh-001" and a.side == "left"
        assert resolve(a, found)["pelvis"].name == "RehabIMU-pelvis-002"
        moving, scores = await identify_by_motion(found, duration_s=1.0, client_kwargs=pair.client_kwargs)
        assert moving is not None and moving.name == "RehabIMU-thigh-001"
        by_name = {s.name: s for s in scores}
        assert by_name["RehabIMU-thigh-001"].mean_gyro_rad_s > 0.5
        assert by_name["RehabIMU-pelvis-002"].mean_gyro_rad_s < 0.05
        assert all(s.samples >= 50 for s in scores)
        # a remembered sensor that is not advertising is named
        ghost = Assignment(a.thigh, SensorRef("C0:FF:EE:00:00:01", "RehabIMU-pelvis-999", "rehab_imu_v1"), "left")
        with pytest.raises(SensorNotFoundError, match="pelvis.*RehabIMU-pelvis-999"):
            resolve(ghost, found)
        with pytest.raises(SensorNotFoundError, match="thigh"):
            assign_by_name([c for c in found if "pelvis" in c.name], "left")
    finally:
        await pair.hub.stop()
