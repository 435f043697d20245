"""Issue 15.3: several sets in a row through a real `rehab serve --virtual-sensors`, driven like the
dashboard drives it (LiveClient, with the installation's secret): each set calibrates, counts its
reps live and is stored for the set's own drill and side — the virtual patient follows every set."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher

from dashboard.live_client import LiveClient, LiveState
from store import Store

SETS = [("knee_raise", "left"), ("knee_raise", "right"), ("deep_squat", "left")]
REPS = 3


@pytest.mark.slow
def test_three_sets_in_a_row_each_calibrate_and_count_their_reps(rehab_serve, tmp_path) -> None:
    data = tmp_path / "data"
    with Store(data_dir=data, password_hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)) as store:
        patient = store.create_user("sam", "patient-pw-1", role="patient").id
    serve = rehab_serve(data, "--virtual-sensors", "--virtual-pace", "0.5")
    client = LiveClient(serve.url, data_dir=data)
    results = []
    for exercise, side in SETS:
        t0 = time.monotonic()
        started = client.start_set(patient_id=patient, exercise=exercise, side=side, target_reps=REPS)
        assert time.monotonic() - t0 < 1.0 and started["state"] == "connecting", started
        phases: list[str] = []
        deadline = time.monotonic() + 90
        while True:
            state = LiveState.from_json(client.state())
            if state.uid == started["uid"] and (not phases or phases[-1] != state.phase):
                phases.append(state.phase)
            if state.uid == started["uid"] and state.phase in ("done", "failed"):
                break
            assert time.monotonic() < deadline, (exercise, side, phases, state.reason)
            time.sleep(0.2)
        results.append((exercise, side, phases, state))
        assert state.phase == "done", (exercise, side, phases, state.reason)
        assert "calibrating" in phases and "recording" in phases, phases
        assert state.rep_count == REPS and state.reason == "target reps reached", (state.rep_count, state.reason)
        assert state.session_id is not None
    with Store(data_dir=data) as store:
        stored = [store.get_session(s.session_id) for *_, s in results]
    assert [(r.exercise, r.side) for r in stored] == SETS  # each set's drill on its own side
    assert all(r.rep_count == REPS and r.status == "complete" and r.sensors["backend"] == "virtual" for r in stored)
    assert len({r.uid for r in stored}) == len(SETS)
