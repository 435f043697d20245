"""The spec files load into consistent profiles; lookups fail with messages that help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sensors.profiles import PROFILES, SPEC_DIR, get_profile, profile_for_service_uuid

FIRMWARE_SPECS = Path(__file__).resolve().parents[3] / "firmware_specs"  # the documents for firmware engineers


def test_three_profiles_load_with_distinct_service_uuids():
    assert set(PROFILES) == {"rehab_imu_v1", "movella_dot", "witmotion_wt901ble"}
    uuids = [p.service_uuid for p in PROFILES.values()]
    assert len(set(uuids)) == 3
    for p in PROFILES.values():
        assert len(p.service_uuid) == 36 and p.service_uuid == p.service_uuid.lower()
        assert p.default_rate_hz in p.rates_hz


def test_get_profile_error_lists_valid_names():
    with pytest.raises(KeyError) as info:
        get_profile("nope")
    msg = str(info.value)
    for name in PROFILES:
        assert name in msg


def test_profile_for_service_uuid_any_case():
    assert profile_for_service_uuid("15172000-4947-11E9-8646-D663BD873D93").name == "movella_dot"
    assert profile_for_service_uuid("0000FFE5-0000-1000-8000-00805F9A34FB").name == "witmotion_wt901ble"
    assert profile_for_service_uuid(PROFILES["rehab_imu_v1"].service_uuid).name == "rehab_imu_v1"
    assert profile_for_service_uuid("180f") is None


def test_rehab_profile_streams_100hz_in_20_byte_payload_and_batches_at_larger_mtu():
    p = get_profile("rehab_imu_v1")
    assert p.header_size + p.sample_size == 20  # one sample per notification at MTU 23
    assert p.samples_per_packet(23) == 1
    assert p.samples_per_packet(247) == 19
    assert p.samples_per_packet(185) == 14
    assert 100.0 in p.rates_hz and min(p.rates_hz) == 25.0 and max(p.rates_hz) == 200.0
    assert p.battery_service_uuid.startswith("0000180f") and p.device_info_service_uuid.startswith("0000180a")


def test_movella_needs_larger_mtu():
    p = get_profile("movella_dot")
    assert p.samples_per_packet(23) == 0
    assert p.min_mtu == 31
    assert p.samples_per_packet(247) == 1


def test_every_commercial_field_cites_a_source():
    for name in ("movella_dot", "witmotion_wt901ble"):
        raw = json.loads((SPEC_DIR / f"{name}.json").read_text())
        for f in raw["packet"]["header"] + raw["packet"]["sample_fields"]:
            assert f.get("source"), f"{name}: field {f['name']} has no source"
        assert raw["reference"]


def test_every_profile_has_a_human_document_and_vectors():
    for name in PROFILES:
        assert (FIRMWARE_SPECS / f"{name}.md").is_file()
        assert (FIRMWARE_SPECS / "test_vectors" / f"{name}.json").is_file()


def test_rehab_specs_command_lists_profiles_and_uuids():
    import typer
    from typer.testing import CliRunner

    from rehab.commands.specs import register

    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a callback keeps `specs` a sub-command, as in the real app
        pass

    register(app)
    result = CliRunner().invoke(app, ["specs"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    for p in PROFILES.values():
        assert p.name in result.output and p.service_uuid in result.output and p.data_char_uuid in result.output
    assert "needs larger MTU" in result.output  # Movella DOT at MTU 23
