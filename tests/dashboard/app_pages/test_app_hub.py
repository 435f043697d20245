"""AppTest: the therapist pairs and revokes home hubs; the patient's Today page says what is waiting
to be sent to the clinic (the same words as `rehab hub status`)."""

from __future__ import annotations

from service.sync import HubPairing, HubState

from ..conftest import SeededClinic, sign_in, texts


def _open_hubs_page(at, patient_id: int):  # type: ignore[no-untyped-def]
    at.switch_page("app_pages/therapist_devices.py")
    at.query_params["patient"] = str(patient_id)
    return at.run()


def test_therapist_creates_a_one_time_code_and_revokes_the_hub(clinic: SeededClinic) -> None:
    pid = clinic.patient(1)
    at = _open_hubs_page(sign_in("therapist1"), pid)
    assert not at.exception and "No hub is paired for this patient yet." in texts(at)
    next(b for b in at.button if b.label == "Create pairing code").click()
    at.run()
    shown = next(s.value for s in at.success if "Pairing code" in s.value)
    code = shown.split("**")[1]
    assert "rehab hub pair " + code in at.code[0].value
    paired = clinic.store.redeem_enrolment_code(code, device_name="Patient 1's laptop")
    assert paired.patient.id == pid  # the code is the patient's, and it works once
    at.run()
    assert "Patient 1's laptop" in texts(at) and "active" in texts(at)
    next(b for b in at.button if b.label == "Revoke").click()
    at.run()
    assert not at.exception
    assert not clinic.store.get_device(paired.device.id).active
    assert clinic.store.list_devices(pid)[0].revoked_by == clinic.clinic.therapist_ids["therapist1"]
    assert not [b for b in at.button if b.label == "Revoke"]


def test_therapist_cannot_pair_another_therapists_patient(clinic: SeededClinic) -> None:
    at = _open_hubs_page(sign_in("therapist1"), clinic.patient(3))  # patient3 belongs to therapist2
    assert "not available to your account" in texts(at)
    assert not [b for b in at.button if b.label == "Create pairing code"]


def test_patient_today_says_what_waits_to_be_sent(clinic: SeededClinic) -> None:
    pid = clinic.patient(1)
    sessions = clinic.store.list_sessions(pid)
    for s in sessions[: len(sessions) - 3]:  # all but three already at the clinic
        clinic.store.outbox_acknowledged(s.uid, content_sha256="0" * 64, clinic_session_id=s.id)
    HubPairing(
        server_url="https://clinic.example.org", token="rht_not-a-real-token", device_id=1, clinic_patient_id=41,
        clinic_username="patient1", display_name="Patient 1", local_patient_id=pid, ca_file=None,
        paired_at=HubPairing.now_text(),
    ).save(clinic.data_dir)  # fmt: skip
    at = sign_in("patient1")
    assert not at.exception
    assert any(i.value == "3 sessions waiting to be sent to your clinic." for i in at.info)
    assert not [w.value for w in at.warning if "clinic" in w.value]  # (the drills' warning signs are warnings too)
    state = HubState(last_error="could not reach your clinic (no network, or the clinic's server is down)",
                     last_error_kind="ClinicUnreachableError")  # fmt: skip
    state.save(clinic.data_dir)
    at.run()
    assert any("could not reach your clinic" in w.value and "nothing is lost" in w.value for w in at.warning)
    other = sign_in("patient2")  # the hub is paired for patient1 only
    assert not any("waiting to be sent" in i.value for i in other.info)
