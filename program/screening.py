"""Sensor-based screening: one short session per drill mapped to the article's "right for you if" rules.

The article (seed, "How to Train the Psoas Muscle"): strengthening is right for everyone;
lengthening mobility (hip extension) for low back pain, anterior pelvic tilt and difficulty extending
the leg behind the body; shortening mobility (hip flexion) for trouble sinking into a deep squat or
raising the knee without the lower back rounding. The sensors can see three of those signs:

- knee raise  -> the hip flexion at which the pelvis starts rounding (posterior tilt onset),
- hip extension -> active extension range and the anterior tilt that comes with it,
- deep squat  -> depth (peak hip flexion) and butt wink.

Every output is a *recommendation* with its reason in words and numbers; the therapist confirms or
rejects it. Nothing here diagnoses (see ``DISCLAIMER``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

from program.catalogue import DISCLAIMER, DRILLS, SOURCE_ARTICLE
from program.errors import RuleParameterError, ScreeningInputError
from tracker.conventions import EXERCISES, Exercise, Side
from tracker.results import Rep, SessionAnalysis, json_safe

RecommendationStatus = Literal["pending", "confirmed", "rejected"]
RECOMMENDATION_STATUSES: Final[tuple[RecommendationStatus, ...]] = ("pending", "confirmed", "rejected")


# --------------------------------------------------------------------------------------------
# Findings: what was measured, per drill (medians over the full reps of the screening session)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KneeRaiseFindings:
    rep_count: int
    peak_hip_flexion_deg: float
    rounding_rep_count: int
    rounding_fraction: float
    rounding: bool
    #: Median hip flexion at which rounding began over the rounding reps; None if no rounding
    #: (or the pipeline reported rounding without an onset angle).
    rounding_onset_hip_deg: float | None
    #: Median posterior tilt (magnitude, degrees) over the rounding reps; 0 when none.
    rounding_deg: float
    compensation_threshold_deg: float


@dataclass(frozen=True, slots=True)
class HipExtensionFindings:
    rep_count: int
    #: Active hip extension range, positive degrees (median of the reps' extension extremes).
    active_extension_deg: float
    #: Median anterior tilt change over all full reps (degrees, magnitude).
    anterior_tilt_deg: float
    anterior_tilt_rep_count: int
    anterior_tilt_fraction: float
    anterior_tilt: bool
    mean_hold_s: float
    compensation_threshold_deg: float


@dataclass(frozen=True, slots=True)
class DeepSquatFindings:
    rep_count: int
    #: Squat depth = median peak hip flexion over the full reps, degrees.
    depth_deg: float
    #: Median butt wink magnitude over all full reps, degrees.
    butt_wink_deg: float
    butt_wink_rep_count: int
    butt_wink_fraction: float
    butt_wink: bool
    compensation_threshold_deg: float


@dataclass(frozen=True, slots=True)
class Evidence:
    """One sign a rule looked at: what, the value, the threshold it was compared with, whether it
    points to the drill, and where it came from (the sensors or the patient's answer)."""

    sign: str
    value: str
    threshold: str
    met: bool
    source: Literal["sensors", "answer"]


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One drill's verdict. ``recommended`` is the rules' proposal; ``status`` is the therapist's.
    ``evidence`` lists every sign looked at; ``article`` is the article's own sentence."""

    drill: Exercise
    recommended: bool
    reasons: tuple[str, ...]
    status: RecommendationStatus = "pending"
    note: str = ""
    evidence: tuple[Evidence, ...] = ()
    article: str = ""

    def confirm(self, note: str = "") -> Recommendation:
        return replace(self, status="confirmed", note=note)

    def reject(self, note: str = "") -> Recommendation:
        return replace(self, status="rejected", note=note)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        d["evidence"] = [asdict(e) for e in self.evidence]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recommendation:
        status = d.get("status", "pending")
        if status not in RECOMMENDATION_STATUSES:
            raise ScreeningInputError(
                f"recommendation for {d.get('drill')!r}: unknown status {status!r}; "
                f"expected one of {', '.join(RECOMMENDATION_STATUSES)}"
            )
        if d.get("drill") not in EXERCISES:
            raise ScreeningInputError(f"recommendation: unknown drill {d.get('drill')!r}")
        return cls(
            drill=d["drill"],
            recommended=bool(d["recommended"]),
            reasons=tuple(d["reasons"]),
            status=status,
            note=d.get("note", ""),
            evidence=tuple(Evidence(**e) for e in d.get("evidence", ())),
            article=d.get("article", ""),
        )


@dataclass(frozen=True, slots=True)
class Question:
    """A question the sensors cannot answer (the article's criteria that only the patient knows)."""

    key: str
    text: str


#: The article's criteria the sensors cannot see, asked in the assessment (yes / no).
QUESTIONS: Final[tuple[Question, ...]] = (
    Question("low_back_pain", "Do you have pain in your lower back?"),
    Question("trouble_sitting_straight", "Is it hard to sit up in a chair with your back straight?"),
    Question("trouble_extending_leg", "Is it hard to move your leg back, behind your body?"),
)


@dataclass(frozen=True, slots=True)
class ScreeningAnswers:
    """The patient's answers to ``QUESTIONS`` (None: not answered)."""

    low_back_pain: bool | None = None
    trouble_sitting_straight: bool | None = None
    trouble_extending_leg: bool | None = None

    def to_dict(self) -> dict[str, bool | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ScreeningAnswers:
        d = d or {}
        unknown = set(d) - {q.key for q in QUESTIONS}
        if unknown:
            raise ScreeningInputError(f"screening answers: unknown question(s) {', '.join(sorted(unknown))}")
        for k, v in d.items():
            if v is not None and not isinstance(v, bool):
                raise ScreeningInputError(f"screening answers: {k}={v!r}; use true, false or null")
        return cls(**d)

    @property
    def complete(self) -> bool:
        return all(v is not None for v in asdict(self).values())


def _yes(v: bool | None) -> str:
    return "not answered" if v is None else "yes" if v else "no"


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    side: Side | None
    knee_raise: KneeRaiseFindings | None
    hip_extension: HipExtensionFindings | None
    deep_squat: DeepSquatFindings | None
    #: One per drill, in catalogue order (strengthening first).
    recommendations: tuple[Recommendation, ...]
    #: What could not be screened and why (missing drills, too few reps).
    notes: tuple[str, ...]
    #: The rule parameters used, so a stored result can be explained later.
    rules: dict[str, float] = field(default_factory=dict)
    disclaimer: str = DISCLAIMER
    source: str = SOURCE_ARTICLE
    answers: ScreeningAnswers = field(default_factory=ScreeningAnswers)

    def recommendation(self, drill: str) -> Recommendation:
        for r in self.recommendations:
            if r.drill == drill:
                return r
        raise ScreeningInputError(f"screening has no recommendation for drill {drill!r}")

    @property
    def recommended_drills(self) -> tuple[Exercise, ...]:
        """Drills the rules propose (whatever the therapist decided)."""
        return tuple(r.drill for r in self.recommendations if r.recommended)

    @property
    def prescribed_drills(self) -> tuple[Exercise, ...]:
        """Drills to prescribe after review: recommended and confirmed, or not recommended and rejected."""
        return tuple(
            r.drill
            for r in self.recommendations
            if (r.recommended and r.status == "confirmed")
            or (not r.recommended and r.status == "rejected")
        )

    @property
    def pending(self) -> bool:
        return any(r.status == "pending" for r in self.recommendations)

    def with_decision(
        self, drill: str, status: RecommendationStatus, note: str = ""
    ) -> ScreeningResult:
        """A copy with the therapist's decision on one drill's recommendation."""
        if status not in RECOMMENDATION_STATUSES:
            raise ScreeningInputError(
                f"unknown status {status!r}; expected one of {', '.join(RECOMMENDATION_STATUSES)}"
            )
        self.recommendation(drill)  # validates the drill
        recs = tuple(
            replace(r, status=status, note=note) if r.drill == drill else r
            for r in self.recommendations
        )
        return replace(self, recommendations=recs)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "side": self.side,
                "knee_raise": asdict(self.knee_raise) if self.knee_raise else None,
                "hip_extension": asdict(self.hip_extension) if self.hip_extension else None,
                "deep_squat": asdict(self.deep_squat) if self.deep_squat else None,
                "recommendations": [r.to_dict() for r in self.recommendations],
                "notes": list(self.notes),
                "rules": dict(self.rules),
                "disclaimer": self.disclaimer,
                "source": self.source,
                "answers": self.answers.to_dict(),
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScreeningResult:
        def opt(kind: type[Any], key: str) -> Any:
            v = d.get(key)
            return None if v is None else kind(**v)

        return cls(
            side=d.get("side"),
            knee_raise=opt(KneeRaiseFindings, "knee_raise"),
            hip_extension=opt(HipExtensionFindings, "hip_extension"),
            deep_squat=opt(DeepSquatFindings, "deep_squat"),
            recommendations=tuple(Recommendation.from_dict(r) for r in d["recommendations"]),
            notes=tuple(d.get("notes", ())),
            rules=dict(d.get("rules", {})),
            disclaimer=d.get("disclaimer", DISCLAIMER),
            source=d.get("source", SOURCE_ARTICLE),
            answers=ScreeningAnswers.from_dict(d.get("answers")),
        )


@dataclass(frozen=True, slots=True)
class ScreeningStep:
    """One part of the screening session as the patient is asked to do it."""

    drill: Exercise
    reps: int
    instructions: tuple[str, ...]


#: The screening session: a few reps of each drill, each recording starting with the calibration stand.
SCREENING_PROTOCOL: Final[tuple[ScreeningStep, ...]] = (
    ScreeningStep(
        "knee_raise",
        5,
        (
            "Stand still for 3 seconds.",
            "Then lift your knee as high as you can, 5 times, slowly.",
            "Start with your foot on the floor.",
        ),
    ),
    ScreeningStep(
        "hip_extension",
        5,
        (
            "Stand still for 3 seconds, holding a support.",
            "Then move your leg back as far as you can, 5 times. Hold 2 seconds at the back.",
        ),
    ),
    ScreeningStep(
        "deep_squat",
        5,
        (
            "Stand still for 3 seconds.",
            "Then squat as deep as is comfortable, 5 times, slowly. Hold a support if you need to.",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------


class ScreeningRules:
    """The article's "right for you if" rules with the sensor thresholds as parameters.

    Parameters
    ----------
    normal_active_extension_deg
        Active hip extension below this is "difficulty extending the leg behind the body".
        Default 15° (active hip extension in healthy adults is roughly 10–20°; passive more).
    min_squat_depth_deg
        Squat depth (peak hip flexion) below this is "a hard time sinking into a deeper squat".
        Default 100°.
    rounding_onset_max_hip_deg
        Rounding that starts below this hip flexion during the knee raise is "can't raise your knee
        without your lower back rounding". Default 90° (thigh horizontal): rounding from 60° of hip
        flexion recommends shortening; a little posterior tilt near end range above 90° does not.
    min_compensated_fraction
        A compensation (rounding, anterior tilt, butt wink) counts as present when at least this
        fraction of the full reps show it (per the session's own threshold). Default 0.5.
    min_reps
        Fewer full (non-partial) reps than this and the drill is reported as not screened. Default 2.
    """

    def __init__(
        self,
        normal_active_extension_deg: float = 15.0,
        min_squat_depth_deg: float = 100.0,
        rounding_onset_max_hip_deg: float = 90.0,
        min_compensated_fraction: float = 0.5,
        min_reps: int = 2,
    ) -> None:
        self.normal_active_extension_deg = normal_active_extension_deg
        self.min_squat_depth_deg = min_squat_depth_deg
        self.rounding_onset_max_hip_deg = rounding_onset_max_hip_deg
        self.min_compensated_fraction = min_compensated_fraction
        self.min_reps = min_reps
        self._validate()

    def _validate(self) -> None:
        for name, lo, hi in (
            ("normal_active_extension_deg", 0.0, 60.0),
            ("min_squat_depth_deg", 0.0, 160.0),
            ("rounding_onset_max_hip_deg", 0.0, 160.0),
        ):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo < v <= hi):
                raise RuleParameterError(
                    f"ScreeningRules: {name}={v!r} is out of range; use a number of degrees in ({lo:g}, {hi:g}]"
                )
        f = self.min_compensated_fraction
        if not (isinstance(f, (int, float)) and 0.0 < f <= 1.0):
            raise RuleParameterError(
                f"ScreeningRules: min_compensated_fraction={f!r} is out of range; use a fraction in (0, 1]"
            )
        if not (isinstance(self.min_reps, int) and self.min_reps >= 1):
            raise RuleParameterError(
                f"ScreeningRules: min_reps={self.min_reps!r} is invalid; use an integer >= 1"
            )

    def get_params(self) -> dict[str, float]:
        return {
            "normal_active_extension_deg": float(self.normal_active_extension_deg),
            "min_squat_depth_deg": float(self.min_squat_depth_deg),
            "rounding_onset_max_hip_deg": float(self.rounding_onset_max_hip_deg),
            "min_compensated_fraction": float(self.min_compensated_fraction),
            "min_reps": float(self.min_reps),
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.get_params())
        return f"ScreeningRules({args})"

    # ---- measurement ------------------------------------------------------------------------

    def _full_reps(
        self, session: SessionAnalysis | None, drill: Exercise, notes: list[str]
    ) -> list[Rep] | None:
        label = DRILLS[drill].title
        if session is None:
            notes.append(
                f"{label}: not measured in this screening; the rules that use it say so in their reasons."
            )
            return None
        if session.exercise != drill:
            raise ScreeningInputError(
                f"screening: {drill}= was given a {session.exercise!r} session; "
                f"pass each session under its own drill name"
            )
        full = [r for r in session.reps if not r.partial]
        if len(full) < self.min_reps:
            notes.append(
                f"{label}: only {len(full)} full rep(s) of {len(session.reps)} detected "
                f"(need {self.min_reps}); repeat this part of the screening."
            )
            return None
        return full

    def _knee_raise(self, s: SessionAnalysis, reps: list[Rep]) -> KneeRaiseFindings:
        rounding = [r for r in reps if r.compensation]
        onsets = [r.compensation_onset_hip_deg for r in rounding if r.compensation_onset_hip_deg is not None]
        frac = len(rounding) / len(reps)
        present = frac >= self.min_compensated_fraction
        return KneeRaiseFindings(
            rep_count=len(reps),
            peak_hip_flexion_deg=statistics.median(r.peak_hip_flexion_deg for r in reps),
            rounding_rep_count=len(rounding),
            rounding_fraction=frac,
            rounding=present,
            rounding_onset_hip_deg=statistics.median(onsets) if present and onsets else None,
            rounding_deg=statistics.median(abs(r.compensation_deg) for r in rounding) if rounding else 0.0,
            compensation_threshold_deg=s.threshold_deg,
        )

    def _hip_extension(self, s: SessionAnalysis, reps: list[Rep]) -> HipExtensionFindings:
        tilted = [r for r in reps if r.compensation]
        frac = len(tilted) / len(reps)
        return HipExtensionFindings(
            rep_count=len(reps),
            active_extension_deg=statistics.median(-r.peak_hip_flexion_deg for r in reps),
            anterior_tilt_deg=statistics.median(abs(r.compensation_deg) for r in reps),
            anterior_tilt_rep_count=len(tilted),
            anterior_tilt_fraction=frac,
            anterior_tilt=frac >= self.min_compensated_fraction,
            mean_hold_s=statistics.fmean(r.hold_s for r in reps),
            compensation_threshold_deg=s.threshold_deg,
        )

    def _deep_squat(self, s: SessionAnalysis, reps: list[Rep]) -> DeepSquatFindings:
        winked = [r for r in reps if r.compensation]
        frac = len(winked) / len(reps)
        return DeepSquatFindings(
            rep_count=len(reps),
            depth_deg=statistics.median(r.peak_hip_flexion_deg for r in reps),
            butt_wink_deg=statistics.median(abs(r.compensation_deg) for r in reps),
            butt_wink_rep_count=len(winked),
            butt_wink_fraction=frac,
            butt_wink=frac >= self.min_compensated_fraction,
            compensation_threshold_deg=s.threshold_deg,
        )

    # ---- the rules ----------------------------------------------------------------------------

    def evaluate(
        self,
        *,
        knee_raise: SessionAnalysis | None = None,
        hip_extension: SessionAnalysis | None = None,
        deep_squat: SessionAnalysis | None = None,
        answers: ScreeningAnswers | None = None,
    ) -> ScreeningResult:
        """Measure each given screening session and apply the article's rules, together with the
        patient's ``answers`` to the questions the sensors cannot answer (``QUESTIONS``).

        A missing drill (None) or one with too few full reps is reported in ``notes``; the rules
        that need it then say so in their reasons instead of guessing.
        """
        answers = answers or ScreeningAnswers()
        given = [s for s in (knee_raise, hip_extension, deep_squat) if s is not None]
        sides = {s.side for s in given}
        if len(sides) > 1:
            raise ScreeningInputError(
                f"screening mixes sides {sorted(sides)}; screen one side at a time"
            )
        side = next(iter(sides)) if sides else None

        notes: list[str] = []
        kr_reps = self._full_reps(knee_raise, "knee_raise", notes)
        he_reps = self._full_reps(hip_extension, "hip_extension", notes)
        ds_reps = self._full_reps(deep_squat, "deep_squat", notes)
        kr = self._knee_raise(knee_raise, kr_reps) if knee_raise is not None and kr_reps else None
        he = (
            self._hip_extension(hip_extension, he_reps)
            if hip_extension is not None and he_reps
            else None
        )
        ds = self._deep_squat(deep_squat, ds_reps) if deep_squat is not None and ds_reps else None

        recs = (
            self._strengthening(kr),
            self._lengthening(he, answers),
            self._shortening(kr, ds, answers),
        )
        return ScreeningResult(
            side=side,
            knee_raise=kr,
            hip_extension=he,
            deep_squat=ds,
            recommendations=recs,
            notes=tuple(notes),
            rules=self.get_params(),
            answers=answers,
        )

    def _strengthening(self, kr: KneeRaiseFindings | None) -> Recommendation:
        reasons = [
            "strengthening is right for everyone (the article starts everyone here and adds the "
            "mobility drills if problems remain)"
        ]
        if kr is not None:
            reasons.append(
                f"knee raise reached {kr.peak_hip_flexion_deg:.0f}° of hip flexion over {kr.rep_count} reps"
            )
        evidence = () if kr is None else (
            Evidence("knee raise: peak hip flexion", f"{kr.peak_hip_flexion_deg:.0f}°", "none (everyone)", True, "sensors"),
        )  # fmt: skip
        return Recommendation(drill="knee_raise", recommended=True, reasons=tuple(reasons), evidence=evidence,
                              article=DRILLS["knee_raise"].article_sentence)  # fmt: skip

    def _lengthening(self, he: HipExtensionFindings | None, answers: ScreeningAnswers) -> Recommendation:
        """The article's three signs: low back pain, anterior pelvic tilt, difficulty extending the
        leg behind the body. Recommended when at least two are present and at least one of them is
        measured (anterior tilt, or limited extension measured by the sensors)."""
        normal = self.normal_active_extension_deg
        article = DRILLS["hip_extension"].article_sentence
        pain = Evidence("lower back pain", _yes(answers.low_back_pain), "yes", answers.low_back_pain is True, "answer")
        hard = Evidence("moving the leg behind the body is hard", _yes(answers.trouble_extending_leg), "yes",
                        answers.trouble_extending_leg is True, "answer")  # fmt: skip
        if he is None:
            return Recommendation(
                drill="hip_extension",
                recommended=False,
                reasons=("hip extension was not measured, so the lengthening rule could not be checked",),
                evidence=(pain, hard),
                article=article,
            )
        limited = he.active_extension_deg < normal
        frac = self.min_compensated_fraction
        evidence = (
            Evidence("active hip extension", f"{he.active_extension_deg:.0f}°", f"< {normal:.0f}° is limited", limited, "sensors"),
            Evidence("anterior pelvic tilt", f"{he.anterior_tilt_deg:.0f}° in {he.anterior_tilt_rep_count} of {he.rep_count} reps",
                     f"≥ {he.compensation_threshold_deg:.0f}° in ≥ {frac:.0%} of reps", he.anterior_tilt, "sensors"),
            pain,
            hard,
        )  # fmt: skip
        ext = (
            f"active hip extension {he.active_extension_deg:.0f}° "
            f"({'below' if limited else 'at or above'} the normal {normal:.0f}°)"
        )
        tilt = (
            f"pelvis tilts forward {he.anterior_tilt_deg:.0f}° "
            f"(in {he.anterior_tilt_rep_count} of {he.rep_count} reps beyond {he.compensation_threshold_deg:.0f}°)"
        )
        difficulty = limited or answers.trouble_extending_leg is True
        signs = [
            name
            for name, present in (
                ("anterior pelvic tilt", he.anterior_tilt),
                ("difficulty extending the leg behind the body", difficulty),
                ("lower back pain", answers.low_back_pain is True),
            )
            if present
        ]
        measured = he.anterior_tilt or limited
        said = [e.sign for e in (pain, hard) if e.met]
        heard = f"; the patient says: {', '.join(said)}" if said else ""
        if len(signs) >= 2 and measured:
            if limited and he.anterior_tilt:
                first = f"{ext} with anterior pelvic tilt: {tilt}"
            elif he.anterior_tilt:
                first = f"anterior pelvic tilt: {tilt}; {ext}"
            else:
                first = f"{ext}; {tilt}"
            reasons = (
                first + heard,
                f"{len(signs)} of the article's 3 signs: {', '.join(signs)}",
                "the article recommends lengthening mobility for anterior pelvic tilt and difficulty "
                "extending the leg behind the body; emphasise active contraction, not a deep stretch",
            )
            return Recommendation(drill="hip_extension", recommended=True, reasons=reasons, evidence=evidence, article=article)
        if limited:
            why = f"{ext} but no anterior tilt compensation: {tilt}"
        elif he.anterior_tilt:
            why = f"{ext}, although {tilt}"
        else:
            why = f"{ext}; {tilt}"
        return Recommendation(
            drill="hip_extension",
            recommended=False,
            reasons=(why + heard, "lengthening needs at least 2 of the 3 signs, one of them measured "
                     "(limited extension together with anterior tilt, or either with the patient's answers)"),
            evidence=evidence,
            article=article,
        )  # fmt: skip

    def _shortening(
        self, kr: KneeRaiseFindings | None, ds: DeepSquatFindings | None, answers: ScreeningAnswers
    ) -> Recommendation:
        """Any one of the article's three signs ("or"): a shallow squat, the knee raise rounding the
        lower back early, or (the patient's answer) a hard time sitting up straight."""
        positive: list[str] = []
        negative: list[str] = []
        evidence: list[Evidence] = []
        max_onset = self.rounding_onset_max_hip_deg
        frac = self.min_compensated_fraction
        if kr is not None:
            onset = "—" if kr.rounding_onset_hip_deg is None else f"{kr.rounding_onset_hip_deg:.0f}°"
            evidence.append(Evidence(
                "knee raise: lower back rounds", f"{kr.rounding_rep_count} of {kr.rep_count} reps (onset {onset})",
                f"≥ {kr.compensation_threshold_deg:.0f}° in ≥ {frac:.0%} of reps, onset below {max_onset:.0f}°",
                kr.rounding and (kr.rounding_onset_hip_deg is None or kr.rounding_onset_hip_deg < max_onset), "sensors",
            ))  # fmt: skip
        if ds is not None:
            evidence.append(Evidence("deep squat: depth", f"{ds.depth_deg:.0f}°", f"< {self.min_squat_depth_deg:.0f}° is shallow",
                                     ds.depth_deg < self.min_squat_depth_deg, "sensors"))  # fmt: skip
        sitting = answers.trouble_sitting_straight
        evidence.append(Evidence("sitting up straight in a chair is hard", _yes(sitting), "yes", sitting is True, "answer"))
        if sitting is True:
            positive.append("the patient says sitting up straight in a chair is hard")
        if kr is None:
            negative.append("knee raise not measured, so rounding during the knee raise was not checked")
        elif kr.rounding:
            if kr.rounding_onset_hip_deg is None:
                positive.append(
                    f"lower back rounds during the knee raise ({kr.rounding_rep_count} of "
                    f"{kr.rep_count} reps, {kr.rounding_deg:.0f}°); onset angle not measured"
                )
            elif kr.rounding_onset_hip_deg < max_onset:
                positive.append(
                    f"pelvis starts rounding at {kr.rounding_onset_hip_deg:.0f}° of hip flexion "
                    f"(threshold {max_onset:.0f}°) in {kr.rounding_rep_count} of {kr.rep_count} knee raises"
                )
            else:
                negative.append(
                    f"pelvis rounds only from {kr.rounding_onset_hip_deg:.0f}° of hip flexion "
                    f"(at or above the threshold {max_onset:.0f}°)"
                )
        else:
            negative.append(
                f"no rounding during the knee raise ({kr.rounding_rep_count} of {kr.rep_count} reps "
                f"beyond {kr.compensation_threshold_deg:.0f}°)"
            )
        min_depth = self.min_squat_depth_deg
        if ds is None:
            negative.append("deep squat not measured, so squat depth was not checked")
        else:
            wink = (
                f"butt wink {ds.butt_wink_deg:.0f}° "
                f"({ds.butt_wink_rep_count} of {ds.rep_count} reps beyond {ds.compensation_threshold_deg:.0f}°)"
            )
            if ds.depth_deg < min_depth:
                positive.append(
                    f"squat depth {ds.depth_deg:.0f}° of hip flexion (below {min_depth:.0f}°); {wink}"
                )
            else:
                negative.append(
                    f"squat depth {ds.depth_deg:.0f}° of hip flexion (at or above {min_depth:.0f}°); {wink}"
                )
        article = DRILLS["deep_squat"].article_sentence
        if positive:
            return Recommendation(
                drill="deep_squat",
                recommended=True,
                reasons=(
                    *positive,
                    "the article recommends shortening mobility for a hard time sinking into a deep "
                    "squat, raising the knee without the lower back rounding, or sitting up straight",
                    *negative,
                ),
                evidence=tuple(evidence),
                article=article,
            )
        return Recommendation(drill="deep_squat", recommended=False, reasons=tuple(negative), evidence=tuple(evidence),
                              article=article)  # fmt: skip

