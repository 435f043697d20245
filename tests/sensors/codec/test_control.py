"""Control writes encode and decode back; impossible commands raise ControlError."""

from __future__ import annotations

import pytest

from sensors.codec import (
    ControlCommand,
    control_target_uuid,
    decode_control,
    encode_control,
)
from sensors.errors import ControlError
from sensors.profiles import get_profile


@pytest.mark.parametrize("rate", [25, 50, 100, 200])
@pytest.mark.parametrize("acc", [2, 4, 8, 16])
@pytest.mark.parametrize("gyr", [125, 250, 500, 1000, 2000])
def test_rehab_control_round_trip(rate, acc, gyr):
    for action in ("start", "stop", "configure"):
        cmd = ControlCommand(action, float(rate), float(acc), float(gyr))
        data = encode_control("rehab_imu_v1", cmd)
        assert len(data) == 4 and decode_control("rehab_imu_v1", data) == cmd


def test_rehab_rejects_unsupported_rate_and_bad_bytes():
    with pytest.raises(ControlError, match="rate"):
        encode_control("rehab_imu_v1", ControlCommand("start", rate_hz=400))
    with pytest.raises(ControlError, match="offset 3"):
        decode_control("rehab_imu_v1", bytes([1, 2, 2, 7]))


def test_movella_start_stop_and_rate():
    p = get_profile("movella_dot")
    assert encode_control(p, ControlCommand("start")) == bytes([1, 1, 21])
    assert encode_control(p, ControlCommand("stop")) == bytes([1, 0, 21])
    cfg = ControlCommand("configure", rate_hz=30)
    data = encode_control(p, cfg)
    assert len(data) == 32 and data[0] == 0x10 and data[24:26] == (30).to_bytes(2, "little")
    assert control_target_uuid(p, cfg) == "15171002-4947-11e9-8646-d663bd873d93"
    assert decode_control(p, data).rate_hz == 30
    with pytest.raises(ControlError, match="fixed"):
        encode_control(p, ControlCommand("start", accel_range_g=4))


def test_witmotion_rate_command_matches_document():
    assert encode_control("witmotion_wt901ble", ControlCommand("configure", rate_hz=100)) == bytes.fromhex("ffaa030900")
    assert encode_control("witmotion_wt901ble", ControlCommand("configure", rate_hz=200)) == bytes.fromhex("ffaa030a00")
    assert decode_control("witmotion_wt901ble", bytes.fromhex("ffaa030800")).rate_hz == 50
    with pytest.raises(ControlError, match="streams whenever"):
        encode_control("witmotion_wt901ble", ControlCommand("start"))
