"""The ratings tables, by lifecycle: schemes (sections, items, thresholds), rounds
(applications, assessors, objections, grades) and assessments (scores, evidence files)."""

from eldercare.ratings.models.assessments import (
    Assessment,
    AssessmentKind,
    Evidence,
    Score,
    sniff_type,
)
from eldercare.ratings.models.rounds import (
    FINISHED,
    UNDECIDED,
    VALID_YEARS,
    Application,
    ApplicationStatus,
    Grade,
    Objection,
    Round,
    RoundStatus,
    rating_assessor,
)
from eldercare.ratings.models.schemes import (
    FACILITY_KINDS,
    Item,
    Scheme,
    SchemeKind,
    Section,
    Threshold,
)

__all__ = [
    "FACILITY_KINDS",
    "FINISHED",
    "UNDECIDED",
    "VALID_YEARS",
    "Application",
    "ApplicationStatus",
    "Assessment",
    "AssessmentKind",
    "Evidence",
    "Grade",
    "Item",
    "Objection",
    "Round",
    "RoundStatus",
    "Scheme",
    "SchemeKind",
    "Score",
    "Section",
    "Threshold",
    "rating_assessor",
    "sniff_type",
]
