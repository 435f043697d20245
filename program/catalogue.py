"""The three drills of the seed article, as data the dashboard, the store and the rules share.

Source: "Psoas Muscle – Anatomy Highlight" (/work/shared/seed/000_a50cf8e4f2a4a874.txt): strengthening
for everyone (knee raise, foot on a box, then from the floor), lengthening mobility (hip extension,
active contraction rather than a deep stretch) and shortening mobility (hip flexion, deep squat).
Patient-facing text is short, plain sentences so the dashboard can print it large.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from program.errors import UnknownDrillError
from tracker.conventions import (
    DEFAULT_COMPENSATION_THRESHOLD_DEG,
    DRILL_MOTION,
    EXERCISES,
    DrillMotion,
    Exercise,
)

DrillKind = Literal["strengthening", "lengthening mobility", "shortening mobility"]

#: Where the drills and the rules come from (cited in every recommendation and in docs/program.md).
SOURCE_ARTICLE: Final = "Psoas Muscle – Anatomy Highlight (seed article, /work/shared/seed/)"

#: The article's health-advice disclaimer, applied to the product: it supports, never replaces, a clinician.
DISCLAIMER: Final = (
    "This program supports, and does not replace, your clinician. It is based on typical "
    "presentations and cannot take the place of a professional evaluation. If you have pain or an "
    "injury, get checked before you start, and stop if an exercise hurts."
)


@dataclass(frozen=True, slots=True)
class Stage:
    """A progression level of a drill (knee raise: ``box`` then ``floor``)."""

    key: str
    title: str
    instructions: tuple[str, ...]
    progress_when: str  # when the article says to move on from this stage ("" for the last one)


@dataclass(frozen=True, slots=True)
class Measurement:
    """What the sensors measure in this drill and which compensation they watch for.

    The direction and the compensation's sign and name are the processing core's per-drill facts
    (``tracker.conventions.DRILL_MOTION``, + anterior tilt); this adds the words around them.
    """

    angle: str
    compensation_definition: str
    motion: DrillMotion

    @property
    def angle_direction(self) -> Literal["flexion", "extension"]:
        return self.motion.angle_direction

    @property
    def compensation(self) -> str:
        return self.motion.compensation

    @property
    def compensation_tilt(self) -> Literal["posterior", "anterior"]:
        return self.motion.compensation_tilt

    @property
    def compensation_sign(self) -> int:
        return self.motion.compensation_sign


@dataclass(frozen=True, slots=True)
class DefaultPrescription:
    """What a therapist starts from; every field can be changed per patient.

    ``target_rom_deg`` is positive in the drill's direction (extension degrees for hip extension).
    """

    sets: int
    reps: int
    target_rom_deg: float
    hold_s: float
    compensation_threshold_deg: float
    stage: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Drill:
    key: Exercise
    title: str
    kind: DrillKind
    purpose: str
    right_for_you_if: tuple[str, ...]
    instructions: tuple[str, ...]
    emphasis: str
    measures: Measurement
    default: DefaultPrescription
    stages: tuple[Stage, ...]
    #: Ceiling for target-ROM progression of mobility drills (degrees, drill direction).
    max_target_rom_deg: float
    #: The article's own sentence saying whom the drill is right for (quoted to the therapist).
    article_sentence: str = ""
    #: The warning sign the patient watches for in this drill ("" when there is none).
    warning_sign: str = ""
    #: Where in the movement the prescribed hold is ("at the top" of a knee raise, "at the bottom" of a squat).
    hold_where: str = "at the top"
    source: str = SOURCE_ARTICLE

    def stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        valid = ", ".join(s.key for s in self.stages)
        raise UnknownDrillError(f"drill {self.key!r} has no stage {key!r}; expected one of {valid}")

    def next_stage(self, key: str) -> Stage | None:
        """The stage after ``key``, or None when ``key`` is the last one."""
        keys = [s.key for s in self.stages]
        self.stage(key)  # validates
        i = keys.index(key)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_KNEE_RAISE = Drill(
    key="knee_raise",
    title="Knee raise (psoas strengthening)",
    kind="strengthening",
    purpose=(
        "Strengthens the psoas and iliacus, the muscles that lift your knee. A feeling of tight hip "
        "flexors is often weakness or poor control, so everyone starts here."
    ),
    right_for_you_if=("Everyone. (The article: 'This one is right for you. That's not a typo.')",),
    instructions=(
        "Stand tall. Hold a chair or the wall lightly for balance.",
        "Slowly lift the knee of your exercise leg up toward your chest.",
        "Keep your back tall. Do not let your lower back round.",
        "Pause at the top.",
        "Lower your foot slowly back down.",
    ),
    emphasis="Slow and controlled. Lift only as high as you can keep your back tall.",
    measures=Measurement(
        angle="peak hip flexion (knee height), degrees",
        motion=DRILL_MOTION["knee_raise"],
        compensation_definition=(
            "posterior pelvic tilt change from the rep's start; the hip flexion angle at which it "
            "begins is the rounding onset"
        ),
    ),
    default=DefaultPrescription(
        sets=2,
        reps=10,
        target_rom_deg=90.0,
        hold_s=2.0,
        compensation_threshold_deg=DEFAULT_COMPENSATION_THRESHOLD_DEG,
        stage="box",
    ),
    stages=(
        Stage(
            key="box",
            title="Foot starts on a box",
            instructions=("Start each lift with your foot resting on a low box or step.",),
            progress_when="Move on only when this feels too easy.",
        ),
        Stage(
            key="floor",
            title="Foot starts on the floor",
            instructions=("Take the box away. Start each lift with your foot on the floor.",),
            progress_when="",
        ),
    ),
    max_target_rom_deg=120.0,
    article_sentence=(
        "This one is right for you. That's not a typo. Everyone can benefit from strengthening their "
        "iliopsoas complex."
    ),
    warning_sign=(
        "Warning sign: you can't raise your knee without your lower back rounding. Lift only as high "
        "as your back stays still, and tell your therapist."
    ),
)

_HIP_EXTENSION = Drill(
    key="hip_extension",
    title="Hip extension (lengthening mobility)",
    kind="lengthening mobility",
    purpose=(
        "Moves your leg behind your body with your own muscles, to regain hip extension. "
        "True tightness is often not the problem, so this is active work, not a deep stretch."
    ),
    right_for_you_if=(
        "You have lower back pain.",
        "Your pelvis tips forward (anterior pelvic tilt).",
        "It is hard to move your leg behind your body.",
    ),
    instructions=(
        "Stand tall. Hold a chair or the wall with both hands.",
        "Squeeze the buttock of your exercise leg.",
        "Move that leg straight back, keeping the knee straight.",
        "Keep your lower back still. Do not arch it.",
        "Hold at the back and keep squeezing.",
        "Bring the leg forward slowly.",
    ),
    emphasis=(
        "Work the muscles; this is not a deep stretch. The hold counts: keep squeezing for the "
        "whole hold."
    ),
    measures=Measurement(
        angle="active hip extension (leg behind the body), degrees",
        motion=DRILL_MOTION["hip_extension"],
        compensation_definition="anterior pelvic tilt change from the rep's start",
    ),
    default=DefaultPrescription(
        sets=2,
        reps=10,
        target_rom_deg=15.0,
        hold_s=5.0,
        compensation_threshold_deg=DEFAULT_COMPENSATION_THRESHOLD_DEG,
        stage="standard",
    ),
    stages=(
        Stage(
            key="standard",
            title="Standing active hip extension",
            instructions=("Hold a support with both hands.",),
            progress_when="",
        ),
    ),
    max_target_rom_deg=25.0,
    article_sentence=(
        "This one is right for you if you have lower back pain, anterior pelvic tilt, and difficulty "
        "extending your leg behind your body."
    ),
    warning_sign="Warning sign: your lower back arches as the leg goes back. Move the leg only as far as your back stays still.",
    hold_where="at the back",
)

_DEEP_SQUAT = Drill(
    key="deep_squat",
    title="Deep squat (shortening mobility – hip flexion)",
    kind="shortening mobility",
    purpose=(
        "Trains the hip to bend deeply while the back stays straight: sinking into a squat, "
        "lifting the knee, sitting up tall."
    ),
    right_for_you_if=(
        "It is hard to sink into a deep squat.",
        "You cannot raise your knee without your lower back rounding.",
        "It is hard to sit up straight in a chair.",
    ),
    instructions=(
        "Stand with your feet a little wider than your hips.",
        "Hold a door frame or a sturdy support if you need to.",
        "Sit your hips down and back, as deep as is comfortable.",
        "Keep your chest up and your back straight.",
        "Stop before your lower back tucks under.",
        "Stand back up slowly.",
    ),
    emphasis="Depth with a straight back. Stop before your tailbone tucks under.",
    measures=Measurement(
        angle="squat depth (peak hip flexion), degrees",
        motion=DRILL_MOTION["deep_squat"],
        compensation_definition=(
            "largest anterior tilt during the descent minus the tilt at depth (posterior reversal)"
        ),
    ),
    default=DefaultPrescription(
        sets=2,
        reps=8,
        target_rom_deg=100.0,
        hold_s=3.0,
        compensation_threshold_deg=DEFAULT_COMPENSATION_THRESHOLD_DEG,
        stage="standard",
    ),
    stages=(
        Stage(
            key="standard",
            title="Supported deep squat",
            instructions=("Use a support if you need it.",),
            progress_when="",
        ),
    ),
    max_target_rom_deg=120.0,
    article_sentence=(
        "This one is right for you if you have a hard time sinking into a deeper squat, you can't raise "
        "your knee up without your lower back rounding, or if you have a hard time sitting up in a chair "
        "with your back straight."
    ),
    warning_sign="Warning sign: your tailbone tucks under at the bottom. Stop just above that depth.",
    hold_where="at the bottom",
)

#: The catalogue, in the article's order (strengthening first).
DRILLS: Final[dict[str, Drill]] = {
    d.key: d for d in (_KNEE_RAISE, _HIP_EXTENSION, _DEEP_SQUAT)
}
assert tuple(DRILLS) == EXERCISES


def get_drill(key: str) -> Drill:
    """The catalogue entry for ``key`` with a message that lists the valid drills."""
    try:
        return DRILLS[key]
    except KeyError:
        raise UnknownDrillError(
            f"unknown drill {key!r}; expected one of {', '.join(DRILLS)}"
        ) from None
