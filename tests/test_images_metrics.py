"""Top-k accuracy, majority baseline, confusion ordering and carry rates on hand-made values."""

import numpy as np

from pacsmine.images.metrics import (carry_rate, cluster_order, confusion_matrix, majority_baseline,
                                     majority_labels, top_k_accuracy, top_k_classes)


def test_top_k_accuracy_by_hand():
    scores = np.array([[0.1, 0.7, 0.2],    # top-1 = 1, top-2 = {1, 2}
                       [0.5, 0.3, 0.2],    # top-1 = 0, top-2 = {0, 1}
                       [0.2, 0.2, 0.6],    # top-1 = 2, top-2 = {2, 0} (tie: lower index)
                       [0.3, 0.3, 0.4]])   # top-1 = 2, top-2 = {2, 0}
    targets = [1, 1, 0, 1]
    assert top_k_accuracy(scores, targets, 1) == 0.25
    assert top_k_accuracy(scores, targets, 2) == 0.75
    assert top_k_accuracy(scores, targets, 5) == 1.0  # k above the class count: every class
    assert top_k_classes(scores, 2).tolist() == [[1, 2], [0, 1], [2, 0], [2, 0]]
    assert top_k_accuracy(np.zeros((0, 3)), [], 1) == 0.0


def test_majority_baseline_by_hand():
    train = [3] * 5 + [1] * 4 + [0] * 3 + [2] * 2 + [4] * 2 + [5] * 1
    test = [3, 3, 1, 0, 2, 4, 5, 5, 6, 3]
    # Top-1: class 3 -> 3 of 10. Top-5: {3, 1, 0, 2, 4} (2 and 4 tie: both in) -> 7 of 10.
    assert majority_baseline(train, test, 1) == 0.3
    assert majority_baseline(train, test, 5) == 0.7


def test_confusion_matrix_counts():
    m = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_cluster_order_puts_a_confused_block_together():
    # Classes {0, 3, 5} confuse each other, {1, 2, 4} confuse each other, never across.
    n = 6
    c = np.zeros((n, n), dtype=int)
    blocks = [[0, 3, 5], [1, 2, 4]]
    for block in blocks:
        for i in block:
            for j in block:
                c[i, j] = 10 if i == j else 4
    order = cluster_order(c)
    assert sorted(order) == list(range(n))
    first, second = set(order[:3]), set(order[3:])
    assert {frozenset(first), frozenset(second)} == {frozenset(b) for b in blocks}


def test_majority_labels_and_carry_rate():
    topics = ["a", "a", "a", "b", "b"]
    regions = ["chest", "chest", "abdomen", "head", "abdomen"]   # b: tie -> alphabetically first, "abdomen"
    majority = majority_labels(topics, regions)
    assert majority == {"a": "chest", "b": "abdomen"}
    # Predicted a (chest) for a chest image: hit; b (abdomen) for a head image: miss; unknown topic: miss.
    assert carry_rate(["a", "b", "c"], ["chest", "head", "chest"], majority) == 1 / 3


def test_majority_of_label_sets():
    topics = ["t", "t", "t"]
    findings = [["effusion", "mass"], ["mass"], []]
    majority = majority_labels(topics, findings)
    assert majority == {"t": "mass"}
    assert carry_rate(["t", "t"], [["mass", "x"], ["effusion"]], majority) == 0.5
