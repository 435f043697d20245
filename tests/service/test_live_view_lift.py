"""The live snapshot a patient's phone shows: the rounding warning during the lift (cleared by a clean
rep), the hold timer, and the sensor checks — on simulated sets with known compensated reps."""

from __future__ import annotations

import pytest

from service.live_view import LiveView
from simulation import SimulationConfig, simulate


def _play(exercise: str, side: str, realistic: bool = False, **cfg):  # type: ignore[no-untyped-def]
    if realistic:
        sim = simulate(SimulationConfig.realistic(3, exercise=exercise, side="left", reps=5, **cfg))  # type: ignore[arg-type]
    else:
        sim = simulate(SimulationConfig(exercise=exercise, side="left", reps=6, seed=4, **cfg))  # type: ignore[arg-type]
    view = LiveView(exercise, side, threshold_deg=10.0, target_reps=6)
    by = {s.sensor: s for s in sim.raw.streams()}
    merged = sorted((float(t), s.sensor, i) for s in sim.raw.streams() for i, t in enumerate(s.t_s))
    on: list[tuple[float, bool]] = []
    holds: list[float] = []  # the longest hold each time the timer ran
    running = False
    for t, name, i in merged:
        s = by[name]
        view.update(name, t, s.acc_m_s2[i], s.gyr_rad_s[i])
        snap = view.snapshot()
        if not on or on[-1][1] != snap["compensating_now"]:
            on.append((t, snap["compensating_now"]))
        if snap["hold_s"] is not None:
            holds.append(max(snap["hold_s"], holds.pop() if running else 0.0))
        running = snap["hold_s"] is not None
    return sim, view, on, holds


@pytest.mark.parametrize("exercise", ["knee_raise", "hip_extension", "deep_squat"])
def test_warning_shows_during_the_compensated_lift_and_clears_on_the_next_clean_one(exercise: str) -> None:
    sim, view, on, holds = _play(exercise, "left", compensation_prob=0.5)
    compensated = [r for r in sim.truth.reps if r.compensated]
    assert compensated, "the seed must give a compensated rep"
    switched_on = [t for t, state in on if state]
    assert len(switched_on) == len(compensated)  # once per compensated rep, never on a clean one
    for t_on, rep in zip(switched_on, compensated, strict=True):
        assert rep.start_s < t_on < rep.end_s  # during the lift, not after it
        nxt = next(r for r in sim.truth.reps if r.index == rep.index + 1)
        t_off = next(t for t, state in on if not state and t > t_on)
        assert nxt.start_s < t_off < nxt.peak_s  # cleared as the next (clean) lift gets going
    assert view.snapshot()["sanity"] == []
    assert len(holds) == len(sim.truth.reps)  # the hold timer runs once at each top


@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["knee_raise", "hip_extension", "deep_squat"])
@pytest.mark.parametrize(("hold_s", "realistic"), [(1.0, False), (3.0, True)])
def test_the_hold_timer_runs_once_per_rep_and_reads_the_hold(exercise: str, hold_s: float, realistic: bool) -> None:
    """The timer a patient watches at the top: one run per rep (it used to restart whenever two sensors'
    samples came a fraction of a millisecond apart), ending near the simulated hold — minimum-jerk lifts,
    the default and the realistic simulator (non-hinge hips, soft tissue, slow reps)."""
    sim, _, _, holds = _play(exercise, "left", realistic=realistic, hold_s=hold_s, compensation_prob=0.0)
    truth = [r.hold_s for r in sim.truth.reps]
    assert len(holds) == len(truth), (holds, truth)
    err = [h - t for h, t in zip(holds, truth, strict=True)]
    assert max(abs(e) for e in err) <= (0.6 if realistic else 0.3), err


def test_wrong_leg_is_flagged_while_the_set_runs() -> None:
    _, view, _, _ = _play("knee_raise", "right", compensation_prob=0.0)  # sensors on the left leg
    codes = [i["code"] for i in view.snapshot()["sanity"]]
    assert codes == ["wrong_leg"]
