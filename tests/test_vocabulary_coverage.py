"""Concept recall/precision per report and located findings (hand-computed counts)."""

from __future__ import annotations

from pacsmine.nlp.vocabulary.coverage import ReportCounts, located, score_report


def test_score_report_by_hand():
    # Headings: {a}, {b, c}, {} (unreadable). Predicted: {a}, {x, c} (nested c), {y}, {z}
    # where z is only a left-out heading's concept.
    got = score_report([{"a"}, {"b", "c"}, set()], [{"a"}, {"x", "c"}, {"y"}, {"z"}], neutral={"z"})
    assert (got.headings, got.mapped, got.recalled, got.correct, got.wrong) == (3, 2, 2, 2, 1)
    assert got.recall == 2 / 3 and got.precision == 2 / 3


def test_sums_and_empty():
    total = ReportCounts()
    total.add(score_report([], [{"a"}]))
    total.add(score_report([{"b"}], []))
    assert (total.headings, total.recalled, total.correct, total.wrong) == (1, 0, 0, 1)
    assert total.recall == 0.0 and total.precision == 0.0
    assert ReportCounts().recall == 0.0


def test_located():
    assert located({"a", "b"}, {"b"}) and not located(set(), {"b"}) and not located({"a"}, set())
