"""`rehab analyze`: raw-session CSV → hip flexion, pelvic tilt, reps and compensation (the offline path)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rehab.commands.errors import fail
from tracker.conventions import EXERCISES, SIDES


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rehab` app."""

    @app.command("analyze")
    def analyze_cmd(
        raw_csv: Annotated[Path, typer.Argument(help="Raw-session CSV (t,sensor,ax,ay,az,gx,gy,gz).")],
        exercise: Annotated[str, typer.Option(help=f"Drill: {', '.join(EXERCISES)}.")],
        side: Annotated[str, typer.Option(help="Exercised leg: left or right.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as one JSON object.")] = False,
        angles_out: Annotated[Path | None, typer.Option("--angles-out", help="Write t,hip_flexion_deg,pelvic_tilt_deg CSV.")] = None,
        threshold: Annotated[float, typer.Option("--threshold", help="Compensation threshold, degrees.")] = 10.0,
    ) -> None:
        """Analyse one recorded session: reps, peak hip flexion, holds and lumbar compensation."""
        from tracker.calibration import CalibrationError
        from tracker.pipeline import analyze_session
        from tracker.rawcsv import RawCsvError, read_raw_csv

        if exercise not in EXERCISES:
            fail(f"--exercise {exercise!r}: expected one of {', '.join(EXERCISES)}")
        if side not in SIDES:
            fail(f"--side {side!r}: expected left or right")
        if not (math.isfinite(threshold) and threshold > 0):
            fail(f"--threshold {threshold!r}: expected a positive number of degrees")
        if not raw_csv.exists():
            fail(f"{raw_csv}: no such file")
        if raw_csv.is_dir():
            fail(f"{raw_csv}: is a directory, expected a raw-session CSV")
        try:
            raw = read_raw_csv(raw_csv)
        except RawCsvError as exc:
            fail(str(exc) if raw_csv.name in str(exc) else f"{raw_csv}: {exc}")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{raw_csv}: cannot read ({exc})")
        try:
            result = analyze_session(raw, exercise, side, threshold_deg=threshold)
        except CalibrationError as exc:
            fail(f"{raw_csv}: calibration failed: {exc}")
        except ValueError as exc:
            fail(f"{raw_csv}: cannot analyse: {exc}")
        if angles_out is not None:
            try:
                result.angles[["t", "hip_flexion_deg", "pelvic_tilt_deg"]].to_csv(angles_out, index=False, float_format="%.4f")
            except OSError as exc:
                fail(f"--angles-out {angles_out}: cannot write ({exc})")
        if as_json:
            typer.echo(json.dumps(result.to_json_dict(), indent=2, allow_nan=False))
            return
        console = Console()
        s, c = result.summary, result.calibration
        console.print(
            f"[bold]{raw_csv.name}[/] — {exercise} ({side} leg), threshold {threshold:g}°: "
            f"{s.rep_count} reps ({s.partial_rep_count} partial) in {s.set_count} set(s), "
            f"ROM {s.rom_deg:.0f}°, compensation in {s.compensation_count}; calibration {c.quality}"
            + (f" [yellow]({', '.join(c.flags)})[/]" if c.flags else "")
        )
        table = Table(show_lines=False)
        for col in ("#", "set", "start s", "peak s", "end s", "peak hip °", "hold s", "partial", "compensation °",
                    "onset hip °", "confidence"):
            table.add_column(col, justify="right")
        for r in result.reps:
            comp = f"[red]{r.compensation_deg:.1f}[/]" if r.compensation else f"{r.compensation_deg:.1f}"
            conf = _fmt(r.confidence, ".2f")
            table.add_row(
                str(r.index), str(r.set_index + 1), f"{r.start_s:.1f}", f"{r.peak_s:.1f}", f"{r.end_s:.1f}",
                f"{r.peak_hip_flexion_deg:.1f}", f"{r.hold_s:.1f}", "yes" if r.partial else "",
                comp, _fmt(r.compensation_onset_hip_deg), f"[yellow]{conf} low[/]" if r.low_confidence else conf,
            )
        console.print(table)
        for r in result.reps:
            if r.low_confidence:
                console.print(f"rep {r.index}: low confidence — {r.low_confidence_reason or 'no reason given'}", markup=False)
