"""Key-image bigrams: consecutive terms over the referring sentence and its neighbours."""

from __future__ import annotations

from pacsmine.nlp.bigrams import key_image_bigrams
from pacsmine.nlp.terms import Mention


def m(start, code, negated=False, source="do_2015"):
    return Mention(start, start + 3, code, source, code, code, negated=negated)


def names(pairs):
    return [(a.name, b.name) for a, b in pairs]


def test_consecutive_pairs_across_sentences_in_text_order():
    prev, sent, nxt = [m(10, "A")], [m(20, "C"), m(5, "B")], [m(0, "D")]
    assert names(key_image_bigrams([prev, sent, nxt])) == [("A", "B"), ("B", "C"), ("C", "D")]


def test_lone_term_and_missing_neighbours_give_nothing():
    assert key_image_bigrams([None, [m(0, "A")], None]) == []
    assert key_image_bigrams([None, [], None]) == []


def test_negated_terms_left_out_unless_asked():
    sent = [m(0, "A"), m(10, "B", negated=True), m(20, "C")]
    assert names(key_image_bigrams([None, sent, None])) == [("A", "C")]
    assert names(key_image_bigrams([None, sent, None], include_negated=True)) == [("A", "B"), ("B", "C")]


def test_repeated_concept_does_not_pair_with_itself():
    assert names(key_image_bigrams([[m(0, "A")], [m(0, "A"), m(9, "B")], None])) == [("A", "B")]


def test_concepts_are_told_apart_by_code_not_by_name():
    # Two layers' concepts may share a name; the code says whether they are one concept.
    a1, a2 = m(0, "X"), Mention(5, 8, "x", "finding_models", "OIFM_1", "X")
    assert [(p.code, q.code) for p, q in key_image_bigrams([None, [a1, a2], None])] == [("X", "OIFM_1")]
