"""`rehab simulate`: a virtual patient's session → raw-session CSV + ``<name>.truth.json`` beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rehab.commands.errors import fail
from tracker.conventions import EXERCISES, SIDES


def _parse_indices(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    if text.strip() == "":
        return ()
    try:
        return tuple(int(x) for x in text.replace(";", ",").split(",") if x.strip())
    except ValueError:
        fail(f"{option} {text!r}: expected comma-separated 1-based rep numbers, e.g. '2,5,9'")


def _parse_range(text: str | None, option: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        fail(f"{option} {text!r}: expected LOW,HIGH in degrees, e.g. '5,15'")
    return (lo, hi)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rehab` app."""

    @app.command("simulate")
    def simulate_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="Raw-session CSV to write (truth JSON goes beside it).")],
        exercise: Annotated[str, typer.Option(help=f"Drill: {', '.join(EXERCISES)}.")] = "knee_raise",
        side: Annotated[str, typer.Option(help="Exercised leg: left or right.")] = "right",
        reps: Annotated[int, typer.Option(help="Repetitions per set.")] = 10,
        sets: Annotated[int, typer.Option(help="Number of sets (rest and fidgeting in between).")] = 1,
        seed: Annotated[int, typer.Option(help="Random seed (same seed = same session).")] = 0,
        rate: Annotated[float | None, typer.Option(help="Both sensors' rate, Hz (25-200).")] = None,
        thigh_rate: Annotated[float | None, typer.Option(help="Thigh sensor rate, Hz.")] = None,
        pelvis_rate: Annotated[float | None, typer.Option(help="Pelvis sensor rate, Hz.")] = None,
        amplitude: Annotated[float | None, typer.Option(help="Target signed peak hip flexion, deg.")] = None,
        hold: Annotated[float, typer.Option(help="Hold at the top, s.")] = 1.0,
        misplacement: Annotated[float, typer.Option(help="Max random sensor misplacement, deg.")] = 25.0,
        compensation_prob: Annotated[float, typer.Option(help="Fraction of reps with compensation.")] = 0.3,
        compensated_reps: Annotated[str | None, typer.Option(help="Exact compensated reps, e.g. '2,5'.")] = None,
        partial_prob: Annotated[float, typer.Option(help="Fraction of partial reps.")] = 0.1,
        partial_reps: Annotated[str | None, typer.Option(help="Exact partial reps, e.g. '3'.")] = None,
        onset: Annotated[float | None, typer.Option(help="|Hip flexion| where compensation starts, deg.")] = None,
        threshold: Annotated[float, typer.Option(help="Compensation threshold, deg.")] = 10.0,
        stand: Annotated[float, typer.Option(help="Quiet standing (calibration) at the start, s (>= 2).")] = 3.0,
        packet_loss: Annotated[float, typer.Option(help="Fraction of samples lost (in bursts).")] = 0.01,
        magnetometer: Annotated[bool, typer.Option("--magnetometer/--no-magnetometer", help="Add mx,my,mz.")] = False,
        ideal: Annotated[bool, typer.Option("--ideal", help="Perfect sensors: no noise, bias, misplacement, loss.")] = False,
        realistic: Annotated[bool, typer.Option(
            "--realistic", help="What makes real hips hard, drawn from the seed: 3-DoF hip, soft tissue, "
            "anthropometry, 3°/s gyro bias, 50-120 Hz, slow reps (SimulationConfig.realistic).")] = False,
        scenario: Annotated[str | None, typer.Option(
            help="A named gap/loss case (simulation.HOLE_SCENARIOS), e.g. pause_between_every_rep.")] = None,
        dropout: Annotated[list[str] | None, typer.Option(
            help="A data hole WHERE[@REP]:SENSORS:SECONDS, e.g. peak@3:both:1.0 or stand:thigh:0.04 "
            "(WHERE: stand, between_reps, rise, peak, lower or a start time; repeatable).")] = None,
        hip_abduction: Annotated[str | None, typer.Option(help="Per-rep peak hip abduction range, deg, e.g. '10,20'.")] = None,
        hip_rotation: Annotated[str | None, typer.Option(help="Per-rep peak hip rotation range (+ internal), deg.")] = None,
        soft_tissue: Annotated[float | None, typer.Option(help="Thigh soft-tissue artefact, peak deg.")] = None,
        random_anatomy: Annotated[bool | None, typer.Option(
            "--random-anatomy/--nominal-anatomy", help="Joint centres and sensor positions from anthropometric ranges.")] = None,
        gyro_bias: Annotated[float | None, typer.Option(help="Max constant gyro bias per axis, deg/s.")] = None,
        tempo_scale: Annotated[float | None, typer.Option(help="Rise/lowering time × this (2 = slow reps).")] = None,
        loss_burst: Annotated[float | None, typer.Option(help="Mean packet-loss burst, samples (1 = independent).")] = None,
        loss_in_stand: Annotated[bool, typer.Option("--loss-in-stand", help="Lose packets in the calibration stand too.")] = False,
        calibration_stand: Annotated[str | None, typer.Option(
            help="Where the >= 2 s quiet stand is: start, between_sets or end.")] = None,
        end_stand: Annotated[float | None, typer.Option(help="Quiet standing at the end, s.")] = None,
    ) -> None:
        """Simulate a session of one drill and write the raw CSV + ground truth."""
        import math

        from simulation import HOLE_SCENARIOS, SimulationConfig, SimulationConfigError, simulate

        if exercise not in EXERCISES:
            fail(f"--exercise {exercise!r}: expected one of {', '.join(EXERCISES)}")
        if side not in SIDES:
            fail(f"--side {side!r}: expected left or right")
        if out.exists() and out.is_dir():
            fail(f"--out {out}: is a directory; give a file name such as session.csv")
        if not out.parent.exists():
            fail(f"--out {out}: folder {out.parent} does not exist")
        # SimulationConfig's keyword arguments from the options; its __post_init__ validates each
        # (a TypedDict would repeat its 63 fields).
        kw: dict[str, Any] = dict(
            exercise=exercise, side=side, reps=reps, sets=sets, seed=seed, amplitude_deg=amplitude,
            hold_s=hold, misplacement_max_deg=misplacement, compensation_prob=compensation_prob,
            compensated_reps=_parse_indices(compensated_reps, "--compensated-reps"),
            partial_rep_prob=partial_prob, partial_reps=_parse_indices(partial_reps, "--partial-reps"),
            compensation_threshold_deg=threshold, packet_loss=packet_loss, with_magnetometer=magnetometer,
            compensation_onset_deg=onset, stand_s=stand,
        )
        if ideal and realistic:
            fail("--ideal and --realistic exclude each other")
        if scenario is not None:
            if scenario not in HOLE_SCENARIOS:
                fail(f"--scenario {scenario!r}: expected one of {', '.join(HOLE_SCENARIOS)}")
            kw.update(HOLE_SCENARIOS[scenario])
        optional: dict[str, object | None] = dict(
            hip_abduction_range_deg=_parse_range(hip_abduction, "--hip-abduction"),
            hip_rotation_range_deg=_parse_range(hip_rotation, "--hip-rotation"),
            soft_tissue_deg=soft_tissue, random_anatomy=random_anatomy,
            gyr_bias_max_rad_s=None if gyro_bias is None else math.radians(gyro_bias),
            tempo_scale=tempo_scale, packet_loss_burst_samples=loss_burst,
            packet_loss_in_stand=True if loss_in_stand else None,
            calibration_stand=calibration_stand, end_stand_s=end_stand,
        )
        kw.update({k: v for k, v in optional.items() if v is not None})
        if dropout:
            kw["dropouts"] = tuple(kw.get("dropouts", ())) + tuple(dropout)
        if rate is not None:
            kw["thigh_rate_hz"] = kw["pelvis_rate_hz"] = rate
        if thigh_rate is not None:
            kw["thigh_rate_hz"] = thigh_rate
        if pelvis_rate is not None:
            kw["pelvis_rate_hz"] = pelvis_rate
        try:
            if ideal:
                kw.pop("misplacement_max_deg")
                kw.pop("packet_loss")
                config = SimulationConfig.ideal(**kw)
            elif realistic:
                config = SimulationConfig.realistic(**kw)
            else:
                config = SimulationConfig(**kw)
        except SimulationConfigError as exc:
            fail(str(exc))

        console = Console(stderr=True)
        with console.status(f"simulating {sets}×{reps} {exercise} ({side})…", spinner="dots"):
            sim = simulate(config)
            _, truth_path = sim.save(out)
        t = sim.truth
        n_comp = sum(r.compensated for r in t.reps)
        n_part = sum(r.partial for r in t.reps)
        n_cut = sum(r.cut_by_gap for r in t.reps)
        console.print(
            f"[green]wrote[/] {out} ({len(sim.raw.thigh)} thigh + {len(sim.raw.pelvis)} pelvis samples, "
            f"{t.duration_s:.1f} s, {len(sim.raw.gaps)} gaps) and {truth_path} "
            f"({t.rep_count} reps, {n_part} partial, {n_comp} compensated, {n_cut} cut by a gap)"
        )
