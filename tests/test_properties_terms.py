"""Property-based tests (hypothesis) of the term matcher with ConText
(:meth:`pacsmine.nlp.terms.TermAnnotator.annotate`) on a small hand-made ontology:
no input crashes it, mentions lie inside the sentence in order without overlapping,
and the work grows linearly with the sentence."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pacsmine.nlp.ontology import Ontology, Term
from pacsmine.nlp.terms import _TOKEN, TermAnnotator
from steps import grows_linearly


@pytest.fixture(scope="module")
def annotator():
    terms = [
        Term("DOID:1", "lung cancer", ("lung neoplasm",)),
        Term("DOID:2", "non-small cell lung carcinoma", ("NSCLC",)),
        Term("DOID:3", "metastasis"),
        Term("DOID:4", "liver metastasis"),
        Term("DOID:5", "pneumothorax"),
        Term("DOID:6", "pleural effusion"),
        Term("DOID:7", "Crohn's disease"),
        Term("DOID:8", "cyst"),
        Term("DOID:9", "lung"),
    ]
    return TermAnnotator(ontology=Ontology({t.doid: t for t in terms}, source="test"), stoplist=["disease"]).fit()


# Vocabulary words, plurals, possessives, ConText triggers and terminators, punctuation.
PIECES = ["lung", "lungs", "cancer", "neoplasm", "non-small", "cell", "carcinoma", "NSCLC", "metastasis", "metastases",
          "liver", "pneumothorax", "pneumothoraces", "pleural", "effusion", "effusions", "Crohn's", "disease", "cyst",
          "cysts", "no", "not", "without", "negative for", "free of", "no evidence of", "possible", "may represent",
          "history of", "prior", "resolved", "but", "however", "and", "or", ",", ".", ";", ":", "-", "(", ")", "'",
          "\n", "é", "2.5", "mm"]
# No ConText trigger among these: vocabulary words and punctuation.
WORDS = PIECES[: PIECES.index("no")] + [",", ".", ";", ":", "-", "(", ")", "\n", "2.5", "mm"]
sentences = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=40).map(" ".join)
STATUS = {"present", "absent", "uncertain", "historical"}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(sentence=sentences | st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_mentions_lie_inside_the_sentence_in_order_without_overlap(annotator, sentence):
    prev_end = 0
    for m in annotator.annotate(sentence):
        assert prev_end <= m.start < m.end <= len(sentence)
        assert sentence[m.start : m.end] == m.text
        assert m.status in STATUS
        prev_end = m.end


@FAST
@given(sentence=sentences | st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_mentions_start_and_end_at_word_edges(annotator, sentence):
    # A mention's offsets are those of its first and last words (tokenize(): possessive "'s"
    # taken with its word), however they were found (runs of the lower-cased sentence or words).
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(sentence)]
    starts, ends = [a for a, _ in spans], [b for _, b in spans]
    for m in annotator.match(sentence):
        i, j = starts.index(m.start), ends.index(m.end)
        assert i <= j
        assert annotator._keys(m.text, annotator.normaliser_) == annotator._keys(" ".join(
            sentence[a:b] for a, b in spans[i : j + 1]), annotator.normaliser_)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map(" ".join))
def test_matcher_steps_grow_linearly_with_the_sentence(annotator, unit):
    ok, small, large = grows_linearly(annotator.match, unit + " ")
    assert ok, f"{unit!r}: {small} steps at 1x, {large} at 4x"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join))
def test_context_steps_grow_linearly_with_few_triggers(annotator, unit):
    # One trigger at the start, then the unit repeated (the text's own scans are not
    # metered here: "no " + text is a plain str).
    ok, small, large = grows_linearly(lambda text: annotator.annotate("no " + text), unit + " ")
    assert ok, f"{unit!r}: {small} steps at 1x, {large} at 4x"


# A run-on sentence with a trigger every few words: the nearest stops and the scopes a
# mention overlaps are found by bisection (issue 8).
def test_context_steps_grow_linearly_with_a_trigger_per_mention(annotator):
    ok, small, large = grows_linearly(annotator.annotate, "lung no ")
    assert ok, f"{small} steps at 1x, {large} at 4x"


def test_a_longer_phrase_cut_off_by_the_sentence_end_falls_back(annotator):
    # "non-small cell lung carcinoma" opens at "non"; the sentence ends first, so no phrase
    # there, and "lung" alone (the last word) is the mention.
    found = [(m.text, m.code) for m in annotator.match("non-small cell lung")]
    assert found == [("lung", "DOID:9")]
    assert [(m.text, m.code) for m in annotator.match("a lung cancer")] == [("lung cancer", "DOID:1")]
    assert [(m.text, m.code) for m in annotator.match("lung")] == [("lung", "DOID:9")]
