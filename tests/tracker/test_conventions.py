import pytest

from tracker import conventions as c


def test_gravity_is_standard() -> None:
    assert pytest.approx(9.80665) == c.GRAVITY_M_S2


@pytest.mark.parametrize("bad", ["squat", "", "KNEE_RAISE"])
def test_unknown_exercise_names_the_valid_ones(bad: str) -> None:
    with pytest.raises(ValueError, match="knee_raise, hip_extension, deep_squat"):
        c.check_exercise(bad)


def test_valid_names_pass_through() -> None:
    assert c.check_side("left") == "left"
    assert c.check_sensor("pelvis") == "pelvis"
