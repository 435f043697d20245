"""Plain words for patients, readable dates for everyone."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import wording


def test_summary_speaks_plainly_and_praises_only_what_was_earned() -> None:
    headline, lines = wording.set_summary(exercise="knee_raise", reps=10, target_reps=10, still_reps=8, rom_deg=86.4,
                                          target_rom_deg=80.0)  # fmt: skip
    assert lines == ["You lifted your knee to 86°, your target is 80°.", "Your back stayed still on 8 of 10 reps."]
    assert headline.startswith("Well done")
    headline, _ = wording.set_summary(exercise="knee_raise", reps=5, target_reps=10, still_reps=5, rom_deg=86.0,
                                      target_rom_deg=80.0)  # fmt: skip
    assert headline == "You did 5 of 10 reps." and "Well done" not in headline
    headline, _ = wording.set_summary(exercise="knee_raise", reps=10, target_reps=10, still_reps=5, rom_deg=86.0,
                                      target_rom_deg=80.0)  # fmt: skip
    assert "Well done" not in headline and "Good" not in headline  # half the reps rounded the back
    _, lines = wording.set_summary(exercise="deep_squat", reps=8, target_reps=8, still_reps=8, rom_deg=95.0,
                                   target_rom_deg=100.0, mean_hold_s=1.0, hold_target_s=3.0)  # fmt: skip
    assert lines[0] == "You bent your hips to 95°, your target is 100°."
    assert lines[-1] == "Hold a little longer at the bottom: 1.0 s of 3 s."


@pytest.mark.parametrize(("hold", "target", "flagged"), [(1.0, 2.0, True), (1.85, 2.0, False), (5.0, None, False)])
def test_short_holds_are_flagged(hold: float, target: float | None, flagged: bool) -> None:
    assert (wording.hold_note(hold, target) is not None) is flagged


def test_dates_and_stages_read_as_people_say_them() -> None:
    ts = pd.Timestamp("2026-12-02T14:40:53.753132+00:00")
    assert wording.when(ts) == "Wed 2 Dec 2026, 14:40" and wording.when(None) == "—"
    assert wording.days_ago(ts, today=dt.date(2026, 12, 5)) == "3 days ago"
    assert wording.days_ago(ts, today=dt.date(2026, 12, 3)) == "yesterday"
    assert wording.stage_words("knee_raise", "box") == "Foot starts on a box"
    assert wording.stage_words("hip_extension", None) == "Standing active hip extension"

