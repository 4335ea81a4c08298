"""Retrieval scores and nearest-neighbour search over embeddings.

- :func:`recall_at_k_sets`: R@K of queries whose correct candidates are a set: the share of
  queries with at least one correct candidate among their K most similar (ties: the lower
  column first, as a stable sort gives).
- :func:`random_recall`: the same expected of a random ranking: for a query with c correct of
  M candidates, P(hit in K) = 1 - C(M - c, K) / C(M, K), averaged.
- :class:`NeighbourIndex`: inner-product search over unit-length rows (= cosine). Below
  ``exact_below`` rows, exact search (numpy matrix product, stored as safetensors); from there
  on a faiss HNSW index (``faiss.IndexHNSWFlat``, inner product), stored in faiss's own format
  (``faiss.write_index``). faiss (faiss-cpu) is imported only then.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["recall_at_k_sets", "recall_at_k_pairs", "random_recall", "NeighbourIndex"]


def recall_at_k_sets(sims: np.ndarray, correct: Sequence[set[int]], ks: Sequence[int]) -> dict[int, float]:
    """``{K: share}`` for similarities (Q, M) and each query's set of correct columns."""
    sims = np.asarray(sims)
    if len(sims) == 0:
        return {int(k): float("nan") for k in ks}
    order = np.argsort(-sims, axis=1, kind="stable")
    out = {}
    for k in ks:
        top = order[:, :k]
        out[int(k)] = float(np.mean([bool(set(top[i].tolist()) & correct[i]) for i in range(len(sims))]))
    return out


def recall_at_k_pairs(sims: np.ndarray, correct: Sequence[int], ks: Sequence[int]) -> dict[int, float]:
    """:func:`recall_at_k_sets` with one correct column per query."""
    return recall_at_k_sets(sims, [{int(c)} for c in correct], ks)


def random_recall(n_candidates: int, correct_counts: Sequence[int], ks: Sequence[int]) -> dict[int, float]:
    """Expected R@K of a random ranking of ``n_candidates`` for queries with these numbers of correct candidates."""
    out = {}
    for k in ks:
        k = int(k)
        values = [1.0 - (math.comb(n_candidates - c, k) / math.comb(n_candidates, k) if k <= n_candidates else 0.0)
                  for c in correct_counts]
        out[k] = float(np.mean(values)) if values else float("nan")
    return out


class NeighbourIndex:
    """Nearest rows by inner product of unit vectors (N, d) float32: exact below ``exact_below``
    rows, a faiss HNSW graph (``hnsw_m`` links per node, ``ef_search`` at query time) from there."""

    def __init__(self, exact_below: int, hnsw_m: int, ef_search: int):
        self.exact_below, self.hnsw_m, self.ef_search = int(exact_below), int(hnsw_m), int(ef_search)

    def fit(self, vectors: np.ndarray) -> "NeighbourIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n_, self.dim_ = vectors.shape
        self.kind_ = "exact" if self.n_ < self.exact_below else "faiss_hnsw"
        if self.kind_ == "exact":
            self.vectors_ = vectors
        else:
            import faiss

            index = faiss.IndexHNSWFlat(self.dim_, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.add(vectors)
            index.hnsw.efSearch = self.ef_search
            self.faiss_ = index
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores (Q, k) float32, rows (Q, k) int64), best first; k capped at the rows indexed."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(int(k), self.n_)
        if self.kind_ == "exact":
            sims = queries @ self.vectors_.T
            rows = np.argsort(-sims, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(sims, rows, axis=1), rows.astype(np.int64)
        scores, rows = self.faiss_.search(queries, k)
        return scores, rows.astype(np.int64)

    def save(self, path: str | Path) -> Path:
        """``path`` + ``.faiss`` (faiss's format) or ``.safetensors`` (the exact rows); returns the file."""
        from ..workspace import atomic_path

        path = Path(path)
        if self.kind_ == "exact":
            from safetensors.numpy import save

            out = path.with_suffix(".safetensors")
            with atomic_path(out) as tmp:
                tmp.write_bytes(save({"vectors": self.vectors_}))
            return out
        import faiss

        out = path.with_suffix(".faiss")
        with atomic_path(out) as tmp:
            faiss.write_index(self.faiss_, str(tmp))
        return out

    @classmethod
    def load(cls, file: str | Path, ef_search: int) -> "NeighbourIndex":
        file = Path(file)
        index = cls(exact_below=0, hnsw_m=0, ef_search=ef_search)
        if file.suffix == ".safetensors":
            from safetensors.numpy import load_file

            index.vectors_ = load_file(str(file))["vectors"]
            index.kind_ = "exact"
            index.n_, index.dim_ = index.vectors_.shape
        else:
            import faiss

            index.faiss_ = faiss.read_index(str(file))
            index.faiss_.hnsw.efSearch = ef_search
            index.kind_ = "faiss_hnsw"
            index.n_, index.dim_ = index.faiss_.ntotal, index.faiss_.d
        return index
