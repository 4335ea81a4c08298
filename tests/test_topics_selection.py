import math

import numpy as np
import pytest

from pacsmine.topics.selection import (
    HeldOut,
    at_grid_edge,
    cap_fallback,
    check_rules,
    choose_k,
    completion_perplexity,
    edge_step,
    fold_in,
    k_cap,
    k_grid,
    knee_k,
    npmi_coherence,
    split_by_patient,
)
from pacsmine.topics.synthetic import lda_corpus


def test_split_keeps_each_patient_on_one_side():
    patients = [f"p{i // 3}" for i in range(300)]  # three studies per patient
    mask = split_by_patient(patients, 0.2, seed=3)
    held = {p for p, m in zip(patients, mask) if m}
    kept = {p for p, m in zip(patients, mask) if not m}
    assert held and kept and not held & kept
    assert 0.18 <= mask.mean() <= 0.25
    assert (split_by_patient(patients, 0.2, seed=3) == mask).all()


def test_split_of_one_patient_holds_nothing_out():
    assert not split_by_patient(["p"] * 5, 0.2).any()


def test_heldout_cuts_documents_in_text_order_and_drops_unknown_words():
    held = HeldOut.from_tokens([["a", "zz", "b", "c", "a"], ["b"], ["c", "a"]], ["a", "b", "c"])
    assert held.n_docs == 2  # ["b"] has fewer than two known tokens
    # doc 0 known ids [0,1,2,0]: first half [0,1], second [2,0]; doc 1 [2,0]: [2] / [0]
    assert held.first.tolist() == [0, 1, 2] and held.first_doc.tolist() == [0, 0, 1]
    assert held.second.tolist() == [2, 0, 0] and held.second_doc.tolist() == [0, 0, 1]


def test_uniform_topics_have_perplexity_equal_to_vocabulary_size():
    vocab = [f"w{i}" for i in range(50)]
    rng = np.random.default_rng(0)
    docs = [list(rng.choice(vocab, size=20)) for _ in range(10)]
    held = HeldOut.from_tokens(docs, vocab)
    phi = np.full((3, 50), 1 / 50)
    assert completion_perplexity(phi, 0.1, held) == pytest.approx(50.0)


def test_fold_in_recovers_the_mixture_of_separated_topics():
    phi = np.array([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]]) + 1e-9
    phi /= phi.sum(axis=1, keepdims=True)
    words = np.array([0, 1, 0, 2, 3, 2, 3, 3])  # doc 0: three of topic 0, doc 1: all topic 1 ... see doc_of
    doc_of = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    theta = fold_in(phi, np.array([0.01, 0.01]), words, doc_of, 2, iterations=50)
    assert theta[0, 0] == pytest.approx(0.75, abs=0.01)
    assert theta[1, 1] == pytest.approx(1.0, abs=0.01)


def test_true_model_beats_a_wrong_one_on_held_out_documents():
    docs, _, phi = lda_corpus(200, 4, vocab_size=200, doc_length=60, seed=1)
    vocab = [f"w{i}" for i in range(200)]
    held = HeldOut.from_tokens(docs, vocab)
    rng = np.random.default_rng(5)
    wrong = rng.dirichlet(np.full(200, 0.05), size=4)
    assert completion_perplexity(phi, 0.1, held) < 0.5 * completion_perplexity(wrong, 0.1, held)


def test_npmi_matches_hand_computation():
    held = HeldOut(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int),
                   [np.array([0, 1]), np.array([0]), np.array([2])])
    # topic 0's top words a, b: p(a) = 2/3, p(b) = 1/3, p(a,b) = 1/3 -> log(1.5) / log(3)
    # topic 1's top words b, c never occur together -> -1
    phi = np.array([[0.6, 0.3, 0.1], [0.1, 0.45, 0.45]])
    mean, per_topic = npmi_coherence(phi, held, top_n=2)
    assert per_topic[0] == pytest.approx(math.log(1.5) / math.log(3))
    assert per_topic[1] == -1.0
    assert mean == pytest.approx((per_topic[0] - 1) / 2)


def test_k_grid_scales_with_the_corpus():
    candidates = [10, 20, 40, 80, 1000]
    assert k_grid(candidates, 3000, 40) == [10, 20, 40]
    assert k_grid(candidates, 780_000, 40, max_k=100) == [10, 20, 40, 80]
    assert k_grid(candidates, 100, 40) == [2]  # too small for any candidate: still a model
    assert k_grid(candidates, 2, 40) == []


