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

from typing import Final, Literal

#: Standard gravity, m/s².
GRAVITY_M_S2: Final = 9.80665

SensorName = Literal["thigh", "pelvis"]
SENSOR_NAMES: Final[tuple[SensorName, ...]] = ("thigh", "pelvis")

Side = Literal["left", "right"]
SIDES: Final[tuple[Side, ...]] = ("left", "right")

Exercise = Literal["knee_raise", "hip_extension", "deep_squat"]
EXERCISES: Final[tuple[Exercise, ...]] = ("knee_raise", "hip_extension", "deep_squat")

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
    return value  # type: ignore[return-value]


def check_side(value: str) -> Side:
    if value not in SIDES:
        raise ValueError(f"unknown side {value!r}; expected 'left' or 'right'")
    return value  # type: ignore[return-value]


def check_sensor(value: str) -> SensorName:
    if value not in SENSOR_NAMES:
        raise ValueError(f"unknown sensor {value!r}; expected 'thigh' or 'pelvis'")
    return value  # type: ignore[return-value]
