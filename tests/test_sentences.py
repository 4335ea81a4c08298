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
