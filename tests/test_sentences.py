"""The radiology sentence splitter: decimals, abbreviations, rates, dates, lists,
headers, references ending a sentence, wrapped lines."""

from __future__ import annotations

import pytest

from pacsmine.nlp.sections import SectionSplitter
from pacsmine.nlp.sentences import SentenceSplitter, split_report


@pytest.fixture(scope="module")
def splitter():
    return SentenceSplitter()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A 2.5 mm nodule. No effusion.", ["A 2.5 mm nodule.", "No effusion."]),
        ("Seen e.g. in the apex. Dr. Smith agreed.", ["Seen e.g. in the apex.", "Dr. Smith agreed."]),
        ("Measures approx. 5 mm. Stable.", ["Measures approx. 5 mm.", "Stable."]),
        ("Injected at 2 cc/s. Then imaged.", ["Injected at 2 cc/s.", "Then imaged."]),
        ("Compared with 11/16/2023. Stable since Jan. 5, 2012.", ["Compared with 11/16/2023.", "Stable since Jan. 5, 2012."]),
        ("1. No pneumonia. 2. Small effusion.", ["1. No pneumonia.", "2. Small effusion."]),
        (
            "Mass in the liver (series 3, image 45). Cyst (ser. 4, img. 87). Stable.",
            ["Mass in the liver (series 3, image 45).", "Cyst (ser. 4, img. 87).", "Stable."],
        ),
        ("Mass in the liver.\n(Series 3, image 45).\nStable.", ["Mass in the liver.\n(Series 3, image 45).", "Stable."]),
        ("Image no. 45 shows it. Fine.", ["Image no. 45 shows it.", "Fine."]),
        ("Is it new? Yes! Stable.", ["Is it new?", "Yes!", "Stable."]),
        ("Nodule in the upper lobe,\nunchanged.\nNo effusion", ["Nodule in the upper lobe,\nunchanged.", "No effusion"]),
        ("Heart normal\nLungs clear", ["Heart normal", "Lungs clear"]),
        ('He said "stable." Then left.', ['He said "stable."', "Then left."]),
    ],
)
def test_rules(splitter, text, expected):
    assert splitter.split(text) == expected


def test_newline_rule_is_configurable():
    assert SentenceSplitter(newline_is_boundary=False).split("Heart normal\nLungs clear") == ["Heart normal\nLungs clear"]


def test_split_report_numbers_sentences_with_sections_and_offsets():
    text = "FINDINGS: LUNGS: Clear. PLEURA: Normal.\nIMPRESSION: No disease."
    sentences = split_report(text, SectionSplitter(), SentenceSplitter())
    assert [s.index for s in sentences] == [0, 1, 2]
    assert [s.section for s in sentences] == ["FINDINGS", "FINDINGS", "IMPRESSION"]
    assert [s.text for s in sentences] == ["LUNGS: Clear.", "PLEURA: Normal.", "No disease."]
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_line_break_inside_parentheses_is_not_a_boundary(splitter):
    text = "Nodule in the upper lobe, unchanged (image 36, series\n3). Stable."
    assert splitter.split(text) == ["Nodule in the upper lobe, unchanged (image 36, series\n3).", "Stable."]


def test_a_long_run_of_periods_is_one_mark(splitter):
    # 20,000 periods then a word: tried from every period with backtracking this took
    # minutes (the run's length squared); as one mark it is one sentence.
    text = "." * 20_000 + "a"
    assert splitter.spans(text) == [(0, 20_001)]
    assert splitter.split("Dotted line........ Next.") == ["Dotted line........", "Next."]


def test_a_stretch_that_starts_after_a_period_splits_on_its_own(splitter):
    # spans(text, start) must not look at the period before ``start``.
    text = "x..! Next."
    assert splitter.spans(text, 2) == [(2, 4), (5, 10)]


def test_parentheses_open_across_many_lines(splitter):
    # One open parenthesis keeps every following line in the sentence until it closes.
    text = "(a\nB\nC)\nD"
    assert splitter.split(text) == ["(a\nB\nC)", "D"]


# ------------------------------------------------------------------ properties (hypothesis)

from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402

from steps import grows_linearly  # noqa: E402

# Pieces that exercise every rule: marks, closers, abbreviations, list markers, line
# breaks, wrap words, parentheses, references, headers, non-ASCII.
PIECES = [".", "..", "!", "?", " ", "  ", "\n", "\n\n", "\t", "(", ")", '"', "'", "]", "e.g.", "Dr.", "approx.",
          "1.", "a)", "-", ",", "and", "of", "x", "Lung", "no", "2.5", "(series 3, image 45)", "FINDINGS:", "LUNGS:",
          "é", "\u2022", "\r", "\u00a0"]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=40).map("".join)
units = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=texts, cut=st.integers(0, 50))
def test_spans_are_ordered_stripped_and_cover_every_visible_character(text, cut):
    splitter = SentenceSplitter()
    start = min(cut, len(text))
    spans = splitter.spans(text, start)
    prev_end = start
    for a, b in spans:
        assert prev_end <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
        assert text[prev_end:a].strip() == ""  # only white space between sentences
        prev_end = b
    assert text[prev_end:].strip() == ""


@FAST
@given(text=texts)
def test_report_sentences_lie_inside_their_segments(text):
    sections = SectionSplitter()
    segments = sections.split(text)
    for s in split_report(text, sections, SentenceSplitter()):
        assert text[s.start : s.end] == s.text
        assert any(g.start <= s.start and s.end <= g.end and g.section == s.section for g in segments)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=units)
@example(unit="(x\nA ")  # quadratic before issue 8
def test_steps_grow_linearly_with_the_text(unit):
    splitter = SentenceSplitter()
    ok, small, large = grows_linearly(splitter.spans, unit)
    assert ok, f"{unit!r}: {small} steps at 1x, {large} at 4x"