def test_k_grid_has_at_least_min_candidates_on_a_log_scale():
    candidates = [10, 20, 40, 80, 1000]
    # MedPix train, 535 reports: only 10 fits under 535 / 40 = 13.4, so four K from 2 to
    # 13 on a log scale: 2 * 6.5^(i/3) = 2, 3.73, 6.97, 13 -> 2, 4, 7, 13.
    assert k_grid(candidates, 535, 40, min_k=2, min_candidates=4) == [2, 4, 7, 13]
    # 3,000 reports: 10, 20, 40 fit (three): 2 * 37.5^(i/3) = 2, 6.69, 22.4, 75.
    assert k_grid(candidates, 3000, 40, min_k=2, min_candidates=4) == [2, 7, 22, 75]
    # Enough candidates fit: the configured grid is kept as it is.
    assert k_grid(candidates, 780_000, 40, max_k=100, min_k=2, min_candidates=4) == [10, 20, 40, 80]
    # 100 reports (cap 2.5): the range is widened to min_k + 3 = 5: 2, 2.71, 3.68, 5.
    assert k_grid(candidates, 100, 40, min_k=2, min_candidates=4) == [2, 3, 4, 5]
    # The sentence level's floor min_k = 10 with a cap below it: 10 * 1.3^(i/3) -> 10, 11, 12, 13.
    assert k_grid(candidates, 100, 15, min_k=10, min_candidates=4) == [10, 11, 12, 13]
    assert k_grid(candidates, 3, 40, min_k=2, min_candidates=4) == []


def test_choose_k_rules():
    ks = [10, 20, 40, 80]
    assert choose_k(ks, [30.0, 25.0, 26.0, 28.0]) == 20
    # relative decreases 0.2, 0.05, 0.01: first below 0.03 is after K = 40
    assert choose_k(ks, [100.0, 80.0, 76.0, 75.24], "elbow", 0.03) == 40
    assert choose_k(ks, [100.0, 50.0, 25.0, 12.0], "elbow", 0.03) == 80
    with pytest.raises(ValueError):
        choose_k(ks, [1, 2, 3, 4], "best")


def test_choose_k_takes_the_elbow_when_the_lowest_perplexity_is_at_the_cap():
    # MedPix-like: still falling at the cap 13 (relative decreases 0.069, -0.008, 0.117).
    ks, p = [2, 4, 7, 13], [737.0, 686.0, 692.0, 611.0]
    assert choose_k(ks, p) == 13  # the paper's rule as written
    assert choose_k(ks, p, at_cap="cap", cap=13) == 13
    # Elbow: 2 -> 4 falls by 0.069 >= 0.03, 4 -> 7 by -0.008 < 0.03: K = 4.
    assert choose_k(ks, p, "min_perplexity", 0.03, at_cap="elbow", cap=13) == 4
    assert cap_fallback(ks, 13, "elbow", 13)
    # Not at the cap yet (the search would go on), or an interior minimum: the lowest perplexity.
    assert choose_k(ks, p, "min_perplexity", 0.03, at_cap="elbow", cap=26) == 13
    assert choose_k([10, 20, 30, 40], [170.0, 162.5, 160.1, 165.8], "min_perplexity", 0.03,
                    at_cap="elbow", cap=95) == 30
    # Two K are no curve: the lowest stands.
    assert choose_k([2, 4], [10.0, 9.0], "min_perplexity", 0.03, at_cap="elbow", cap=4) == 4
    # An elbow that never comes: the cap.
    assert choose_k([2, 4, 8], [100.0, 80.0, 60.0], "min_perplexity", 0.03, at_cap="elbow", cap=8) == 8
    with pytest.raises(ValueError, match="at_cap"):
        choose_k(ks, p, at_cap="max")


