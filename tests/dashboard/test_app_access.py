"""Access rules through the real app: query parameters and widget state are untrusted input."""

from __future__ import annotations

import pytest

from dashboard import auth, wording

from .conftest import SeededClinic, new_app, sign_in, texts, vega_specs


def denied(at) -> bool:
    return any(auth.NO_ACCESS in str(e.value) for e in at.error)


def shows_session(at, clinic: SeededClinic, sid: int) -> bool:
    """Whether the page shows session ``sid``'s drill-down (its rep table rows and its start time)."""
    rec = clinic.store.get_session(sid)
    return wording.when(rec.started_at) in texts(at) and bool(vega_specs(at))


@pytest.mark.parametrize("page", ["app_pages/patient_history.py"])
def test_patient_cannot_open_another_patients_session_by_query_parameter(clinic: SeededClinic, page: str) -> None:
    at = sign_in("patient1")
    other = clinic.sessions(3)[0]  # patient3 belongs to another therapist, too
    at.switch_page(page)
    at.query_params["session"] = str(other)
    at.run()
    assert not at.exception
    assert denied(at)
    assert not any(m.label == "Reps" for m in at.metric)
    # and a session of a patient of the same therapist is refused alike
    at.query_params["session"] = str(clinic.sessions(2)[0])
    at.run()
    assert denied(at) and not any(m.label == "Reps" for m in at.metric)


@pytest.mark.parametrize("raw", ["abc", "-3", "0", "1e3", "١٢", " ", "99999999"])
def test_malformed_or_unknown_session_ids_are_refused(clinic: SeededClinic, raw: str) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_history.py")
    at.query_params["session"] = raw
    at.run()
    assert not at.exception and denied(at)


def test_own_session_by_query_parameter_opens(clinic: SeededClinic) -> None:
    at = sign_in("patient1")
    own = clinic.sessions(1)[1]
    at.switch_page("app_pages/patient_history.py")
    at.query_params["session"] = str(own)
    at.run()
    assert not denied(at) and shows_session(at, clinic, own)
    assert at.selectbox(key=f"session_pick_{clinic.patient(1)}").value == own


def test_patient_cannot_open_another_patients_session_by_widget_state(clinic: SeededClinic) -> None:
    # AppTest refuses to serialise a selectbox value outside its options, so the tampered value is
    # planted in the widget's session-state slot before the page first draws it — the same value
    # the page would receive from a client that sent it.
    at = sign_in("patient1")
    key = f"session_pick_{clinic.patient(1)}"
    other = clinic.sessions(2)[-1]
    at.session_state[key] = other
    at.switch_page("app_pages/patient_history.py").run()
    assert not at.exception
    assert denied(at) and not shows_session(at, clinic, other)
    assert "session" not in at.query_params or at.query_params["session"] != str(other)


def test_patient_has_no_therapist_or_admin_pages(clinic: SeededClinic) -> None:
    at = sign_in("patient1")
    for page in ("app_pages/therapist_roster.py", "app_pages/therapist_patient.py", "app_pages/admin_accounts.py"):
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page(page)


def test_admin_sees_no_clinical_pages(clinic: SeededClinic) -> None:
    at = sign_in("admin")
    for page in ("app_pages/therapist_patient.py", "app_pages/patient_history.py"):
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page(page)


def test_therapist_cannot_open_another_therapists_patient(clinic: SeededClinic) -> None:
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py")
    at.query_params["patient"] = str(clinic.patient(3))
    at.run()
    assert not at.exception and denied(at)
    assert not vega_specs(at)


def test_therapist_cannot_open_another_therapists_session(clinic: SeededClinic) -> None:
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py")
    at.query_params["patient"] = str(clinic.patient(1))
    at.query_params["session"] = str(clinic.sessions(3)[0])
    at.run()
    assert not at.exception and denied(at)
    assert not shows_session(at, clinic, clinic.sessions(3)[0])


def test_session_of_another_own_patient_does_not_mix_pages(clinic: SeededClinic) -> None:
    at = sign_in("therapist1")
    at.switch_page("app_pages/therapist_patient.py")
    at.query_params["patient"] = str(clinic.patient(1))
    at.query_params["session"] = str(clinic.sessions(2)[0])  # viewable, but not patient1's
    at.run()
    assert denied(at)


def test_therapist_patient_widget_tampering_is_refused(clinic: SeededClinic) -> None:
    for page in ("app_pages/therapist_patient.py", "app_pages/therapist_downloads.py", "app_pages/therapist_prescriptions.py"):
        at = sign_in("therapist1")  # lands on the roster: no patient widget drawn yet
        at.session_state["patient_pick"] = clinic.patient(3)  # another therapist's patient
        at.switch_page(page).run()
        assert not at.exception, page
        assert denied(at), page
        assert not at.get("download_button"), page
        assert not vega_specs(at), page
        assert not any(b.label == "Save" for b in at.button), page


def test_deactivated_account_is_signed_out_on_next_run(clinic: SeededClinic) -> None:
    at = sign_in("patient1")
    assert "Hello, Patient 1" in texts(at)
    clinic.store.update_user(clinic.patient(1), active=False)
    at.run()
    assert "Hello" not in texts(at)
    assert at.text_input(key="sign_in_username") is not None
    assert sign_in("patient1").session_state.get(auth.USER_KEY) is None


def test_repeated_failures_lock_the_sign_in_form(clinic: SeededClinic) -> None:
    at = new_app()
    for _ in range(auth.MAX_FAILURES):
        at = sign_in("patient1", "wrong-password", at)
        assert "Wrong username or password" in texts(at)
    at = sign_in("patient1", at=at)  # even the right password waits out the lockout
    assert "too many failed sign-ins" in texts(at).lower()
    assert at.session_state.get(auth.USER_KEY) is None


OIDC_SECRETS = {
    "auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-only-not-a-secret",
             "client_id": "x", "client_secret": "y", "server_metadata_url": "https://idp.invalid/.well-known/openid-configuration"}
}  # fmt: skip


def test_oidc_identity_maps_to_a_local_account(clinic: SeededClinic) -> None:
    from .conftest import PASSWORD

    clinic.store.create_user(
        "pat@clinic.example", PASSWORD, role="patient", display_name="OIDC Patient",
        therapist_id=clinic.clinic.therapist_ids["therapist1"],
    )  # fmt: skip
    at = new_app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "pat@clinic.example"}
    at.run()
    assert not at.exception
    assert "Hello, OIDC Patient" in texts(at)


def test_oidc_identity_without_local_account_gets_nothing(clinic: SeededClinic) -> None:
    at = new_app()
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "stranger@elsewhere.example"}
    at.run()
    assert not at.exception
    assert "No active account for stranger@elsewhere.example" in texts(at)
    assert at.session_state.get(auth.USER_KEY) is None


def test_without_oidc_config_an_idp_session_is_ignored(clinic: SeededClinic) -> None:
    at = new_app()
    at.user = {"is_logged_in": True, "email": "patient1"}  # no [auth] secrets: OIDC is off
    at.run()
    assert "Hello" not in texts(at) and at.session_state.get(auth.USER_KEY) is None
