"""The drill catalogue carries the article's content."""

from __future__ import annotations

import json

import pytest

from program import DISCLAIMER, DRILLS, Prescription, UnknownDrillError, get_drill
from tracker.conventions import EXERCISES


def test_catalogue_has_the_three_drills_in_article_order() -> None:
    assert tuple(DRILLS) == EXERCISES
    assert [d.kind for d in DRILLS.values()] == ["strengthening", "lengthening mobility", "shortening mobility"]


def test_knee_raise_progresses_box_to_floor() -> None:
    kr = DRILLS["knee_raise"]
    assert [s.key for s in kr.stages] == ["box", "floor"]
    assert kr.default.stage == "box"
    assert "too easy" in kr.stage("box").progress_when
    assert kr.next_stage("box") is not None and kr.next_stage("floor") is None
    assert any("Everyone" in r for r in kr.right_for_you_if)


def test_compensation_signs_follow_conventions() -> None:
    # conventions.py: + anterior; knee-raise rounding and butt wink are posterior, extension anterior
    assert DRILLS["knee_raise"].measures.compensation == "lumbar rounding"
    assert DRILLS["knee_raise"].measures.compensation_sign == -1
    assert DRILLS["deep_squat"].measures.compensation == "butt wink"
    assert DRILLS["deep_squat"].measures.compensation_sign == -1
    assert DRILLS["hip_extension"].measures.compensation == "lumbar extension"
    assert DRILLS["hip_extension"].measures.compensation_sign == +1
    assert DRILLS["hip_extension"].measures.angle_direction == "extension"


def test_defaults_and_patient_text() -> None:
    for drill in DRILLS.values():
        d = drill.default
        assert d.compensation_threshold_deg == pytest.approx(10.0)
        assert d.sets >= 1 and d.reps >= 1 and d.target_rom_deg > 0
        assert 0 < d.target_rom_deg <= drill.max_target_rom_deg
        drill.stage(d.stage)
        assert len(drill.instructions) >= 4
        # short, plain sentences for large print
        assert all(len(line) <= 70 for line in drill.instructions), drill.key
        rx = Prescription.default(drill.key)
        assert rx.target_reps == d.reps and rx.sets == d.sets and rx.stage == d.stage
        json.dumps(drill.to_dict())
    assert DRILLS["hip_extension"].default.hold_s > DRILLS["knee_raise"].default.hold_s
    assert "not a deep stretch" in DRILLS["hip_extension"].emphasis
    assert "does not replace" in DISCLAIMER


def test_unknown_names() -> None:
    with pytest.raises(UnknownDrillError, match="expected one of knee_raise, hip_extension, deep_squat"):
        get_drill("plank")
    with pytest.raises(UnknownDrillError, match="no stage 'floor'"):
        DRILLS["deep_squat"].stage("floor")


def test_screening_protocol_covers_every_drill() -> None:
    from program import SCREENING_PROTOCOL, ScreeningRules

    assert tuple(step.drill for step in SCREENING_PROTOCOL) == EXERCISES
    assert all(step.reps >= ScreeningRules().min_reps for step in SCREENING_PROTOCOL)
    assert all("Stand still" in step.instructions[0] for step in SCREENING_PROTOCOL)
