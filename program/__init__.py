"""The seed article's program: the three drills, the screening rules and progression suggestions.

Everything here proposes; the therapist decides (``Recommendation.status``,
``ProgressionSuggestion.status``). See docs/program.md.
"""

from program.catalogue import (
    DISCLAIMER,
    DRILLS,
    SOURCE_ARTICLE,
    DefaultPrescription,
    Drill,
    Measurement,
    Stage,
    get_drill,
)
from program.errors import (
    ProgramError,
    ProgressionInputError,
    RuleParameterError,
    ScreeningInputError,
    UnknownDrillError,
)
from program.progression import (
    Prescription,
    ProgressionCheck,
    ProgressionRule,
    ProgressionSuggestion,
    SessionCheck,
    SessionOutcome,
    records_to_frame,
    sessions_from_frame,
)
from program.screening import (
    SCREENING_PROTOCOL,
    DeepSquatFindings,
    HipExtensionFindings,
    KneeRaiseFindings,
    Recommendation,
    ScreeningResult,
    ScreeningRules,
    ScreeningStep,
)

__all__ = [
    "DISCLAIMER",
    "DRILLS",
    "SCREENING_PROTOCOL",
    "SOURCE_ARTICLE",
    "DeepSquatFindings",
    "DefaultPrescription",
    "Drill",
    "HipExtensionFindings",
    "KneeRaiseFindings",
    "Measurement",
    "Prescription",
    "ProgramError",
    "ProgressionCheck",
    "ProgressionInputError",
    "ProgressionRule",
    "ProgressionSuggestion",
    "Recommendation",
    "RuleParameterError",
    "ScreeningInputError",
    "ScreeningResult",
    "ScreeningRules",
    "ScreeningStep",
    "SessionCheck",
    "SessionOutcome",
    "Stage",
    "UnknownDrillError",
    "get_drill",
    "records_to_frame",
    "sessions_from_frame",
]
