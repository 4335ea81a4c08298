"""Scoring topic labels against a phantom's ground-truth case types (numpy only).

``pacsmine evaluate`` calls :func:`evaluate_topics`: level-1 arg-max labels
(topics/level1/doc_topics.parquet) against truth/reports.parquet's ``case_type``,
by normalised mutual information (arithmetic-mean normalisation), adjusted Rand
index and purity, and the chosen K against the number of true case types.

Whether or not there is a truth folder, the same three scores are taken against each
report's *primary label* when ingest/reports.parquet carries hand-coded ``labels`` (a real
export such as OpenI): the head before "/" of the report's first label ("normal",
"Cardiomegaly"); reports without labels are left out.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

# The chosen K counts as "near" the number of true case types within this ratio.
NEAR_RATIO = (0.5, 2.0)

__all__ = ["contingency", "normalized_mutual_info", "adjusted_rand_index", "purity", "primary_label",
           "score_labels", "evaluate_topics"]


def contingency(truth: Sequence[Any], predicted: Sequence[Any]) -> np.ndarray:
    """Counts (n_true_classes, n_predicted_clusters) of items per (class, cluster)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted")
    _, t = np.unique(np.asarray(truth, dtype=object).astype(str), return_inverse=True)
    _, p = np.unique(np.asarray(predicted, dtype=object).astype(str), return_inverse=True)
    table = np.zeros((t.max() + 1 if len(t) else 0, p.max() + 1 if len(p) else 0), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table


def _entropy(counts: np.ndarray) -> float:
    n = counts.sum()
    q = counts[counts > 0] / n
    return float(-(q * np.log(q)).sum())


def normalized_mutual_info(truth: Sequence[Any], predicted: Sequence[Any]) -> float:
    """NMI = I(T; P) / ((H(T) + H(P)) / 2), in [0, 1]; 1.0 when both are one single class."""
    table = contingency(truth, predicted).astype(np.float64)
    n = table.sum()
    if n == 0:
        return float("nan")
    h_t, h_p = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if h_t == 0.0 and h_p == 0.0:
        return 1.0
    joint = table / n
    outer = np.outer(table.sum(axis=1), table.sum(axis=0)) / n**2
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / outer[nz])).sum())
    return min(1.0, max(0.0, mi / ((h_t + h_p) / 2)))


def adjusted_rand_index(truth: Sequence[Any], predicted: Sequence[Any]) -> float:
    """Hubert and Arabie's adjusted Rand index: 1 for identical partitions, ~0 for chance."""
    table = contingency(truth, predicted)
    n = int(table.sum())
    comb = lambda x: x * (x - 1) / 2.0  # noqa: E731  (pairs among x items)
    sum_cells = float(comb(table.astype(np.float64)).sum())
    sum_rows = float(comb(table.sum(axis=1).astype(np.float64)).sum())
    sum_cols = float(comb(table.sum(axis=0).astype(np.float64)).sum())
    total = comb(float(n))
    if total == 0:
        return 1.0
    expected = sum_rows * sum_cols / total
    maximum = (sum_rows + sum_cols) / 2
    if maximum == expected:  # both partitions trivial (all one class, or all singletons)
        return 1.0
    return (sum_cells - expected) / (maximum - expected)


def purity(truth: Sequence[Any], predicted: Sequence[Any]) -> float:
    """Share of items whose cluster's majority class is their own class."""
    table = contingency(truth, predicted)
    n = table.sum()
    return float(table.max(axis=0).sum() / n) if n else float("nan")


def primary_label(labels: Sequence[str] | None) -> str | None:
    """The head before "/" of the first non-empty label (``"Cardiomegaly/mild"`` ->
    ``"Cardiomegaly"``), or None."""
    for label in labels or ():
        head = (label or "").split("/")[0].strip()
        if head:
            return head
    return None


def _partition_scores(pairs: list[tuple[Any, Any]]) -> dict[str, float | None]:
    if not pairs:
        return {"nmi": None, "ari": None, "purity": None}
    t, p = zip(*pairs)
    return {"nmi": normalized_mutual_info(t, p), "ari": adjusted_rand_index(t, p), "purity": purity(t, p)}


