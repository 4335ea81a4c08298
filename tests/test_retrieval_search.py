"""R@K by hand, the random baseline against a count, exact and faiss search against each other."""

import math

import numpy as np
import pytest

from pacsmine.retrieval.search import NeighbourIndex, random_recall, recall_at_k_pairs, recall_at_k_sets


def test_recall_at_k_by_hand():
    sims = np.array([[0.9, 0.1, 0.5],   # correct 0: rank 1
                     [0.9, 0.1, 0.5],   # correct 1: rank 3
                     [0.2, 0.8, 0.7]])  # correct 2: rank 2
    assert recall_at_k_pairs(sims, [0, 1, 2], [1, 2, 3]) == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3),
                                                             3: pytest.approx(1.0)}
    # a query with two correct columns hits at K = 1 if either is first
    assert recall_at_k_sets(sims, [{1, 0}, {2}, {0}], [1]) == {1: pytest.approx(1 / 3)}


def test_random_recall_matches_counting_rankings():
    # 4 candidates, 1 correct: P(in top 2) = 2/4; 2 correct: 1 - C(2,2)/C(4,2) = 5/6
    got = random_recall(4, [1, 2], [1, 2])
    assert got[1] == pytest.approx((1 / 4 + 2 / 4) / 2)
    assert got[2] == pytest.approx((2 / 4 + 5 / 6) / 2)
    # independent check by enumerating the 24 orders of 4 candidates, correct = {0, 1}
    from itertools import permutations
    hits = [bool({0, 1} & set(p[:2])) for p in permutations(range(4))]
    assert sum(hits) / len(hits) == pytest.approx(5 / 6)
    assert random_recall(10, [1], [10])[10] == pytest.approx(1.0)
    assert math.isnan(random_recall(10, [], [1])[1])


def test_exact_and_faiss_find_the_same_neighbours(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.01 * rng.normal(size=(20, 16)).astype(np.float32)
    exact = NeighbourIndex(exact_below=1000, hnsw_m=16, ef_search=64).fit(vectors)
    graph = NeighbourIndex(exact_below=100, hnsw_m=16, ef_search=64).fit(vectors)
    assert (exact.kind_, graph.kind_) == ("exact", "faiss_hnsw")
    es, er = exact.search(queries, 5)
    gs, gr = graph.search(queries, 5)
    # each query's nearest row is itself (before the noise); HNSW at ef 64 finds the same top 5 here
    assert er[:, 0].tolist() == list(range(20))
    assert np.array_equal(er, gr) and np.allclose(es, gs, atol=1e-5)
    # brute force, independently
    assert np.array_equal(er, np.argsort(-(queries @ vectors.T), axis=1)[:, :5])
    # saved in faiss's own format and read back
    file = graph.save(tmp_path / "index")
    assert file.name == "index.faiss"
    import faiss
    assert faiss.read_index(str(file)).ntotal == 300
    again = NeighbourIndex.load(file, ef_search=64)
    assert np.array_equal(again.search(queries, 5)[1], gr)
    file = exact.save(tmp_path / "exact")
    assert np.array_equal(NeighbourIndex.load(file, ef_search=64).search(queries, 5)[1], er)
