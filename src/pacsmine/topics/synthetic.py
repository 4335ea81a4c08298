"""Small synthetic corpora with a known topic structure, for tests and the speed bench.

- :func:`lda_corpus` draws documents from a true LDA model (known topic-word matrix);
- :func:`write_extract_stage` writes a finished *extract* stage into a workspace
  (documents.parquet, key_images.parquet, vocabulary.parquet, 256x256 PNGs, manifest) whose reports come
  from ``n_types`` case types, so the topics stage can run without ingest or NLP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["lda_corpus", "write_extract_stage"]


def lda_corpus(n_docs: int, n_topics: int, vocab_size: int = 2000, doc_length: int = 80, alpha: float = 0.1,
               eta: float = 0.05, seed: int = 0) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """Documents drawn from LDA. Returns (token lists, theta (n_docs, K), phi (K, V)).

    Words are ``"w<id>"``; document lengths are Poisson(doc_length) (at least 2).
    """
    rng = np.random.default_rng(seed)
    phi = rng.dirichlet(np.full(vocab_size, eta), size=n_topics)
    theta = rng.dirichlet(np.full(n_topics, alpha), size=n_docs)
    vocab = np.array([f"w{i}" for i in range(vocab_size)], dtype=object)
    # Inverse-CDF sampling (searchsorted on cumulative sums): much faster than
    # rng.choice(p=...), which rebuilds the V-long table on every call.
    phi_cdf = np.cumsum(phi, axis=1)
    phi_cdf /= phi_cdf[:, -1:]
    theta_cdf = np.cumsum(theta, axis=1)
    theta_cdf /= theta_cdf[:, -1:]
    lengths = np.maximum(2, rng.poisson(doc_length, size=n_docs))
    docs = []
    for d in range(n_docs):
        n = int(lengths[d])
        z = np.minimum(np.searchsorted(theta_cdf[d], rng.random(n), side="right"), n_topics - 1)
        words = np.empty(n, dtype=np.int64)
        for k in np.unique(z):
            at = np.flatnonzero(z == k)
            words[at] = np.minimum(np.searchsorted(phi_cdf[k], rng.random(len(at)), side="right"), vocab_size - 1)
        docs.append(vocab[words].tolist())
    return docs, theta, phi


def _letters(i: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "ba": numbers as letters, so the words survive the
    extract tokenizer's default pattern (letters or digits, never both)."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = chr(97 + r) + out
        if i == 0:
            return out


def _case_words(n_types: int, words_per_type: int) -> list[list[str]]:
    return [[f"case{_letters(t)}word{_letters(j)}" for j in range(words_per_type)] for t in range(n_types)]


def write_extract_stage(ws, n_reports: int = 300, n_types: int = 4, seed: int = 0, images_per_report: int = 2,
                        words_per_report: int = 40) -> dict[str, Any]:
    """Write a synthetic, finished extract stage into ``ws`` (a Workspace).

    Each report has one case type (``case_type`` in the returned truth); its tokens mix
    the type's own words (80 %) with shared words (20 %). Each report cites
    ``images_per_report`` key images (PNG under ingest/images/), each with a sentence
    context drawn the same way. Returns ``{"case_type": {accession: type}, ...}``.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    type_words = _case_words(n_types, 25)
    shared = [f"common{_letters(j)}" for j in range(30)]
    accessions = [f"A{i:06d}" for i in range(n_reports)]
    patients = [f"P{i // 2:05d}" for i in range(n_reports)]  # two studies per patient
    types = rng.integers(0, n_types, size=n_reports)

    def draw(t: int, n: int) -> list[str]:
        own = rng.random(n) < 0.8
        return [type_words[t][rng.integers(25)] if o else shared[rng.integers(30)] for o in own]

    docs = [draw(int(t), words_per_report) for t in types]
    shade = {t: int(40 + 200 * t / max(1, n_types - 1)) for t in range(n_types)}
    rows: dict[str, list] = {k: [] for k in ("image_id", "accession", "patient_id", "series", "instance", "png",
                                             "sentence_index", "sentence", "prev_sentence", "next_sentence", "tokens")}
    for acc, pid, t in zip(accessions, patients, types):
        for j in range(images_per_report):
            rel = f"ingest/images/{acc}/1_{j + 1}.png"
            path = ws.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((256, 256), shade[int(t)], dtype=np.uint8)).save(path)
            tokens = draw(int(t), 12)
            rows["image_id"].append(f"{acc}/1/{j + 1}")
            rows["accession"].append(acc)
            rows["patient_id"].append(pid)
            rows["series"].append(1)
            rows["instance"].append(j + 1)
            rows["png"].append(rel)
            rows["sentence_index"].append(j)
            rows["sentence"].append(" ".join(tokens[4:8]) + f" (image {j + 1})")
            rows["prev_sentence"].append(None if j == 0 else " ".join(tokens[:4]))
            rows["next_sentence"].append(" ".join(tokens[8:]))
            rows["tokens"].append(tokens)
    documents = pa.table({
        "accession": pa.array(accessions, pa.string()),
        "patient_id": pa.array(patients, pa.string()),
        "modality": pa.array(["CT"] * n_reports, pa.string()),
        "tokens": pa.array(docs, pa.list_(pa.string())),
        "n_tokens": pa.array([len(d) for d in docs], pa.int32()),
    })
    key_images = pa.table({
        **{k: pa.array(rows[k], pa.string()) for k in ("image_id", "accession", "patient_id", "png", "sentence",
                                                       "prev_sentence", "next_sentence")},
        "series": pa.array(rows["series"], pa.int32()),
        "instance": pa.array(rows["instance"], pa.int32()),
        "sentence_index": pa.array(rows["sentence_index"], pa.int32()),
        "tokens": pa.array(rows["tokens"], pa.list_(pa.string())),
    })

    doc_freq: dict[str, int] = {}
    for d in docs:
        for w in set(d):
            doc_freq[w] = doc_freq.get(w, 0) + 1
    terms = sorted(doc_freq, key=lambda t: (-doc_freq[t], t))
    vocabulary = pa.table({
        "term": pa.array(terms, pa.string()),
        "doc_freq": pa.array([doc_freq[t] for t in terms], pa.int64()),
        "term_freq": pa.array([doc_freq[t] for t in terms], pa.int64()),
        "kept": pa.array([True] * len(terms), pa.bool_()),
        "reason": pa.array([None] * len(terms), pa.string()),
    })

    def body(ctx):
        ctx.write_parquet("vocabulary.parquet", vocabulary)
        ctx.write_parquet("documents.parquet", documents)
        ctx.write_parquet("key_images.parquet", key_images)
        return {"documents": n_reports, "synthetic": True}

    ws.run_stage("extract", {"synthetic": {"n_reports": n_reports, "n_types": n_types, "seed": seed}}, {}, body,
                 force=True)
    return {"case_type": {a: f"type{int(t)}" for a, t in zip(accessions, types)}, "n_types": n_types}
