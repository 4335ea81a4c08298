"""Bigram targets of a key image: the pairing rules, by hand."""

import numpy as np
import pytest

from pacsmine.retrieval.targets import image_bigrams, sentence_bigrams, target_vectors

RULES = {"drop_negated": True, "drop_uncertain": False, "single": "self"}


def m(start, code, negated=False, uncertain=False):
    return {"start": start, "end": start + 3, "code": code, "negated": negated, "uncertain": uncertain}


def test_consecutive_terms_in_text_order_pair_up():
    # written out of order on purpose: pairs follow `start`
    mentions = [m(20, "B"), m(0, "A"), m(40, "C")]
    assert sentence_bigrams(mentions, **RULES) == [("A", "B"), ("B", "C")]


def test_a_negated_mention_is_left_out_before_pairing():
    # "A, no B, C": without B the pair is (A, C)
    mentions = [m(0, "A"), m(10, "B", negated=True), m(20, "C")]
    assert sentence_bigrams(mentions, **RULES) == [("A", "C")]
    assert sentence_bigrams(mentions, **dict(RULES, drop_negated=False)) == [("A", "B"), ("B", "C")]


def test_uncertain_mentions_are_kept_unless_configured():
    mentions = [m(0, "A"), m(10, "B", uncertain=True)]
    assert sentence_bigrams(mentions, **RULES) == [("A", "B")]
    assert sentence_bigrams(mentions, **dict(RULES, drop_uncertain=True)) == [("A", "A")]


def test_a_single_term_pairs_with_itself_or_is_skipped():
    assert sentence_bigrams([m(0, "A")], **RULES) == [("A", "A")]
    assert sentence_bigrams([m(0, "A")], **dict(RULES, single="skip")) == []
    # a repeated concept is one term: "cyst ... cysts"
    assert sentence_bigrams([m(0, "A"), m(9, "A")], **RULES) == [("A", "A")]
    assert sentence_bigrams([m(0, "A", negated=True)], **RULES) == []
    assert sentence_bigrams([], **RULES) == []
    with pytest.raises(ValueError, match="single"):
        sentence_bigrams([m(0, "A")], **dict(RULES, single="twice"))


def test_an_image_cited_twice_gets_each_sentences_pairs_once():
    first = [m(0, "A"), m(5, "B")]
    second = [m(0, "C"), m(5, "A"), m(9, "B")]  # (C, A) new, (A, B) again
    assert image_bigrams([first, second], **RULES) == [("A", "B"), ("C", "A")]
    # pairs never cross sentences: B (end of the first) and C (start of the second) do not pair
    assert ("B", "C") not in image_bigrams([first, second], **RULES)


def test_target_vectors_are_two_word_vectors_side_by_side():
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    out = target_vectors([0, 2], [1, 2], matrix)
    assert out.dtype == np.float32
    assert out.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 6, 7, 8]]
