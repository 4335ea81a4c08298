"""The key-image reference grammar: every written form, what stays out, the paper's bugs."""

from __future__ import annotations

import re

import pytest

from pacsmine.nlp.refs import ReferenceParser, expand_range

from conftest import SHARED_DATA, shared_file


@pytest.fixture(scope="module")
def parser():
    from pacsmine.config import load_config

    return ReferenceParser.from_config(load_config()["extract"]["references"])


def pairs(parser, text):
    return [(r.series, r.image) for r in parser.parse(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("nodule (series 1001, image 32).", [(1001, 32)]),
        ("nodule (Se 2 Im 55)", [(2, 55)]),
        ("see ser. 4, img. 87 for the mass", [(4, 87)]),
        ("granuloma (13:141).", [(13, 141)]),
        ("best seen on image 45 of series 3", [(3, 45)]),
        ("mass on image 112, series 5", [(5, 112)]),
        ("series 3 images 45-47", [(3, 45), (3, 46), (3, 47)]),
        ("images 150 through 155", [(None, i) for i in range(150, 156)]),
        ("images 12 and 15", [(None, 12), (None, 15)]),
        ("images 10, 12, 14", [(None, 10), (None, 12), (None, 14)]),
        ("on image 359", [(None, 359)]),
        ("SERIES #7 IMAGE #118", [(7, 118)]),
        ("Image No. 45, Series 3", [(3, 45)]),
        ("series 3/image 45", [(3, 45)]),
        ("(S3 I45)", [(3, 45)]),
        ("(se:3, im:45)", [(3, 45)]),
        ("(img 34 se 2)", [(2, 34)]),
        ("(series 5, image 12 and series 6, image 14)", [(5, 12), (6, 14)]),
        ("images 45\u201347 (series 4)", [(4, 45), (4, 46), (4, 47)]),
        ("series 4 images 7 thru 9", [(4, 7), (4, 8), (4, 9)]),
        ("image 19 in series 2", [(2, 19)]),
        ("lesion on image 5:120", [(5, 120)]),
        ("series image: 7:254 through 7:256", [(7, 254), (7, 255), (7, 256)]),
        ("(5:93,197)", [(5, 93), (5, 197)]),
        ("(6:438 and 7:55)", [(6, 438), (7, 55)]),
        ("(3; 188 and 322)", [(3, 188), (3, 322)]),
        ("vertebral body 5:66 unchanged", [(5, 66)]),
        ("a nodule, 5:36, previously 23 mm", [(5, 36)]),
        ("(for example 6:306 in the right lower lobe and 6:393 in the left)", [(6, 306), (6, 393)]),
        (
            "series 5 images 82, 108, and 207",
            [(5, 82), (5, 108), (5, 207)],
        ),
    ],
)
def test_written_forms(parser, text, expected):
    assert pairs(parser, text) == expected


def test_several_series_in_one_sentence_are_paired_not_collected(parser):
    # The released code collected series and images apart; each image keeps its own series.
    text = "Thrombus (series 2, images 10 and 12; series 5, image 3) and (series 6 image 63)."
    assert pairs(parser, text) == [(2, 10), (2, 12), (5, 3), (6, 63)]
    text = "filling defect (series 2 image 38; series 6 image 63)"
    assert pairs(parser, text) == [(2, 38), (6, 63)]


def test_abbreviated_ranges_follow_the_papers_rule(parser):
    assert expand_range("1013", "78") == list(range(1013, 1079))
    # Regression: the released code swapped this into 178..1013.
    assert expand_range("1013", "178") == list(range(1013, 1179))
    assert expand_range("30", "5") == [30, 31, 32, 33, 34, 35]
    assert expand_range("38", "5") == [38, 5]  # no range: both as written
    assert expand_range("10", "900", max_range=50) == [10, 900]
    got = pairs(parser, "series 3 images 1013-178")
    assert got[0] == (3, 1013) and got[-1] == (3, 1178) and len(got) == 166


def test_images_twelve_and_fifteen_keeps_both(parser):
    # Regression: the released code kept only one image of "images 12 and 15".
    assert [r.image for r in parser.parse("images 12 and 15")] == [12, 15]


@pytest.mark.parametrize(
    "text",
    [
        "2.5 mm axial images were obtained.",
        "T2-weighted images show edema.",
        "A series of nodules.",
        "Examination performed at 10:45.",
        "Exam at 10:45 am (10:45 am).",
        "contrast diluted 1:2",
        "E/A ratio of 2:1 and (1:2)",
        "Dated 11/16/2023 and 2013-05-06.",
        "image quality is limited",
        "follow-up imaging in 6 months",
        "images in 6 months",
        "Time 12:30:45",
        "(10:05)",
        "3:23 pm",
    ],
)
def test_what_is_not_a_reference_stays_out(parser, text):
    assert parser.parse(text) == []


def test_span_offsets_cover_the_reference(parser):
    text = "Mass in the liver (series 3, image 45). Stable."
    (ref,) = parser.parse(text)
    assert text[ref.start : ref.end] == ref.text
    assert "series 3" in ref.text and "45" in ref.text


def test_config_controls_image_only_and_shorthand():
    from pacsmine.config import load_config

    cfg = dict(load_config()["extract"]["references"], image_only=False, colon_shorthand=False)
    p = ReferenceParser.from_config(cfg)
    assert p.parse("images 12 and 15") == []
    assert p.parse("(13:141)") == []
    assert [(r.series, r.image) for r in p.parse("image 4 of series 2")] == [(2, 4)]


def test_real_ct_reports_recover_hand_made_extractions(parser):
    """The CT findings extractions list series/image pairs by hand; the parser must
    find nearly all of them in the report text (real phrasings not written for us)."""
    folder = shared_file("ct_findings/reports")
    truth_total = found = 0
    for path in sorted(folder.glob("*.md")):
        text = path.read_text("utf-8")
        if "```text" not in text:
            continue
        body = text.split("```text", 1)[1].split("```", 1)[0]
        extractions = text.split("## Extracted Findings", 1)[-1].split("## Composite", 1)[0]
        truth = set()
        for line in extractions.splitlines():
            m = re.match(r"\s*- (?:series image|image series|seies image):\s*(.*)", line)
            if m:
                truth |= {(int(a), int(b)) for a, b in re.findall(r"(\d+)\s?:\s?(\d+)", m.group(1))}
        got = {(r.series, r.image) for r in parser.parse(body)}
        truth_total += len(truth)
        found += len(truth & got)
    assert truth_total > 150, SHARED_DATA
    assert found / truth_total >= 0.97
