"""Scoring word vectors: corpus coverage anywhere, and precision@k against a phantom's truth.

``pacsmine evaluate`` calls :func:`evaluate_vectors`. Without a truth it returns the
stage's corpus figures (vocabulary size; share of extract's terms, and of its Disease
Ontology 2015 terms, that got a vector). Against a phantom's truth folder it adds:

1. Each truth concept (a disease of truth/reports.parquet ``findings``, or the concept of
   a *present* disease or finding mention of truth/mentions.parquet) is given the set of
   reports that have it.
2. Its **region** is the region (truth ``region``) of at least ``min_share`` of those
   reports, and its **case type** likewise (truth ``case_type``); a concept spread more
   evenly gets none and is not scored on that label (:func:`concept_labels`).
3. A concept's token is its name as extract's tokenizer writes a term ("liver
   metastasis" -> ``liver_metastasis``); the scored terms are the labelled tokens that
   have a vector.
4. precision@k of a scored term = the share of its k nearest other scored terms (cosine)
   with the same label; the score is the mean over the terms. Its chance baseline is the
   precision of k neighbours drawn at random from the other scored terms, whose
   expectation is the share of the other terms with the same label (:func:`precision_at_k`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pyarrow.parquet as pq

from .keyed import WordVectors, load_vectors

__all__ = ["concept_labels", "precision_at_k", "truth_concepts", "evaluate_vectors"]

_SCORED_FAMILIES = ("disease", "finding")


def concept_labels(reports: Mapping[str, str], concepts: Mapping[str, Iterable[str]],
                   min_share: float) -> dict[str, str]:
    """``{concept: label}`` for each concept whose reports are of one label in at least
    ``min_share`` of cases (ties: the label first in sorted order).

    ``reports``: accession -> label (region or case type); ``concepts``: concept -> the
    accessions that have it (unknown accessions are ignored)."""
    out: dict[str, str] = {}
    for concept, accessions in concepts.items():
        counts = Counter(reports[a] for a in set(accessions) if a in reports)
        total = sum(counts.values())
        if not total:
            continue
        label, n = min(counts.items(), key=lambda item: (-item[1], item[0]))
        if n / total >= min_share:
            out[concept] = label
    return out


def precision_at_k(vectors: WordVectors, labels: Mapping[str, str], k: int) -> dict[str, Any]:
    """Mean precision@k of the labelled words that have a vector, beside its chance baseline.

    For each scored word w (labelled, with a vector; at least two such words): its k nearest
    other scored words by cosine; precision = share with w's label. Chance for w = share of
    the other scored words with w's label (the expected precision of k random others).
    Returns ``{"precision", "chance", "terms", "k", "by_term": {w: precision}}`` (precision
    and chance are None with fewer than two scored words)."""
    scored = sorted(w for w in labels if w in vectors)
    by_label = Counter(labels[w] for w in scored)
    by_term: dict[str, float] = {}
    chance: list[float] = []
    if len(scored) >= 2:
        for word in scored:
            neighbours = vectors.most_similar(word, k, among=scored)
            by_term[word] = sum(labels[n] == labels[word] for n, _ in neighbours) / len(neighbours)
            chance.append((by_label[labels[word]] - 1) / (len(scored) - 1))
    return {
        "precision": float(np.mean(list(by_term.values()))) if by_term else None,
        "chance": float(np.mean(chance)) if chance else None,
        "terms": len(by_term),
        "k": int(k),
        "by_term": by_term,
    }


def truth_concepts(truth_dir: str | Path) -> tuple[dict[str, str], dict[str, str], dict[str, set[str]]]:
    """(accession -> region, accession -> case type, concept -> accessions) from a phantom's
    truth/reports.parquet (``findings``) and truth/mentions.parquet (present mentions of a
    disease or finding), when that file exists."""
    truth_dir = Path(truth_dir)
    reports = pq.read_table(truth_dir / "reports.parquet", columns=["accession", "region", "case_type", "findings"])
    accessions = reports.column("accession").to_pylist()
    region = dict(zip(accessions, reports.column("region").to_pylist()))
    case_type = dict(zip(accessions, reports.column("case_type").to_pylist()))
    concepts: dict[str, set[str]] = {}
    for accession, findings in zip(accessions, reports.column("findings").to_pylist()):
        for name in findings or []:
            concepts.setdefault(name, set()).add(accession)
    mentions_path = truth_dir / "mentions.parquet"
    if mentions_path.exists():
        mentions = pq.read_table(mentions_path, columns=["accession", "concept", "status", "family"]).to_pydict()
        for accession, concept, status, family in zip(mentions["accession"], mentions["concept"],
                                                      mentions["status"], mentions["family"]):
            if status == "present" and family in _SCORED_FAMILIES and concept:
                concepts.setdefault(concept, set()).add(accession)
    return region, case_type, concepts


def _token_labels(labels: Mapping[str, str], tokenizer) -> dict[str, str]:
    out: dict[str, str] = {}
    for concept, label in sorted(labels.items()):
        token = tokenizer.term_token(concept)
        # Two concepts of one token (rare: names differing only in case) keep the first label.
        if token and token not in out:
            out[token] = label
    return out


def evaluate_vectors(ws, truth_dir: str | Path | None) -> dict[str, Any]:
    """The vectors' corpus figures (metrics.json), and with a phantom truth folder
    ``precision_at_k``: ``{"region": {...}, "case_type": {...}}`` (:func:`precision_at_k`'s
    figures, plus ``labelled_concepts``, ``without_vector`` and, for region, ``examples``:
    the neighbours of the five most frequent scored terms), beside chance (module docstring)."""
    from ..nlp.tokens import Tokenizer

    metrics = ws.metrics("vectors") or {}
    result: dict[str, Any] = {key: metrics.get(key) for key in ("vocabulary", "dimensions", "sentences", "tokens",
                                                                "coverage")}
    if truth_dir is None or not (Path(truth_dir) / "reports.parquet").exists():
        return result
    config = ws.manifest("vectors")["config"]
    settings = config["evaluation"]
    tokenizer = Tokenizer(**config["extract_tokens"])
    vectors = load_vectors(ws)
    region, case_type, concepts = truth_concepts(truth_dir)
    k, share = int(settings["k"]), float(settings["min_share"])
    result["precision_at_k"] = {}
    for name, by_report in (("region", region), ("case_type", case_type)):
        labels = _token_labels(concept_labels(by_report, concepts, share), tokenizer)
        scores = precision_at_k(vectors, labels, k)
        scores["labelled_concepts"] = len(labels)
        scores["without_vector"] = sorted(t for t in labels if t not in vectors)
        if name == "region":
            # A few lists to read: the most frequent scored terms and their neighbours.
            counts = {t: len(a) for c, a in concepts.items() if (t := tokenizer.term_token(c)) in scores["by_term"]}
            shown = sorted(scores["by_term"], key=lambda t: (-counts.get(t, 0), t))[:5]
            scores["examples"] = {t: [f"{w} ({labels[w]})" for w, _ in vectors.most_similar(t, k, among=list(labels))]
                                  for t in shown}
        result["precision_at_k"][name] = scores
    return result
