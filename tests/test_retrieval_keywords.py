"""Keywords by cosine similarity per half, recall at K, the baseline: values by hand."""

import math

import numpy as np
import pytest

from pacsmine.retrieval.keywords import (candidates, frequent_words, level_keywords, mean_cosine_distance,
                                         ranked_words, recall_at_k, word_scores)

# 2-d word vectors: the output's halves are o1 = (1, 0) and o2 = (0, 1)
WORDS = {"east": [1.0, 0.0], "west": [-1.0, 0.0], "north": [0.0, 2.0], "south": [0.0, -1.0],
         "northeast": [1.0, 1.0], "eastish": [3.0, 1.0]}
INDEX = {w: i for i, w in enumerate(WORDS)}
MATRIX = np.array(list(WORDS.values()), dtype=np.float32)
OUTPUT = np.array([2.0, 0.0, 0.0, 5.0], dtype=np.float32)


def test_word_scores_are_the_best_cosine_with_either_half():
    s = word_scores(OUTPUT, ["east", "west", "north", "northeast", "eastish"], INDEX, MATRIX)
    # east: cos with o1 = 1; west: -1 and 0 -> 0; north: 1 with o2; northeast: 1/sqrt2; eastish: 3/sqrt10
    assert s.tolist() == pytest.approx([1.0, 0.0, 1.0, math.sqrt(0.5), 3 / math.sqrt(10)])


def test_the_keyword_is_the_most_similar_word_not_the_most_distant():
    # the least similar word (west) comes first: an arg-max of cosine distance would choose it
    (word, score), = level_keywords(OUTPUT, [["west", "northeast", "east"]], INDEX, MATRIX)
    assert (word, score) == ("east", pytest.approx(1.0))


def test_every_candidate_is_scored_with_its_own_vector():
    # a stale vector (the first candidate's, reused for the others) gives every candidate the
    # same score and keeps the first; here the best is the last, at each level
    levels = [["south", "west", "eastish"], ["west", "south", "north"], ["south", "northeast"]]
    got = level_keywords(OUTPUT, levels, INDEX, MATRIX)
    assert [w for w, _ in got] == ["eastish", "north", "northeast"]
    assert [s for _, s in got] == pytest.approx([3 / math.sqrt(10), 1.0, math.sqrt(0.5)])
    # and a level without candidates has no keyword
    assert level_keywords(OUTPUT, [[]], INDEX, MATRIX)[0][0] is None


def test_ranking_puts_keywords_first_then_the_other_candidates():
    levels = [["south", "east"], ["northeast", "west"], ["east"]]
    # keywords: east (1.0), northeast (0.707), east again; then west (0) and south (0: -1 with o2, 0 with o1)
    assert ranked_words(OUTPUT, levels, INDEX, MATRIX) == ["east", "northeast", "south", "west"]


def test_candidates_keep_the_topics_order_and_only_words_with_vectors():
    top = ["lesion", "east", "no_east", "north", "west"]
    assert candidates(top, INDEX, 4) == ["east", "north"]
    assert candidates(top, INDEX, 5, terms={"west", "east"}) == ["east", "west"]


def test_recall_at_k_by_hand():
    predicted = [["a", "b", "c"], ["x", "a", "y"], ["q", "r", "s"], ["a"]]
    truth = [["a"], ["a", "y"], ["z"], []]  # the last image has no true word: not scored
    r = recall_at_k(predicted, truth, [1, 3])
    assert r["images"] == 3
    assert r["k"][1] == {"hit": pytest.approx(1 / 3), "recall": pytest.approx(1 / 3)}
    # K = 3: hits 1, 1, 0; recalls 1, 2/2, 0
    assert r["k"][3] == {"hit": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3)}


def test_baseline_words_by_image_count_of_the_topic():
    topics = ["1", "1", "1", "2"]
    words = [["a", "b"], ["b"], ["b", "c", "c"], ["d"]]
    assert frequent_words(topics, words) == {"1": ["b", "a", "c"], "2": ["d"]}


def test_mean_cosine_distance():
    assert mean_cosine_distance([1.0, 0.5, float("nan")]) == pytest.approx(0.25)
