"""`rehab server certs/enrol/devices/revoke` and `rehab hub status/unpair` from a shell (SQLite store)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from rehab.cli import app
from server.tls import check_certificate
from service.sync import HubPairing
from store import Store
from store import auth as store_auth

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("REHAB_DATABASE_URL", "REHAB_DATA_DIR", "REHAB_FILES_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(store_auth, "DEFAULT_HASHER", FAST_HASHER)
    return CliRunner()


def test_server_certs_makes_a_working_private_pki(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "tls"
    result = runner.invoke(app, ["server", "certs", "--out", str(out), "--host", "clinic.local", "--host", "10.0.0.7"])
    assert result.exit_code == 0, result.output
    info = check_certificate(out / "server.pem", out / "server-key.pem")
    assert info.names == ("clinic.local", "10.0.0.7")
    assert stat.S_IMODE((out / "ca-key.pem").stat().st_mode) == 0o600
    again = runner.invoke(app, ["server", "certs", "--out", str(out), "--host", "clinic.local"])
    assert again.exit_code == 2 and "already there" in again.output


def test_enrol_devices_revoke(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "clinic"
    with Store(data_dir=data, password_hasher=FAST_HASHER) as store:
        t = store.create_user("dr.lee", "therapist-pw-1", role="therapist")
        pid = store.create_user("alex", "alex-password-1", role="patient", therapist_id=t.id).id
    result = runner.invoke(app, ["server", "enrol", "alex", "--server-url", "https://clinic.local:8443",
                                 "--data-dir", str(data)])  # fmt: skip
    assert result.exit_code == 0, result.output
    code = re.search(r"rehab hub pair (\S+) --server https://clinic.local:8443", result.output.replace("\n", " "))
    assert code is not None
    with Store(data_dir=data, password_hasher=FAST_HASHER) as store:
        device = store.redeem_enrolment_code(code.group(1), device_name="alex-pi").device
        assert device.patient_id == pid and device.created_by == t.id  # the patient's therapist made it
    listed = runner.invoke(app, ["server", "devices", "alex", "--data-dir", str(data)])
    assert listed.exit_code == 0 and "alex-pi" in listed.output and "active" in listed.output
    revoked = runner.invoke(app, ["server", "revoke", str(device.id), "--data-dir", str(data)])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(app, ["server", "devices", "alex", "--data-dir", str(data)]).output
    assert runner.invoke(app, ["server", "revoke", "999", "--data-dir", str(data)]).exit_code == 2
    assert runner.invoke(app, ["server", "enrol", "dr.lee", "--data-dir", str(data)]).exit_code == 2  # not a patient


def test_hub_status_unpaired_and_pairing_file_checks(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "hub"
    result = runner.invoke(app, ["hub", "status", "--data-dir", str(data)])
    assert result.exit_code == 0 and "not connected to a clinic" in result.output
    assert runner.invoke(app, ["hub", "sync", "--data-dir", str(data)]).exit_code == 2
    bad = runner.invoke(app, ["hub", "pair", "AAAAA-BBBBB", "--server", "http://clinic.example.org", "--data-dir", str(data)])
    assert bad.exit_code == 2 and "https" in bad.output  # health data never over plain HTTP to another host
    pairing = HubPairing(server_url="https://c.example", token="rht_secret", device_id=1, clinic_patient_id=1,
                         clinic_username="a", display_name="A", local_patient_id=1, ca_file=None,
                         paired_at=HubPairing.now_text())  # fmt: skip
    assert "rht_secret" not in repr(pairing)  # never in a log line or traceback
    pairing.save(data)
    assert stat.S_IMODE(HubPairing.path(data).stat().st_mode) == 0o600
    HubPairing.path(data).chmod(0o644)
    shared = runner.invoke(app, ["hub", "status", "--data-dir", str(data)])
    assert shared.exit_code == 2 and "readable by other users" in shared.output
    assert runner.invoke(app, ["hub", "unpair", "--data-dir", str(data)]).exit_code == 0
    assert not HubPairing.path(data).exists()
