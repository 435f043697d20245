"""Data holes are where the truth says, and the truth says which reps they cut (issue 14, items 2-3)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import HOLE_SCENARIOS, Dropout, SimulationConfig, SimulationConfigError, Truth, simulate
from tracker.conventions import MIN_CALIBRATION_STAND_S


def _no_loss(**kw) -> SimulationConfig:
    """Only the planned holes: no random packet loss."""
    return SimulationConfig(packet_loss=0.0, **kw)


def test_dropout_text_form_round_trips_and_bad_specs_name_themselves() -> None:
    for text in ("peak@3:both:1", "between_reps@all:thigh:0.8", "stand:pelvis:0.04", "12.5:both:2", "rise:thigh:0.5"):
        assert str(Dropout.parse(text)) == text
    d = Dropout.parse("lower@2:pelvis:1.5")
    assert (d.where, d.rep, d.sensors, d.duration_s) == ("lower", 2, "pelvis", 1.5)
    for bad, words in (
        ("peak:both", "WHERE"),
        ("top@1:both:1", "'top'"),
        ("peak@x:both:1", "'x'"),
        ("peak:knee:1", "'knee'"),
        ("peak:both:-1", "duration"),
        ("stand@2:both:1", "no rep number"),
    ):
        with pytest.raises(SimulationConfigError, match=words):
            SimulationConfig(dropouts=(bad,))
    with pytest.raises(SimulationConfigError, match="rep 9"):
        SimulationConfig(reps=4, dropouts=("peak@9:both:1",))
    with pytest.raises(SimulationConfigError, match="at least 2 reps"):
        SimulationConfig(reps=1, dropouts=("between_reps:both:1",))
    cfg = SimulationConfig(reps=3, dropouts=("peak@2:both:1",))
    assert cfg.dropouts == (Dropout.parse("peak@2:both:1"),)
    assert SimulationConfig.from_dict(cfg.to_dict()) == cfg


def _delivered_inside(sim, sensor: str, a: float, b: float) -> int:
    t = sim.truth.sensors[sensor].t_true_s
    return int(np.count_nonzero((t >= a) & (t < b)))


@pytest.mark.parametrize("sensors", ["both", "thigh", "pelvis"])
def test_holes_are_where_the_truth_says(sensors: str) -> None:
    cfg = _no_loss(exercise="knee_raise", reps=4, seed=7,
                   dropouts=(f"peak@2:{sensors}:1.0", f"between_reps@3:{sensors}:0.8", f"20.0:{sensors}:0.3"))
    sim = simulate(cfg)
    tr = sim.truth
    assert len(tr.dropouts) == 3
    for hole in tr.dropouts:
        for sensor in ("thigh", "pelvis"):
            n = _delivered_inside(sim, sensor, hole.start_s, hole.end_s)
            if hole.covers(sensor):
                assert n == 0, (hole, sensor)
                # the truth's gap and the raw session's gap both span the hole (the raw times carry
                # the recorder's clock-mapping error, <= alignment_error_max_s)
                g = next(g for g in tr.gaps if g.sensor == sensor and g.start_s <= hole.start_s < g.end_s)
                assert g.cause == "dropout" and g.reported and g.end_s >= hole.end_s
                tol = cfg.alignment_error_max_s + 1e-6
                assert any(r.sensor == sensor and abs(r.start_s - g.start_s) <= tol and abs(r.end_s - g.end_s) <= tol
                           for r in sim.raw.gaps)
            else:
                assert n > 0.8 * (hole.end_s - hole.start_s) * cfg.thigh_rate_hz
    # with no packet loss, the raw session's gaps are exactly the planned holes
    assert len(sim.raw.gaps) == sum(2 if h.sensors == "both" else 1 for h in tr.dropouts)
    assert all(g.cause == "dropout" for g in tr.gaps)
    # the holes land where their names say
    peak_hole, rest_hole, fixed = tr.dropouts
    r2, r3, r4 = tr.reps[1], tr.reps[2], tr.reps[3]
    assert peak_hole.rep == 2 and peak_hole.start_s < r2.peak_s < peak_hole.end_s
    assert rest_hole.rep == 3 and r3.end_s < rest_hole.start_s and rest_hole.end_s < r4.start_s
    assert (fixed.start_s, fixed.end_s) == pytest.approx((20.0, 20.3))


def test_the_truth_says_which_reps_a_hole_cut() -> None:
    sim = simulate(_no_loss(exercise="deep_squat", reps=5, seed=3, rest_between_reps_s=2.5,
                            dropouts=("peak@2:both:1.0", "rise@4:thigh:0.5", "between_reps@1:both:1.5")))
    cut = {r.index: r for r in sim.truth.reps}
    assert [i for i, r in cut.items() if r.cut_by_gap] == [2, 4]
    assert cut[2].peak_in_gap and not cut[4].peak_in_gap
    assert cut[2].gap_s == pytest.approx(1.0, abs=0.03) and cut[2].longest_gap_s == pytest.approx(1.0, abs=0.03)
    assert cut[4].gap_s == pytest.approx(0.5, abs=0.03)
    assert cut[1].gap_s == 0.0 and not cut[1].peak_in_gap  # the hole between reps 1 and 2 cut neither


def test_a_pause_between_every_rep_cuts_none_unless_the_reps_are_back_to_back() -> None:
    sim = simulate(_no_loss(exercise="deep_squat", reps=5, seed=11, **HOLE_SCENARIOS["pause_between_every_rep"]))
    assert len(sim.truth.dropouts) == 4
    assert not any(r.cut_by_gap for r in sim.truth.reps)
    assert len(sim.raw.gaps) == 8  # four pauses, both sensors
    tight = simulate(_no_loss(exercise="deep_squat", reps=5, seed=11, **HOLE_SCENARIOS["back_to_back_reps_paused"]))
    assert all(r.cut_by_gap and not r.peak_in_gap for r in tight.truth.reps)  # ends and starts, never peaks


@pytest.mark.parametrize("burst", [1.0, 10.0])
@pytest.mark.parametrize("loss", [0.01, 0.05])
def test_random_packet_loss_rate_bursts_and_the_stand(loss: float, burst: float) -> None:
    cfg = SimulationConfig.ideal(exercise="knee_raise", reps=12, seed=5, packet_loss=loss,
                                 packet_loss_burst_samples=burst, packet_loss_in_stand=True)
    sim = simulate(cfg)
    tr = sim.truth
    for sensor in ("thigh", "pelvis"):
        gaps = [g for g in tr.gaps if g.sensor == sensor]
        lost = sum(g.samples_lost for g in gaps)
        due = len(tr.sensors[sensor].t_true_s) + lost
        assert lost == tr.sensors[sensor].samples_lost
        assert loss * 0.6 < lost / due < loss * 1.5, (sensor, lost / due)
        assert burst * 0.6 < lost / len(gaps) < burst * 1.6 + 0.5
        assert all(g.cause == "packet_loss" for g in gaps)
        # the raw session reports exactly the runs long enough to be gaps (> 3 sample periods)
        reported = [g for g in gaps if g.reported]
        assert len(reported) == len([g for g in sim.raw.gaps if g.sensor == sensor])
        assert all(g.samples_lost >= 2 for g in reported)
    assert any(g.start_s < tr.calibration_end_s for g in tr.gaps)  # the stand loses packets too
    spared = simulate(cfg.with_(packet_loss_in_stand=False)).truth
    assert not any(g.start_s < spared.calibration_end_s for g in spared.gaps)


def test_a_lost_packet_lands_inside_the_calibration_stand() -> None:
    starts = []
    for seed in range(6):
        sim = simulate(_no_loss(reps=1, seed=seed, **HOLE_SCENARIOS["lost_packet_in_stand"]))
        (hole,) = sim.truth.dropouts
        assert hole.start_s > 0.0 and hole.end_s < sim.truth.calibration_end_s
        assert hole.end_s - hole.start_s == pytest.approx(0.04)
        assert _delivered_inside(sim, "thigh", hole.start_s, hole.end_s) == 0
        starts.append(hole.start_s)
    assert np.ptp(starts) > 0.5  # anywhere in the stand, not always at one place


@pytest.mark.parametrize("where", ["end", "between_sets"])
def test_the_calibration_stand_may_be_between_sets_or_at_the_end(where: str) -> None:
    cfg = SimulationConfig(exercise="knee_raise", reps=3, sets=2, seed=4, stand_s=0.5, calibration_stand=where,
                           end_stand_s=3.0, dropouts=("stand:both:0.04",))
    sim = simulate(cfg)
    tr = sim.truth
    a, b = tr.calibration_start_s, tr.calibration_end_s
    assert b - a >= MIN_CALIBRATION_STAND_S
    assert (a, b) in tr.quiet_stands
    first, last = tr.reps[0], tr.reps[-1]
    if where == "end":
        assert a > last.end_s and b == pytest.approx(tr.duration_s)
    else:
        assert tr.reps[2].end_s < a < b < tr.reps[3].start_s
    assert first.start_s < 1.5  # no quiet stand at the start
    assert not any(q[0] == 0.0 for q in tr.quiet_stands)
    cal = (tr.t_s >= a) & (tr.t_s <= b)
    assert abs(tr.pelvic_tilt_deg[cal].mean()) < 0.01  # tilt is relative to this stand
    assert np.ptp(tr.hip_flexion_deg[cal]) < 1.5 and np.ptp(tr.pelvic_tilt_deg[cal]) < 1.5  # sway only
    (hole,) = tr.dropouts
    assert a < hole.start_s < hole.end_s < b
    with pytest.raises(SimulationConfigError, match="end_stand_s"):
        SimulationConfig(stand_s=0.5, calibration_stand="end", end_stand_s=1.0)
    with pytest.raises(SimulationConfigError, match="stand_s"):
        SimulationConfig(stand_s=0.5)


@pytest.mark.parametrize("name", sorted(HOLE_SCENARIOS))
def test_every_named_scenario_simulates_with_a_consistent_truth(name: str, tmp_path) -> None:
    cfg = SimulationConfig(exercise="deep_squat", reps=3, seed=1, **HOLE_SCENARIOS[name])
    sim = simulate(cfg)
    tr = sim.truth
    for sensor in ("thigh", "pelvis"):
        assert sum(g.reported for g in tr.gaps if g.sensor == sensor) == len(
            [g for g in sim.raw.gaps if g.sensor == sensor])
    for hole in tr.dropouts:
        assert 0.0 <= hole.start_s < hole.end_s <= tr.duration_s
    if name.startswith(("pause_between", "2s_between", "5s_between")):  # holes between rested reps cut none
        assert not any(g.cause == "dropout" and r.start_s < g.end_s and g.start_s < r.end_s
                       for g in tr.gaps for r in tr.reps)
    back = Truth.from_json(tr.to_json())
    assert back.gaps == tr.gaps and back.dropouts == tr.dropouts and back.reps == tr.reps
    assert back.quiet_stands == tr.quiet_stands
    assert SimulationConfig.from_dict(back.config) == cfg