def score_labels(ws) -> dict[str, Any] | None:
    """NMI, ARI and purity of the level-1 arg-max topics against each report's
    :func:`primary_label`; None when no report carries labels.

    ``majority_share`` is the largest class's share of the scored reports: purity can
    never fall below it, so a purity near it says the topics do not follow the labels.
    """
    import pyarrow.parquet as pq

    reports = ws.stage_dir("ingest") / "reports.parquet"
    if not reports.exists() or "labels" not in pq.read_schema(reports).names:
        return None
    table = pq.read_table(reports, columns=["accession", "labels"])
    label_of = {a: primary_label(x) for a, x in zip(table.column("accession").to_pylist(),
                                                   table.column("labels").to_pylist())}
    label_of = {a: x for a, x in label_of.items() if x is not None}
    if not label_of:
        return None
    topics = pq.read_table(ws.require("topics", "level1/doc_topics.parquet"), columns=["accession", "topic"])
    pairs = [(label_of[a], t) for a, t in zip(topics.column("accession").to_pylist(), topics.column("topic").to_pylist())
             if a in label_of]
    classes: dict[str, int] = {}
    for c, _ in pairs:
        classes[c] = classes.get(c, 0) + 1
    return {
        "method": 'level-1 arg-max topic vs the head before "/" of each report\'s first label',
        "documents_scored": len(pairs),
        "documents_unlabelled": topics.num_rows - len(pairs),
        "label_classes": len(classes),
        "majority_share": max(classes.values()) / len(pairs) if pairs else None,
        **_partition_scores(pairs),
    }


def _chosen_k(ws) -> dict[str, Any]:
    metrics = ws.metrics("topics") or {}
    out: dict[str, Any] = {}
    for level in ("level1", "level3"):
        if isinstance(metrics.get(level), dict):
            out[level] = metrics[level].get("chosen_k")
    if isinstance(metrics.get("level2"), dict):
        out["level2"] = metrics["level2"].get("n_topics")
    return out


def evaluate_topics(ws, truth: Path | None) -> dict[str, Any]:
    """Scores of the topics stage in ``ws`` (a Workspace) against the truth folder.

    ``truth``: a phantom's ``truth/`` folder (or its reports.parquet), or None.
    Returns ``{"truth": None, "chosen_k": {...}}`` without truth, else NMI, ARI, purity
    of level-1 labels against case types over the reports present in both, the chosen
    K, the number of true case types, their ratio and whether it lies within NEAR_RATIO.
    Either way ``"labels"`` holds :func:`score_labels` when the reports carry labels.
    """
    import pyarrow.parquet as pq

    chosen = _chosen_k(ws)
    by_label = score_labels(ws)
    extra = {"labels": by_label} if by_label is not None else {}
    if truth is None:
        return {"truth": None, "chosen_k": chosen, **extra}
    truth = Path(truth)
    reports = truth / "reports.parquet" if truth.is_dir() else truth
    labels = pq.read_table(ws.require("topics", "level1/doc_topics.parquet"), columns=["accession", "topic"])
    cases = pq.read_table(reports, columns=["accession", "case_type"])
    case_of = dict(zip(cases.column("accession").to_pylist(), cases.column("case_type").to_pylist()))
    pairs = [(case_of[a], t) for a, t in zip(labels.column("accession").to_pylist(), labels.column("topic").to_pylist())
             if a in case_of and case_of[a] is not None]
    n_types = len({c for c in case_of.values() if c is not None})
    k1 = chosen.get("level1")
    result: dict[str, Any] = {
        "documents_scored": len(pairs),
        "documents_unmatched": labels.num_rows - len(pairs),
        "chosen_k": chosen,
        "true_case_types": n_types,
        "k_ratio": (k1 / n_types) if (k1 and n_types) else None,
    }
    ratio = result["k_ratio"]
    result["k_near_truth"] = None if ratio is None else bool(NEAR_RATIO[0] <= ratio <= NEAR_RATIO[1])
    result.update(_partition_scores(pairs))
    return result | extra