def test_knee_is_the_point_furthest_below_the_chord():
    # Chord from (2, 100) to (10, 20): 100 - 10 (K - 2). At K = 4 it is 80, the curve 60
    # (20 below, 0.25 of the fall); at K = 6 it is 60, the curve 50 (0.125): knee K = 4.
    assert knee_k([2, 4, 6, 10], [100.0, 60.0, 50.0, 20.0]) == 4
    assert knee_k([10, 4, 2, 6], [20.0, 60.0, 100.0, 50.0]) == 4  # any order
    # A straight line, a curve bending down, a rising curve, too few points: no knee.
    assert knee_k([2, 4, 6, 10], [100.0, 80.0, 60.0, 20.0]) is None
    assert knee_k([2, 4, 6, 10], [100.0, 95.0, 85.0, 20.0]) is None
    assert knee_k([2, 4, 6, 10], [20.0, 15.0, 18.0, 30.0]) is None
    assert knee_k([2, 4], [100.0, 50.0]) is None
    # MedPix's curve with absent findings marked (bench/topics_real.py): still falling at the
    # cap 13; chord gaps 0.101 at K = 4 and 0.155 at K = 7 of the fall 169.64 -> 7.
    ks, p = [2, 4, 7, 13], [812.36, 764.40, 708.91, 642.72]
    assert knee_k(ks, p) == 7
    assert choose_k(ks, p, "min_perplexity", 0.03, at_cap="knee", cap=13) == 7
    # Its elbow never comes (every step falls by more than 3%): the cap.
    assert choose_k(ks, p, "min_perplexity", 0.03, at_cap="elbow", cap=13) == 13
    # A curve without a knee at the cap keeps the cap.
    assert choose_k([2, 4, 6, 10], [100.0, 80.0, 60.0, 20.0], at_cap="knee", cap=10) == 10


def test_edge_step_goes_past_the_end_where_the_optimum_lies():
    # Lowest at the smallest K: halve it (10 -> 5), never below min_k (3 -> 2, not 1).
    assert edge_step([10, 20, 40], [20.0, 25.0, 30.0], min_k=2, cap=75) == 5
    assert edge_step([3, 5, 10], [20.0, 25.0, 30.0], min_k=2, cap=75) == 2
    assert edge_step([2, 5, 10], [20.0, 25.0, 30.0], min_k=2, cap=75) is None
    # Lowest at the largest K: double it, never past the cap.
    assert edge_step([10, 20, 40], [30.0, 25.0, 20.0], min_k=2, cap=200) == 80
    assert edge_step([10, 20, 60], [30.0, 25.0, 20.0], min_k=2, cap=75) == 75
    assert edge_step([10, 20, 75], [30.0, 25.0, 20.0], min_k=2, cap=75) is None
    # Interior: nothing to extend. Unsorted input is read in K order.
    assert edge_step([10, 20, 40], [30.0, 20.0, 25.0], min_k=2, cap=75) is None
    assert edge_step([40, 10, 20], [25.0, 30.0, 20.0], min_k=2, cap=75) is None
    # Elbow: flat from the first step -> smaller K; never flat -> larger K.
    assert edge_step([10, 20, 40], [100.0, 99.0, 98.5], "elbow", 0.03, min_k=2, cap=75) == 5
    assert edge_step([10, 20, 40], [100.0, 80.0, 60.0], "elbow", 0.03, min_k=2, cap=75) == 75
    assert edge_step([10, 20, 40], [100.0, 80.0, 79.0], "elbow", 0.03, min_k=2, cap=75) is None
    assert edge_step([10], [100.0]) is None and edge_step([2, 4], [float("nan")] * 2, cap=9) is None


def test_at_grid_edge_only_at_a_reached_bound():
    assert at_grid_edge([2, 5, 10], 2, min_k=2, cap=75)
    assert not at_grid_edge([5, 10], 5, min_k=2, cap=75)  # the floor was not reached
    assert at_grid_edge([10, 40, 75], 75, min_k=2, cap=75)
    assert not at_grid_edge([2, 5, 10], 5, min_k=2, cap=75)
    assert not at_grid_edge([4], 4, min_k=2, cap=4)  # one candidate: nothing was searched
    assert k_cap(3000, 40, 1000) == 75 and k_cap(780_000, 40, 1000) == 1000


def test_check_rules_names_the_key_of_an_unknown_rule():
    check_rules({"rule": "min_perplexity", "at_cap": "knee"}, "topics.level1")
    with pytest.raises(ValueError, match="topics.level1.at_cap"):
        check_rules({"rule": "min_perplexity", "at_cap": "max"}, "topics.level1")
    with pytest.raises(ValueError, match="topics.level3.rule"):
        check_rules({"rule": "best"}, "topics.level3")
