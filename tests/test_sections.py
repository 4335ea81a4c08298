"""Section headers, their variants, organ sub-headers and reports without headers."""

from __future__ import annotations

from pacsmine.nlp.sections import CANONICAL, SectionSplitter


def sections_of(text, **kw):
    splitter = SectionSplitter(**kw)
    return [(s.section, text[s.start : s.end].strip()) for s in splitter.split(text)]


def test_canonical_headers_and_variants():
    text = (
        "CLINICAL HISTORY: Cough.\nReason for exam: fever.\nTECHNIQUE: PA and lateral.\n"
        "Comparisons: None.\nFINDINGS: Lungs clear.\nIMPRESSION: Normal.\nConclusion: no disease."
    )
    assert sections_of(text) == [
        ("HISTORY", "Cough."),
        ("INDICATION", "fever."),
        ("TECHNIQUE", "PA and lateral."),
        ("COMPARISON", "None."),
        ("FINDINGS", "Lungs clear."),
        ("IMPRESSION", "Normal."),
        ("CONCLUSION", "no disease."),
    ]


def test_inline_header_after_a_sentence_and_header_alone_on_its_line():
    text = "FINDINGS\nThe heart is normal. IMPRESSION: No acute disease."
    assert sections_of(text) == [("FINDINGS", "The heart is normal."), ("IMPRESSION", "No acute disease.")]


def test_report_without_headers_is_one_segment_without_section():
    text = "The lungs are clear. No effusion."
    assert sections_of(text) == [(None, text)]
    assert SectionSplitter().split("   ") == []


def test_organ_subheaders_cut_segments_and_open_findings():
    text = "LUNGS: No consolidation.\nPLEURA: Normal.\nIMPRESSION: Clear."
    got = sections_of(text)
    assert got == [("FINDINGS", "LUNGS: No consolidation."), ("FINDINGS", "PLEURA: Normal."), ("IMPRESSION", "Clear.")]
    got = sections_of(text, organ_headers_imply_findings=False)
    assert got[0] == (None, "LUNGS: No consolidation.")


def test_a_word_of_the_text_is_not_a_header():
    # "report" and "comparison" are header variants, but not when they are prose.
    text = "No change in comparison with the prior report\nof 2012."
    assert sections_of(text) == [(None, text)]


def test_offsets_point_into_the_text():
    text = "HISTORY: x.\nFINDINGS: Heart normal.\n"
    for seg in SectionSplitter().split(text):
        assert 0 <= seg.start <= seg.end <= len(text)


def test_many_headers_in_one_report():
    # 3,000 sections, each with an organ sub-header: every one found (the organ header
    # check once walked every section header per candidate, quadratic in headers).
    text = "FINDINGS:\nLUNGS: Clear. IMPRESSION: Normal.\n" * 3000
    got = SectionSplitter().split(text)
    assert [(s.section, s.header) for s in got[:2]] == [("FINDINGS", "LUNGS"), ("IMPRESSION", "IMPRESSION")]
    assert len(got) == 6000


# ------------------------------------------------------------------ properties (hypothesis)

import re  # noqa: E402
import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402

from steps import grows_linearly  # noqa: E402

_RULES = tomllib.loads((Path(__file__).parents[1] / "src/pacsmine/nlp/rules/sections.toml").read_text("utf-8"))
_VARIANTS = sorted({v for k, vs in _RULES.items() if k != "organs" for v in vs}, key=len, reverse=True)
# A stretch left out of every segment holds only section headers, white space and colons.
_HEADERS_ONLY = re.compile(r"(?:\s|:|" + "|".join(re.escape(v) for v in _VARIANTS) + r")*", re.IGNORECASE)
PIECES = ["FINDINGS", "Findings", "findings", "IMPRESSION:", "Impression:", "HISTORY:", "Clinical history:", "hx:",
          "LUNGS:", "Lungs:", "PLEURA:", "HEART/MEDIASTINUM:", "A/B:", "OTHER:", "10:45", ":", ". ", ".", "!", "?",
          " ", "\t", "\n", "\n\n", "The lungs are clear", "report", "x", "é", "\u00a0"]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=40).map("".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=texts, imply=st.booleans())
def test_segments_are_ordered_inside_the_text_and_skip_only_headers(text, imply):
    segments = SectionSplitter(organ_headers_imply_findings=imply).split(text)
    prev_end = 0
    for seg in segments:
        assert prev_end <= seg.start < seg.end <= len(text)
        assert seg.section is None or seg.section in CANONICAL
        assert text[seg.start : seg.end].strip()
        gap = text[prev_end : seg.start]
        assert _HEADERS_ONLY.fullmatch(gap), gap
        prev_end = seg.end
    assert _HEADERS_ONLY.fullmatch(text[prev_end:])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join))
@example(unit="HX: a.\nLUNGS: b.\n")  # quadratic before issue 8
def test_steps_grow_linearly_with_the_text(unit):
    ok, small, large = grows_linearly(SectionSplitter().split_tuples, unit)
    assert ok, f"{unit!r}: {small} steps at 1x, {large} at 4x"
