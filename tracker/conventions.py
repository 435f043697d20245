"""Units, axes and sign conventions — stated once, imported everywhere.

SI units inside the code: seconds, metres, m/s² (specific force), rad/s, µT.
Angles are radians internally and **degrees at the API edge** (CLI, JSON, CSV, store, dashboard);
names carry the unit (``_deg``, ``_rad``, ``_s``, ``_hz``, ``_us``).

Sensor placement (firmware_specs/README.md and README.md repeat this for wearers):
each sensor is worn with its **+x axis pointing up along the segment (toward the head)** and its
**+z axis pointing out of the body**; +y completes a right-handed frame. The thigh sensor sits on the
lateral thigh of the exercised leg 15–25 cm below the greater trochanter; the pelvis sensor lies flat
over the sacrum. Real placements deviate by up to ±25°; calibration removes that.

At rest the accelerometer reads specific force: about +9.81 m/s² along the up-pointing axis.

Body frame used by the processing core (ISB, Wu et al. 2002): X anterior, Y superior, Z to the
subject's right. Hip flexion is rotation of the thigh relative to the pelvis about the pelvis'
medio-lateral axis: **flexion positive, extension negative**. Pelvic tilt is the pelvis' sagittal
rotation relative to the standing calibration pose: **positive = anterior tilt**, negative =
posterior tilt ("lumbar rounding" in a knee raise is a negative change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

#: Standard gravity, m/s².
GRAVITY_M_S2: Final = 9.80665

SensorName = Literal["thigh", "pelvis"]
SENSOR_NAMES: Final[tuple[SensorName, ...]] = ("thigh", "pelvis")

Side = Literal["left", "right"]
SIDES: Final[tuple[Side, ...]] = ("left", "right")

Exercise = Literal["knee_raise", "hip_extension", "deep_squat"]
EXERCISES: Final[tuple[Exercise, ...]] = ("knee_raise", "hip_extension", "deep_squat")

@dataclass(frozen=True, slots=True)
class DrillMotion:
    """What the processing core knows about a drill: the one table of these facts, read by the core
    (reps, compensation, calibration), the program (program/catalogue.py) and the dashboard."""

    #: Sign of hip flexion in the drill's movement: +1 flexion drills, −1 extension (negative peaks).
    direction: Literal[1, -1]
    #: Excursion above the resting baseline (drill direction) that starts a rep, degrees. Flexion
    #: drills: above the 4–12° leg wiggles people make between sets, below a 35 % partial rep.
    #: Extension: the drill's full range is only ~20°, and fidgets go the other way (flexion).
    enter_deg: float
    #: Sign of the pelvic tilt change that counts as compensation (+ anterior): −1 posterior
    #: (lumbar rounding, butt wink), +1 anterior (lumbar extension).
    compensation_sign: Literal[1, -1]
    #: The compensation's name, and what it looks like, in a patient's words.
    compensation: str
    compensation_plain: str
    #: How the compensation is measured in a rep: the tilt change from the rep's start in the
    #: compensation direction ("from_start"), or the reversal at depth — the largest tilt against
    #: the compensation direction during the descent minus the tilt at the hip peak ("at_depth").
    compensation_measure: Literal["from_start", "at_depth"]
    #: How calibration finds the pelvis' flexion axis: the thigh's rotation relative to the pelvis once
    #: the relative heading is known ("functional"; Seel's hinge cost until then), the pelvis' own
    #: dominant tilt axis ("tilt", symmetric bilateral squat), or the strap placement ("placement":
    #: 20° of extension carry too much coupled rotation/abduction for either).
    pelvis_axis: Literal["functional", "tilt", "placement"]

    @property
    def compensation_tilt(self) -> Literal["posterior", "anterior"]:
        return "posterior" if self.compensation_sign < 0 else "anterior"

    @property
    def angle_direction(self) -> Literal["flexion", "extension"]:
        return "flexion" if self.direction > 0 else "extension"


#: Per drill: direction, rep threshold, compensation sign and calibration method (one place).
DRILL_MOTION: Final[Mapping[str, DrillMotion]] = MappingProxyType(
    {
        "knee_raise": DrillMotion(
            direction=1, enter_deg=20.0, compensation_sign=-1, compensation="lumbar rounding",
            compensation_plain="lower back rounding (pelvis tucking under)", compensation_measure="from_start",
            pelvis_axis="functional",
        ),
        "hip_extension": DrillMotion(
            direction=-1, enter_deg=4.0, compensation_sign=1, compensation="lumbar extension",
            compensation_plain="lower back arching (pelvis tipping forward)", compensation_measure="from_start",
            pelvis_axis="placement",
        ),
        "deep_squat": DrillMotion(
            direction=1, enter_deg=25.0, compensation_sign=-1, compensation="butt wink",
            compensation_plain="pelvis tucking under at the bottom (butt wink)", compensation_measure="at_depth",
            pelvis_axis="tilt",
        ),
    }
)  # fmt: skip


#: Quiet standing required at the start of every recording (the calibration pose), seconds.
MIN_CALIBRATION_STAND_S: Final = 2.0

#: Default compensation threshold (lumbar rounding / butt wink / lumbar extension), degrees.
DEFAULT_COMPENSATION_THRESHOLD_DEG: Final = 10.0

#: Sampling rates the system supports end to end, Hz.
MIN_RATE_HZ: Final = 25.0
MAX_RATE_HZ: Final = 200.0


def check_exercise(value: str) -> Exercise:
    """Validate an exercise name with a message that lists the valid ones."""
    if value not in EXERCISES:
        raise ValueError(f"unknown exercise {value!r}; expected one of {', '.join(EXERCISES)}")
    return value


def check_side(value: str) -> Side:
    if value not in SIDES:
        raise ValueError(f"unknown side {value!r}; expected 'left' or 'right'")
    return value


def check_sensor(value: str) -> SensorName:
    if value not in SENSOR_NAMES:
        raise ValueError(f"unknown sensor {value!r}; expected 'thigh' or 'pelvis'")
    return value
