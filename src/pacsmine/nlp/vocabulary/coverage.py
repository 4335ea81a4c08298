"""How well a vocabulary finds what readers labelled: concept recall/precision per report
and the share of labelled findings located in the text. Pure functions: concept sets in,
counts out (bench/vocabulary_real.py feeds them the IU X-ray and CT findings gold).

A *concept* is a hashable key, ``(source, code)`` in practice. Per report:

1. each labelled heading (an IU ``Problems`` entry) is read as the set of concepts the
   vocabulary finds in its text, nested phrases included; a heading with none cannot be
   found and counts as a miss;
2. each predicted concept (a mention that is not negated; one per concept a report
   mentions) is read as its own concept plus those nested in its words ("bibasilar
   atelectasis" also names "atelectasis");
3. a heading is *recalled* when one of its concepts is among the predicted ones;
4. a predicted concept is *correct* when it shares a concept with some labelled heading
   of the report, *neutral* (not counted) when it shares one only with a left-out heading
   (anatomy such as "Lung"), and wrong otherwise.

Recall = recalled headings / headings; precision = correct / (correct + wrong), summed
over reports (micro averages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

__all__ = ["ReportCounts", "score_report", "located"]


@dataclass
class ReportCounts:
    """Summed counts: ``headings``, ``mapped`` (headings with at least one concept),
    ``recalled``, ``correct``, ``wrong`` (predicted concepts); ``recall``/``precision`` derive."""

    headings: int = 0
    mapped: int = 0
    recalled: int = 0
    correct: int = 0
    wrong: int = 0

    def add(self, other: "ReportCounts") -> None:
        self.headings += other.headings
        self.mapped += other.mapped
        self.recalled += other.recalled
        self.correct += other.correct
        self.wrong += other.wrong

    @property
    def recall(self) -> float:
        return self.recalled / self.headings if self.headings else 0.0

    @property
    def precision(self) -> float:
        total = self.correct + self.wrong
        return self.correct / total if total else 0.0


def score_report(headings: Sequence[set[Hashable]], predicted: Sequence[set[Hashable]],
                 neutral: Iterable[Hashable] = ()) -> ReportCounts:
    """Counts of one report. ``headings``: each labelled heading's concept set (empty: the
    vocabulary cannot read it); ``predicted``: each predicted concept's set (itself and the
    concepts nested in its words); ``neutral``: concepts of left-out headings."""
    labelled = set().union(*headings) if headings else set()
    named = set().union(*predicted) if predicted else set()
    neutral = set(neutral)
    correct = sum(1 for p in predicted if p & labelled)
    wrong = sum(1 for p in predicted if not p & labelled and not p & neutral)
    return ReportCounts(
        headings=len(headings),
        mapped=sum(1 for h in headings if h),
        recalled=sum(1 for h in headings if h & named),
        correct=correct,
        wrong=wrong,
    )


def located(finding: set[Hashable], mentioned: set[Hashable]) -> bool:
    """Is a labelled finding (its concept set, empty when the vocabulary cannot read its
    name) among the concepts mentioned in the report, whatever their status?"""
    return bool(finding & mentioned)
