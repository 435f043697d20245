"""The at-home assessment: the patient's answers combined with the sensors' signs, each
recommendation's evidence and the article's sentence, and the article's order (N weeks of
strengthening before mobility drills)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from program import DRILLS, RuleParameterError, ScreeningAnswers, ScreeningInputError, ScreeningResult, ScreeningRules
from program.assessment import MobilityOrder


@pytest.fixture
def limited_no_tilt(make_session):
    """Only 8° of active extension, no anterior tilt."""
    return make_session("hip_extension", peaks_deg=[-8.0] * 5, compensation_deg=[3.0] * 5)


@pytest.fixture
def normal_with_tilt(make_session):
    return make_session("hip_extension", peaks_deg=[-20.0] * 5, compensation_deg=[12.0] * 5)


@pytest.mark.parametrize(
    ("answers", "recommended"),
    [
        ({}, False),  # sensors alone: limited extension without tilt is one sign of three
        ({"low_back_pain": True}, True),  # + the patient's low back pain: two signs, one measured
        ({"trouble_extending_leg": True}, False),  # the same sign twice (sensors and answer) is still one
        ({"low_back_pain": False, "trouble_extending_leg": True}, False),
    ],
)
def test_lengthening_combines_answers_with_the_sensors(limited_no_tilt, answers, recommended) -> None:
    result = ScreeningRules().evaluate(hip_extension=limited_no_tilt, answers=ScreeningAnswers(**answers))
    rec = result.recommendation("hip_extension")
    assert rec.recommended is recommended, rec.reasons
    assert rec.article == DRILLS["hip_extension"].article_sentence
    signs = {e.sign: e for e in rec.evidence}
    assert signs["active hip extension"].value == "8°" and signs["active hip extension"].met
    assert signs["active hip extension"].threshold == "< 15° is limited" and signs["active hip extension"].source == "sensors"
    assert signs["lower back pain"].source == "answer"


def test_answers_alone_never_recommend_lengthening() -> None:
    rec = ScreeningRules().evaluate(answers=ScreeningAnswers(True, True, True)).recommendation("hip_extension")
    assert not rec.recommended and "not measured" in rec.reason


def test_tilt_and_low_back_pain_recommend_lengthening(normal_with_tilt) -> None:
    rec = ScreeningRules().evaluate(hip_extension=normal_with_tilt, answers=ScreeningAnswers(low_back_pain=True))
    assert rec.recommendation("hip_extension").recommended


def test_trouble_sitting_straight_recommends_shortening_on_its_own(make_session) -> None:
    full = make_session("deep_squat", peaks_deg=[118.0] * 5, compensation_deg=[3.0] * 5)
    no = ScreeningRules().evaluate(deep_squat=full, answers=ScreeningAnswers(trouble_sitting_straight=False))
    yes = ScreeningRules().evaluate(deep_squat=full, answers=ScreeningAnswers(trouble_sitting_straight=True))
    assert not no.recommendation("deep_squat").recommended
    rec = yes.recommendation("deep_squat")
    assert rec.recommended and "sitting up straight in a chair is hard" in rec.reason
    assert "sitting up in a chair with your back straight" in rec.article


def test_result_with_answers_and_evidence_round_trips_through_json(make_session) -> None:
    kr = make_session("knee_raise", peaks_deg=[95.0] * 5, compensation_deg=[14.0] * 5, onset_hip_deg=[60.0] * 5)
    result = ScreeningRules().evaluate(knee_raise=kr, answers=ScreeningAnswers(False, True, None))
    back = ScreeningResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result
    assert back.answers.trouble_sitting_straight is True and not back.answers.complete
    with pytest.raises(ScreeningInputError, match="unknown question"):
        ScreeningAnswers.from_dict({"knee_pain": True})
    with pytest.raises(ScreeningInputError, match="use true, false or null"):
        ScreeningAnswers.from_dict({"low_back_pain": "yes"})


def _history(weeks: int, *, pain: float, rounding: float, rom: float, today: dt.date) -> pd.DataFrame:
    days = [today - dt.timedelta(days=7 * weeks - 2 * k) for k in range(0, 7 * weeks // 2)]
    return pd.DataFrame(
        {
            "exercise": "knee_raise",
            "started_at": pd.to_datetime([dt.datetime.combine(d, dt.time(17), tzinfo=dt.UTC) for d in days]),
            "compensation_rate": rounding,
            "rom_deg": rom,
            "target_rom_deg": 80.0,
            "pain_after": pain,
            "pain_before": pain,
        }
    )


def test_mobility_drills_wait_for_n_weeks_of_strengthening(make_session) -> None:
    today = dt.date(2026, 12, 5)
    kr = make_session("knee_raise", peaks_deg=[95.0] * 5, compensation_deg=[14.0] * 5, onset_hip_deg=[60.0] * 5)
    screening = ScreeningRules().evaluate(knee_raise=kr)
    assert "deep_squat" in screening.recommended_drills
    early = MobilityOrder(weeks=4).check(_history(2, pain=5, rounding=0.6, rom=70, today=today), screening=screening,
                                         prescribed={"knee_raise"}, today=today)  # fmt: skip
    assert not early.due and early.suggest == () and "day(s) of strengthening to go" in early.reasons[-1]
    late = MobilityOrder(weeks=4).check(_history(5, pain=5, rounding=0.6, rom=70, today=today), screening=screening,
                                        prescribed={"knee_raise"}, today=today)  # fmt: skip
    assert late.due and late.suggest == ("deep_squat",)
    assert any("pain 5.0/10" in p for p in late.problems) and any("rounding in 60%" in p for p in late.problems)
    fine = MobilityOrder(weeks=4).check(_history(5, pain=1, rounding=0.0, rom=85, today=today), screening=screening,
                                        prescribed={"knee_raise"}, today=today)  # fmt: skip
    assert fine.due and fine.problems == () and fine.suggest == () and "keep strengthening" in fine.reasons[-1]
    # the therapist's N: 0 weeks means right away
    now = MobilityOrder(weeks=0).check(_history(1, pain=5, rounding=0.6, rom=70, today=today), screening=screening,
                                       prescribed={"knee_raise", "deep_squat"}, today=today)  # fmt: skip
    assert now.due and now.suggest == () and "already prescribed" in " ".join(now.reasons)
    with pytest.raises(RuleParameterError, match="weeks"):
        MobilityOrder(weeks=-1)
