"""Ground truth: a biomechanical simulator of the three drills with realistic virtual IMUs.

    from simulation import SimulationConfig, simulate
    sim = simulate(SimulationConfig(exercise="knee_raise", side="left", reps=10, sets=2, seed=3))
    sim.raw    # tracker.raw.RawSession, exactly what a recorder delivers (write with tracker.rawcsv)
    sim.truth  # Truth: angles on a uniform grid, every rep, mounting, clocks, holes (Truth.to_json())

    # what makes real hips hard (issue 14): 3-DoF hip, soft tissue, anthropometry, bias, slow reps
    SimulationConfig.realistic(seed=3, exercise="deep_squat", side="left")
    # ... and the holes a real link leaves (named cases; or dropouts=("peak@3:both:1.0",))
    SimulationConfig.realistic(seed=3, **HOLE_SCENARIOS["pause_between_every_rep"])

Conventions (signs, frames, rotation order) are stated once in simulation/_body.py and
truth.py; they are the processing core's (tracker/conventions.py). In pure sagittal motion
thigh elevation = hip flexion − pelvic tilt (tilt + anterior).
"""

from simulation._motion import compensation_measure
from simulation._simulate import SimulatedSession, simulate, truth_path_for
from simulation.config import SimulationConfig, SimulationConfigError
from simulation.holes import HOLE_SCENARIOS, Dropout, PlannedHole
from simulation.truth import SensorTruth, Truth, TruthGap, TruthRep

__all__ = [
    "HOLE_SCENARIOS",
    "Dropout",
    "PlannedHole",
    "SensorTruth",
    "SimulatedSession",
    "SimulationConfig",
    "SimulationConfigError",
    "Truth",
    "TruthGap",
    "TruthRep",
    "compensation_measure",
    "simulate",
    "truth_path_for",
]
