"""Sessions still `recording` (a set under way, or one a crash left for recovery) never crash a page:
they are listed as such and cannot be opened (issue 15 item 2, issue 16 item 4)."""

from __future__ import annotations

import datetime as dt

import pytest

from ..conftest import SeededClinic, sign_in, texts


@pytest.fixture
def recording(clinic: SeededClinic) -> int:
    """The newest session of patient1 is still recording (the picker used to default to it)."""
    return clinic.store.begin_session(clinic.patient(1), "knee_raise", "left", started_at=dt.datetime.now(dt.UTC))


@pytest.mark.parametrize(
    ("username", "page"),
    [
        ("patient1", "app_pages/patient_history.py"),
        ("therapist1", "app_pages/therapist_patient.py"),
        ("therapist1", "app_pages/therapist_downloads.py"),
    ],
)
def test_pages_list_a_recording_session_without_opening_it(clinic: SeededClinic, recording: int, username: str, page: str) -> None:
    at = sign_in(username)
    at.switch_page(page).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Still recording (opens when finished)" in texts(at)
    picker = at.selectbox(key=f"session_pick_{clinic.patient(1)}")
    assert recording not in picker.options and picker.value == clinic.sessions(1)[-1]
    assert at.query_params["session"] == str(clinic.sessions(1)[-1])


def test_a_link_to_a_recording_session_says_so(clinic: SeededClinic, recording: int) -> None:
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_history.py")
    at.query_params["session"] = str(recording)
    at.run()
    assert not at.exception and not at.error
    assert "That set is still recording" in texts(at)


def test_a_recording_session_of_another_patient_is_refused_alike(clinic: SeededClinic) -> None:
    other = clinic.store.begin_session(clinic.patient(3), "knee_raise", "left", started_at=dt.datetime.now(dt.UTC))
    at = sign_in("patient1")
    at.switch_page("app_pages/patient_history.py")
    at.query_params["session"] = str(other)
    at.run()
    assert not at.exception
    assert "still recording" not in texts(at).lower().replace("still recording (opens", "")
    assert any("not available" in str(e.value) for e in at.error)
