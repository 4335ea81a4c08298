"""Section headers, their variants, organ sub-headers and reports without headers."""

from __future__ import annotations

from pacsmine.nlp.sections import SectionSplitter


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
