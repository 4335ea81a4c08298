"""Scores of topic classifiers: Table 3's accuracies, the majority baseline, the confusion
matrix and its ordering, and how well a predicted topic carries a label it was never given.

Every function is pure (arrays in, numbers out):

1. Top-k accuracy: the share of images whose true class is among the k highest scores
   (ties in the scores: the lower class index first).
2. Majority baseline of a level: a classifier that ignores the image and answers the train
   split's most frequent classes. Top-1 = the share of the evaluated images whose class is
   the most frequent train class; top-5 = the share whose class is among the 5 most
   frequent (ties in the counts: the lower class index first).
3. Confusion matrix C[true, predicted] (counts). Its order for display: P = C with each row
   divided by its sum (a row of zeros stays zeros), S = (P + P^T) / 2 the symmetric
   confusion, distance D = 1 - S / max(S) off the diagonal (0 on it), average-linkage
   hierarchical clustering of D (scipy), leaves in optimal order: topics confused with each
   other end up side by side, so blocks show.
4. "Carries": a topic carries a label (a region, a finding, a location category) when that
   label is the majority among the train images of that topic (ties: the alphabetically
   first); an image's predicted topic carries its true label when the topic's majority label
   equals it (for a set of labels per image, such as findings: when the majority is in the set).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Hashable, Iterable, Sequence

import numpy as np

__all__ = ["top_k_accuracy", "top_k_classes", "majority_baseline", "confusion_matrix", "cluster_order",
           "majority_labels", "carry_rate"]


def top_k_classes(scores: np.ndarray, k: int) -> np.ndarray:
    """int64 (N, min(k, C)) class indices by descending score (ties: lower index first)."""
    scores = np.asarray(scores)
    k = min(k, scores.shape[1])
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def top_k_accuracy(scores: np.ndarray, targets: Sequence[int], k: int) -> float:
    """Share of rows of ``scores`` (N, C) whose ``targets[i]`` is among the top k; 0.0 for N = 0."""
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0:
        return 0.0
    top = top_k_classes(scores, k)
    return float(np.mean((top == targets[:, None]).any(axis=1)))


def majority_baseline(train_targets: Sequence[int], targets: Sequence[int], k: int) -> float:
    """Share of ``targets`` among the ``k`` most frequent classes of ``train_targets``."""
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0:
        return 0.0
    counts = Counter(int(t) for t in train_targets)
    ranked = sorted(counts, key=lambda c: (-counts[c], c))[:k]
    return float(np.mean(np.isin(targets, ranked)))


def confusion_matrix(targets: Sequence[int], predicted: Sequence[int], n_classes: int) -> np.ndarray:
    """int64 (n_classes, n_classes): rows true class, columns predicted."""
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (np.asarray(targets, np.int64), np.asarray(predicted, np.int64)), 1)
    return out


def cluster_order(confusion: np.ndarray) -> list[int]:
    """Class indices ordered so that mutually confused classes sit together (see the module)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    c = np.asarray(confusion, dtype=np.float64)
    n = c.shape[0]
    if n < 3:
        return list(range(n))
    rows = c.sum(axis=1, keepdims=True)
    p = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    s = (p + p.T) / 2
    np.fill_diagonal(s, 0.0)
    top = s.max()
    d = 1.0 - (s / top if top > 0 else s)
    np.fill_diagonal(d, 0.0)
    z = linkage(squareform(d, checks=False), method="average", optimal_ordering=True)
    return [int(i) for i in leaves_list(z)]


def majority_labels(topics: Iterable[Hashable], labels: Iterable[Any]) -> dict[Hashable, str]:
    """``{topic: its most frequent label}`` over paired (topic, label) of the train images.

    A label may be a single value or a list/tuple/set of values (each counted once per image);
    None and empty lists count for nothing. Ties: the alphabetically first label.
    """
    counts: dict[Hashable, Counter] = {}
    for topic, label in zip(topics, labels):
        values = label if isinstance(label, (list, tuple, set, np.ndarray)) else [label]
        entry = counts.setdefault(topic, Counter())
        for v in set(str(x) for x in values if x is not None):
            entry[v] += 1
    return {t: min(c, key=lambda v: (-c[v], v)) for t, c in counts.items() if c}


def carry_rate(topics: Sequence[Hashable], truths: Sequence[Any], majority: dict[Hashable, str]) -> float:
    """Share of images whose topic's majority label matches their truth (a value, or a set of
    values containing it). A topic without a majority carries nothing; 0.0 for no images."""
    if len(topics) == 0:
        return 0.0
    hits = 0
    for topic, truth in zip(topics, truths):
        label = majority.get(topic)
        if label is None:
            continue
        if isinstance(truth, (list, tuple, set, np.ndarray)):
            hits += label in {str(x) for x in truth}
        else:
            hits += label == str(truth)
    return hits / len(topics)
