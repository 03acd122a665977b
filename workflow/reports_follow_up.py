"""The outcome report (SPEC §5): per office and review point, what patients told us — and who did not.

A clinic that counts only the patients who answered overstates its results: those who feel better
answer more often. So every figure here keeps the non-responders in view: each row counts the
reviews that were due, the improvement share is given both of those who answered and of all who
were due (a missing answer counts as "not known to be improved", never dropped), and the
definitions travel with the figures (`DEFINITIONS`, also in docs/api.md).
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from offices.models import Office
from workflow.models import Application, FollowUpReview, QuestionnaireAnswer
from workflow.models.application import DEFAULT_PROTOCOL

REVIEW_POINTS = (1, 3, 6, 12, 24)
# The 7-point scale of overall change since treatment, as the questionnaire asks it.
OVERALL_CHANGE = (
    (-3, "very much worse"),
    (-2, "much worse"),
    (-1, "a little worse"),
    (0, "no change"),
    (1, "a little better"),
    (2, "much better"),
    (3, "very much better"),
)
IMPROVED_FROM = 1  # "a little better" or more
STANDARD = "standard"

DEFINITIONS: dict[str, str] = {
    "period": "A review is counted when its due date (a calendar day) lies from `from` to `to`, inclusive.",
    "due": "Reviews whose due date lies in the period: answered + missed + pending.",
    "answered": "Reviews with at least one answer (from the portal or recorded by staff from a phone call).",
    "missed": "Reviews whose answer window closed without an answer.",
    "pending": "Reviews neither answered nor missed: their window is still open or not yet open.",
    "response_rate": "answered / (answered + missed) × 100, one decimal; pending reviews are left out "
    "because they may still be answered. Null when nothing is answered or missed.",
    "overall_change": "For each point of the 7-point scale, the number of answered reviews whose answer chose it. "
    "A corrected answer is a new version; only each review's latest version counts. `unknown` counts the "
    "reviews with no answer (missed + pending), so the counts add up to `due`.",
    "improved": "Answered reviews whose overall change is 'a little better' (+1) or more.",
    "improved_of_answered": "improved / answered × 100, one decimal. Null when nothing is answered.",
    "improved_of_due": "improved / due × 100, one decimal: missed and pending reviews count as not known to be "
    "improved, never dropped. Null when nothing is due.",
    "fatigue": "Median of the latest answers' fatigue (0 none … 10 worst imaginable) and `n`, how many answers "
    "it is taken from. Null median when n is 0.",
    "joint_pain": "As fatigue, for joint pain (0 none … 10 worst imaginable).",
    "protocol": "With split=protocol: `standard` for the clinic's 7-day protocol, otherwise `variant-` and the "
    "first 10 hex digits of the SHA-256 of the physician's day plan (JSON, keys sorted); each plan is listed "
    "once under `protocols`.",
}


def protocol_key(day_plan: Sequence[dict[str, Any]] | None) -> str:
    """A stable short name for a day plan: the same plan always gets the same key, on any machine."""
    plan = list(day_plan or DEFAULT_PROTOCOL)
    if plan == DEFAULT_PROTOCOL:
        return STANDARD
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "variant-" + hashlib.sha256(canonical.encode()).hexdigest()[:10]


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _median(values: list[int]) -> dict[str, Any]:
    return {"median": statistics.median(values) if values else None, "n": len(values)}


@dataclass
class _Cell:
    due: int = 0
    answered: int = 0
    missed: int = 0
    pending: int = 0
    change: dict[int, int] = field(default_factory=lambda: dict.fromkeys((value for value, _ in OVERALL_CHANGE), 0))
    fatigue: list[int] = field(default_factory=list)
    joint_pain: list[int] = field(default_factory=list)

    def add(self, status: str, answer: QuestionnaireAnswer | None) -> None:
        self.due += 1
        if status == "answered" and answer is not None:
            self.answered += 1
            self.change[answer.overall_change] += 1
            if answer.fatigue is not None:
                self.fatigue.append(answer.fatigue)
            if answer.joint_pain is not None:
                self.joint_pain.append(answer.joint_pain)
        elif status == "missed":
            self.missed += 1
        else:
            self.pending += 1

    def row(self) -> dict[str, Any]:
        improved = sum(count for value, count in self.change.items() if value >= IMPROVED_FROM)
        return {
            "due": self.due,
            "answered": self.answered,
            "missed": self.missed,
            "pending": self.pending,
            "response_rate": _percent(self.answered, self.answered + self.missed),
            "overall_change": [
                {"value": value, "label": label, "count": self.change[value]} for value, label in OVERALL_CHANGE
            ],
            "unknown": self.due - self.answered,
            "improved": improved,
            "improved_of_answered": _percent(improved, self.answered),
            "improved_of_due": _percent(improved, self.due),
            "fatigue": _median(self.fatigue),
            "joint_pain": _median(self.joint_pain),
        }


def latest_answers(reviews: Iterable[FollowUpReview]) -> dict[int, QuestionnaireAnswer]:
    """Each review's latest answer version: a correction replaces the earlier answer in the figures."""
    ids = [review.pk for review in reviews]
    latest: dict[int, QuestionnaireAnswer] = {}
    for answer in QuestionnaireAnswer.objects.filter(review_id__in=ids).order_by("review_id", "version", "pk"):
        latest[answer.review_id] = answer
    return latest


def follow_up_report(
    *, offices: Sequence[Office], start: date, end: date, split_protocol: bool = False
) -> dict[str, Any]:
    """Rows per office (and protocol, when split) and review point, for reviews due from `start` to `end`."""
    reviews = list(
        FollowUpReview.objects.filter(
            application__office__in=offices, due_date__gte=start, due_date__lte=end
        ).select_related("application")
    )
    answers = latest_answers(reviews)
    cells: dict[tuple[str, str, int], _Cell] = defaultdict(_Cell)
    plans: dict[str, list[dict[str, Any]]] = {}
    offices_by_id = {office.pk: office.code for office in offices}
    for review in reviews:
        application: Application = review.application
        protocol = ""
        if split_protocol:
            protocol = protocol_key(application.protocol)
            plans.setdefault(protocol, list(application.protocol or DEFAULT_PROTOCOL))
        office = offices_by_id[application.office_id]
        cells[(office, protocol, review.months)].add(review.status, answers.get(review.pk))

    rows = []
    for office in sorted(offices_by_id.values()):
        protocols = sorted({p for (o, p, _) in cells if o == office}, key=lambda p: (p != STANDARD, p))
        for protocol in protocols or ([STANDARD] if split_protocol else [""]):
            for months in REVIEW_POINTS:
                cell = cells.get((office, protocol, months)) or _Cell()
                row: dict[str, Any] = {"office": office, "months": months}
                if split_protocol:
                    row["protocol"] = protocol
                rows.append({**row, **cell.row()})
    return {
        "from": start,
        "to": end,
        "split": "protocol" if split_protocol else None,
        "definitions": DEFINITIONS,
        "rows": rows,
        "protocols": [
            {"key": key, "standard": key == STANDARD, "day_plan": plan}
            for key, plan in sorted(plans.items(), key=lambda item: (item[0] != STANDARD, item[0]))
        ]
        if split_protocol
        else [],
    }
