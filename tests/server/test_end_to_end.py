"""Home and clinic end to end, two processes on loopback: the clinic server (`rehab server run`, TLS,
PostgreSQL) and the home hub (SQLite; sets recorded through virtual BLE sensors by the ingestion
service, then `rehab hub pair` / `rehab hub sync` / `rehab hub status` as a patient would run them).
All three sets appear in the therapist's roster and drill-down with identical reps and angles."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sensors.virtual import MotionSource, VirtualSensorConfig, VirtualSensorHub
from service.assignment import AssignmentStore
from service.ingest import IngestService
from service.recorder import SetRequest
from store import Store
from store.config import DATA_DIR_ENV, DATABASE_URL_ENV

from .conftest import REPO, Clinic, ServerProcess, child_env, hub_store, rehab_cmd

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

APP = REPO / "dashboard" / "app.py"
#: Short sets keep the test quick: 2 reps after a 2.5 s calibration stand (~8.5 s each).
SET = dict(reps=2, up_s=0.8, hold_s=0.3, down_s=0.8, rest_between_reps_s=0.6, stand_s=2.5, end_stand_s=1.0)


async def _record_set(store: Store, patient_id: int, workdir: Path, seed: int):  # type: ignore[no-untyped-def]
    """One set through virtual thigh + pelvis sensors (bumble), the way `rehab serve` records it."""
    from simulation import SimulationConfig, simulate

    sim = simulate(SimulationConfig(exercise="knee_raise", side="right", seed=seed, **SET))  # type: ignore[arg-type]
    radio = VirtualSensorHub()
    await radio.start()
    try:
        for i, role in enumerate(("thigh", "pelvis")):
            await radio.add_and_start(
                VirtualSensorConfig(name=f"RehabIMU-{role}-00{i + 1}", clock_drift_ppm=(60.0, -40.0)[i],
                                    clock_offset_us=(3_000_000, 50_000_000)[i], address_seed=10 * seed + i),  # fmt: skip
                MotionSource.from_session(sim.raw, role, loop=False),
            )
        service = IngestService(
            transport=radio.transport, data_root=workdir / "recordings", store=store,
            assignments=AssignmentStore(workdir / f"sensors-{seed}.json"), scan_timeout_s=0.5, live=False,
        )  # fmt: skip
        try:
            await service.start_set(SetRequest(str(patient_id), "knee_raise", "right",
                                               duration_s=float(sim.raw.thigh.t_s[-1]) + 0.6))  # fmt: skip
            result = await asyncio.wait_for(service.wait_set(), 90)
        finally:
            await service.close()
    finally:
        await radio.stop()
    assert result.status == "finished" and result.session_id is not None, result.error
    return result


def test_pair_record_three_sets_and_the_clinic_sees_them(
    clinic: Clinic, server_process: ServerProcess, tls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_process.start()
    hub_dir = tmp_path / "hub"
    hub, local = hub_store(hub_dir)
    hub.close()
    code = clinic.store.create_enrolment_code(clinic.patients["alice"], created_by=clinic.therapist)

    def hub_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(rehab_cmd("hub", *args, "--data-dir", str(hub_dir)), cwd=REPO, env=child_env(),
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    paired = hub_cli("pair", code.code, "--server", server_process.url, "--ca-file", str(tls.ca_file),
                     "--patient", "alice", "--name", "Alice's laptop")  # fmt: skip
    assert paired.returncode == 0, paired.stdout + paired.stderr
    hub = Store(None, data_dir=hub_dir)
    # the clinic's prescription is now the hub's (the clinic is the authority for the plan)
    assert [(r.exercise, r.side, r.stage) for r in hub.list_prescriptions(local)] == [("knee_raise", "right", "box")]
    results = [asyncio.run(_record_set(hub, local, tmp_path, seed)) for seed in (1, 2, 3)]
    waiting = hub_cli("status")
    assert "3 sessions waiting to be sent to your clinic." in waiting.stdout, waiting.stdout
    synced = hub_cli("sync")
    assert synced.returncode == 0 and "sent 3" in synced.stdout, synced.stdout + synced.stderr
    assert "All your sessions have been sent to your clinic." in hub_cli("status").stdout

    alice = clinic.patients["alice"]
    roster = clinic.store.roster(clinic.therapist).set_index("patient_id")
    assert roster.loc[alice, "sessions_this_week"] == 3 and roster.loc[clinic.patients["bob"], "sessions_this_week"] == 0
    for r in results:
        here = hub.load_session(r.session_id)
        there = clinic.store.load_session(clinic.store.get_session_by_uid(here.record.uid).id)
        assert there.record.patient_id == alice and there.record.stage == "box"
        assert there.analysis.reps == here.analysis.reps and len(here.analysis.reps) >= 1
        pd.testing.assert_frame_equal(there.analysis.angles, here.analysis.angles, check_exact=True)
        for a, b in zip(there.raw.streams(), here.raw.streams(), strict=True):  # type: ignore[union-attr]
            np.testing.assert_array_equal(a.t_s, b.t_s)
            np.testing.assert_array_equal(a.gyr_rad_s, b.gyr_rad_s)

    # the therapist's dashboard on the clinic's PostgreSQL: roster and drill-down
    monkeypatch.setenv(DATABASE_URL_ENV, clinic.url)
    monkeypatch.setenv(DATA_DIR_ENV, str(clinic.data_dir))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.text_input(key="sign_in_username").input("thera")
    at.text_input(key="sign_in_password").input("therapist-pw-1")
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, at.exception
    at.toggle(key="roster_all_columns").set_value(True).run()  # "Done" is one of the full set of columns
    roster_view = at.dataframe[0].value
    alice_row = roster_view[roster_view.apply(lambda row: "Alice" in row.astype(str).tolist(), axis=1)]
    assert len(alice_row) == 1 and 3 in alice_row.iloc[0].tolist()  # the three sets, this week
    first = clinic.store.get_session_by_uid(hub.load_session(results[0].session_id).record.uid)
    at.switch_page("app_pages/therapist_patient.py")
    at.query_params["patient"] = str(alice)
    at.query_params["session"] = str(first.id)
    at.run()
    assert not at.exception, at.exception
    expected = np.array([r.peak_hip_flexion_deg for r in hub.load_reps(results[0].session_id)])
    shown = [  # the drill-down's rep table shows the hub's peaks (rounded for display)
        col for d in at.dataframe if len(d.value) == len(expected) for _, col in d.value.items()
        if pd.api.types.is_numeric_dtype(col) and np.allclose(col.to_numpy(float), expected, atol=0.051)
    ]
    assert shown, [d.value for d in at.dataframe]
    hub.close()
