"""Choosing the number of topics: held-out perplexity by document completion, NPMI coherence.

The estimate is computed here, from a fitted topic-word matrix alone, so that it is
the same for every K and for every engine (tomotopy in the stage, gensim in the bench):

1. Documents are split 80/20 *by patient* (no patient on both sides).
2. Each held-out document's known tokens are cut into a first and a second half
   (text order). Its topic mixture theta is folded in on the first half with the
   topics fixed (EM on the mixture weights under the model's Dirichlet prior).
3. Perplexity = exp(-sum log p(w | theta, phi) / N) over the second halves.

Words the training documents never contained cannot be scored by any model and are
dropped before the cut, identically for every K (they share the training set).

Coherence is the mean NPMI of the top-N word pairs of each topic, counted as
document co-occurrence over the held-out documents (a pair never seen together
scores -1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "split_by_patient",
    "HeldOut",
    "completion_perplexity",
    "npmi_coherence",
    "k_grid",
    "k_cap",
    "choose_k",
    "cap_fallback",
    "check_rules",
    "knee_k",
    "edge_step",
    "at_grid_edge",
]


def split_by_patient(patient_ids: Sequence[str], heldout_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """Boolean mask (n_docs,): True for held-out documents, whole patients at a time.

    Patients are shuffled with ``seed`` and taken until their documents reach
    ``heldout_fraction`` of the corpus. With a single patient nothing is held out.
    """
    ids = np.asarray([str(p) for p in patient_ids], dtype=object)
    n = len(ids)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    patients, inverse, counts = np.unique(ids.astype(str), return_inverse=True, return_counts=True)
    if len(patients) < 2:
        return mask
    order = np.random.default_rng(seed).permutation(len(patients))
    target = heldout_fraction * n
    taken = np.zeros(len(patients), dtype=bool)
    total = 0
    for p in order:
        if total >= target:
            break
        # Never hold out every patient: the model needs something to train on.
        if taken.sum() == len(patients) - 1:
            break
        taken[p] = True
        total += counts[p]
    mask[taken[inverse]] = True
    return mask


@dataclass
class HeldOut:
    """Held-out documents cut for document completion, encoded in one model's vocabulary.

    ``first``/``second``: int64 word ids, concatenated over documents;
    ``first_doc``/``second_doc``: the held-out document (0..n_docs-1) of each token;
    ``docs``: per document the sorted unique word ids (for coherence).
    """

    first: np.ndarray
    first_doc: np.ndarray
    second: np.ndarray
    second_doc: np.ndarray
    docs: list[np.ndarray]

    @property
    def n_docs(self) -> int:
        return len(self.docs)

    @property
    def n_scored(self) -> int:
        return int(len(self.second))

    @classmethod
    def from_tokens(cls, documents: Iterable[Sequence[str]], vocabulary: Sequence[str]) -> "HeldOut":
        """Encode documents; those with fewer than two known tokens are left out."""
        index = {w: i for i, w in enumerate(vocabulary)}
        first, first_doc, second, second_doc, docs = [], [], [], [], []
        for tokens in documents:
            ids = [index[t] for t in tokens if t in index]
            if len(ids) < 2:
                continue
            d = len(docs)
            half = len(ids) // 2
            first.extend(ids[:half])
            first_doc.extend([d] * half)
            second.extend(ids[half:])
            second_doc.extend([d] * (len(ids) - half))
            docs.append(np.unique(np.asarray(ids, dtype=np.int64)))
        as_int = lambda xs: np.asarray(xs, dtype=np.int64)  # noqa: E731
        return cls(as_int(first), as_int(first_doc), as_int(second), as_int(second_doc), docs)


def fold_in(topic_word: np.ndarray, alpha: np.ndarray, words: np.ndarray, doc_of: np.ndarray,
            n_docs: int, iterations: int = 30) -> np.ndarray:
    """Topic mixtures (n_docs, K) of documents from their tokens, topics fixed.

    EM on the mixture weights: responsibilities r_tk ∝ theta_dk phi_k,w_t, then
    theta_dk ∝ sum_t r_tk + alpha_k (the posterior mean under the Dirichlet prior).
    ``words``/``doc_of`` give each token's word id and document.
    """
    k = topic_word.shape[0]
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (k,))
    theta = np.tile(alpha / alpha.sum(), (n_docs, 1))
    if len(words) == 0:
        return theta
    phi_t = topic_word[:, words].T  # (T, K)
    for _ in range(iterations):
        r = theta[doc_of] * phi_t
        r /= np.maximum(r.sum(axis=1, keepdims=True), 1e-300)
        counts = np.zeros((n_docs, k))
        np.add.at(counts, doc_of, r)
        theta = counts + alpha
        theta /= theta.sum(axis=1, keepdims=True)
    return theta


def completion_perplexity(topic_word: np.ndarray, alpha: np.ndarray | float, heldout: HeldOut,
                          iterations: int = 30, chunk_docs: int = 2000) -> float:
    """Held-out perplexity by document completion (lower is better).

    ``topic_word``: (K, V) rows summing to 1, columns in the vocabulary ``heldout`` was
    encoded with; ``alpha``: scalar or (K,) document-topic prior.
    """
    topic_word = np.asarray(topic_word, dtype=np.float64)
    k = topic_word.shape[0]
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (k,)).copy()
    if heldout.n_scored == 0:
        return float("nan")
    log_lik = 0.0
    # Chunks of documents keep the (tokens x K) responsibilities small.
    for lo in range(0, heldout.n_docs, chunk_docs):
        hi = min(lo + chunk_docs, heldout.n_docs)
        sel1 = (heldout.first_doc >= lo) & (heldout.first_doc < hi)
        sel2 = (heldout.second_doc >= lo) & (heldout.second_doc < hi)
        theta = fold_in(topic_word, alpha, heldout.first[sel1], heldout.first_doc[sel1] - lo, hi - lo, iterations)
        words2, docs2 = heldout.second[sel2], heldout.second_doc[sel2] - lo
        p = np.einsum("tk,kt->t", theta[docs2], topic_word[:, words2])
        log_lik += float(np.log(np.maximum(p, 1e-300)).sum())
    return math.exp(-log_lik / heldout.n_scored)


def npmi_coherence(topic_word: np.ndarray, heldout: HeldOut, top_n: int = 10) -> tuple[float, np.ndarray]:
    """Mean NPMI of each topic's top-``top_n`` word pairs over the held-out documents.

    Returns (mean over topics, per-topic float64 array (K,)). NPMI(a, b) =
    log(p(a,b) / p(a)p(b)) / -log p(a,b) with document frequencies; a pair never seen
    together scores -1, a pair always together +1.
    """
    topic_word = np.asarray(topic_word)
    k, v = topic_word.shape
    n = heldout.n_docs
    if n == 0:
        return float("nan"), np.full(k, np.nan)
    top = np.argsort(-topic_word, axis=1, kind="stable")[:, :top_n]
    words = np.unique(top)
    column = np.full(v, -1, dtype=np.int64)
    column[words] = np.arange(len(words))
    # Binary document x (top word) incidence, only for the words that matter.
    incidence = np.zeros((n, len(words)), dtype=np.float32)
    for d, ids in enumerate(heldout.docs):
        cols = column[ids]
        incidence[d, cols[cols >= 0]] = 1.0
    joint = (incidence.T @ incidence) / n  # (W, W) document co-occurrence
    single = np.diag(joint).astype(np.float64)
    scores = np.empty(k)
    for t in range(k):
        cols = column[top[t]]
        vals = []
        for i in range(len(cols)):
            for j in range(i + 1, len(cols)):
                a, b = cols[i], cols[j]
                pab = float(joint[a, b])
                if pab <= 0.0:
                    vals.append(-1.0)
                elif pab >= 1.0:
                    vals.append(1.0)
                else:
                    vals.append(math.log(pab / (single[a] * single[b])) / -math.log(pab))
        scores[t] = float(np.mean(vals)) if vals else float("nan")
    return float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan"), scores


def k_grid(candidates: Sequence[int], n_docs: int, docs_per_topic: float, max_k: int | None = None,
           min_k: int = 2, min_candidates: int = 1) -> list[int]:
    """The candidate topic counts a corpus of ``n_docs`` documents can support.

    Keeps the configured candidates with K <= n_docs / docs_per_topic (and <= max_k),
    so a 3,000-report demo does not search up to the paper's 1,000. When fewer than
    ``min_candidates`` are left, the grid is instead ``min_candidates`` values spaced
    evenly on a log scale from ``min_k`` to that bound (raised to
    ``min_k + min_candidates - 1`` if lower, so there is always room for them): a
    small corpus still gets a real choice of K. A corpus of fewer than 4 documents
    gets no grid.
    """
    if n_docs < 4:
        return []
    limit = n_docs / max(docs_per_topic, 1e-9)
    if max_k:
        limit = min(limit, max_k)
    grid = sorted({int(k) for k in candidates if 2 <= int(k) <= limit})
    need = max(1, int(min_candidates))
    if len(grid) >= need:
        return grid
    low = max(2, int(min_k))
    high = max(int(limit), low + need - 1)
    if need == 1:
        smallest = min((int(k) for k in candidates), default=2)
        return [max(2, min(smallest, int(limit)))]
    # Log spacing, densified until rounding leaves ``need`` distinct values (the range
    # holds at least ``need`` integers, so this ends).
    points = need
    while True:
        grid = sorted({int(round(x)) for x in np.geomspace(low, high, points)})
        if len(grid) >= need:
            return _thin(grid, need)
        points += 1


def _thin(grid: list[int], need: int) -> list[int]:
    """``need`` values of a sorted grid, both ends kept, the rest evenly by position."""
    if len(grid) <= need:
        return grid
    picks = np.round(np.linspace(0, len(grid) - 1, need)).astype(int)
    return [grid[i] for i in picks]


def k_cap(n_docs: int, docs_per_topic: float, max_k: int | None = None) -> int:
    """The largest K a corpus of ``n_docs`` documents supports: n_docs / docs_per_topic,
    at most ``max_k`` (the bound an upward search past the grid stops at)."""
    limit = n_docs / max(docs_per_topic, 1e-9)
    if max_k:
        limit = min(limit, max_k)
    return int(limit)


def edge_step(ks: Sequence[int], perplexities: Sequence[float], rule: str = "min_perplexity",
              min_decrease: float = 0.02, min_k: int = 2, cap: int | None = None) -> int | None:
    """The next K to score when the rule's choice lies at an end of the searched ``ks``; None
    when it is interior or the bound on that side is reached.

    An optimum at the smallest K searched says only that the search started too high
    (a truncated search, not a chosen K), so the smallest K is halved, down to ``min_k``;
    an optimum at the largest K doubles it, up to ``cap``. For ``elbow`` the low edge is a
    decrease already below ``min_decrease`` at the first step, the high edge a decrease
    that never falls below it. One step per call: the caller scores the K and asks again.
    """
    order = np.argsort(np.asarray(ks))
    ks = [int(ks[i]) for i in order]
    p = [perplexities[i] for i in order]
    if len(ks) < 2 or not np.isfinite(np.asarray(p, dtype=np.float64)).any():
        return None
    chosen = choose_k(ks, p, rule, min_decrease)
    if chosen == ks[0]:
        below = max(int(min_k), ks[0] // 2)
        return below if below < ks[0] else None
    if chosen == ks[-1] and cap is not None:
        above = min(int(cap), 2 * ks[-1])
        return above if above > ks[-1] else None
    return None


def at_grid_edge(ks: Sequence[int], chosen: int, min_k: int = 2, cap: int | None = None) -> bool:
    """True when the chosen K is the smallest K searched and that is at or below ``min_k``,
    or the largest and at or above ``cap``: the search could go no further, so the
    optimum may lie beyond the bound."""
    if len(ks) < 2:
        return False
    low, high = min(ks), max(ks)
    return bool((chosen == low and low <= min_k) or (cap is not None and chosen == high and high >= cap))


def choose_k(ks: Sequence[int], perplexities: Sequence[float], rule: str = "min_perplexity",
             min_decrease: float = 0.02, at_cap: str = "cap", cap: int | None = None) -> int:
    """The chosen K from a perplexity curve (``ks`` with their held-out perplexities).

    ``min_perplexity``: the K of lowest held-out perplexity (the paper's rule, levels 1 and 2).
    ``elbow``: the smallest K after which the relative decrease to the next grid point,
    (P_i - P_{i+1}) / P_i, falls below ``min_decrease`` (level 3, where perplexity
    keeps falling with K); the largest K if it never does.

    ``at_cap`` says what ``min_perplexity`` does when its optimum is the largest K searched
    and that K has reached ``cap`` (documents / docs_per_topic, max_k), i.e. the curve has
    no interior minimum and is still falling where the search must stop: ``"cap"`` takes
    that K anyway (the paper's rule as written), ``"elbow"`` takes the elbow of the curve
    instead (the ``elbow`` rule above with ``min_decrease``), ``"knee"`` the curve's knee
    (:func:`knee_k`; the cap when the curve has none). :func:`cap_fallback` says
    whether the choice was replaced. Any other value is a ValueError.
    """
    ks = list(ks)
    p = np.asarray(perplexities, dtype=np.float64)
    if not ks:
        raise ValueError("empty K grid")
    if at_cap not in ("cap", "elbow", "knee"):
        raise ValueError(f"unknown at_cap '{at_cap}' (cap, elbow or knee)")
    finite = np.isfinite(p)
    if not finite.any():
        return int(ks[0])
    if rule == "min_perplexity":
        best = int(ks[int(np.nanargmin(np.where(finite, p, np.inf)))])
        if cap_fallback(ks, best, at_cap, cap):
            if at_cap == "knee":
                knee = knee_k(ks, p)
                return best if knee is None else knee
            return choose_k(ks, p, "elbow", min_decrease)
        return best
    if rule == "elbow":
        for i in range(len(ks) - 1):
            if not (finite[i] and finite[i + 1]):
                continue
            if (p[i] - p[i + 1]) / p[i] < min_decrease:
                return int(ks[i])
        return int(ks[-1])
    raise ValueError(f"unknown K selection rule '{rule}' (min_perplexity or elbow)")


def check_rules(level: dict, where: str) -> None:
    """A ValueError naming the key when a level's ``rule`` or ``at_cap`` is unknown, so a
    typo stops the stage before any fit instead of after the search."""
    if level.get("rule") not in ("min_perplexity", "elbow"):
        raise ValueError(f"{where}.rule: unknown K selection rule '{level.get('rule')}' (min_perplexity or elbow)")
    if level.get("at_cap", "cap") not in ("cap", "elbow", "knee"):
        raise ValueError(f"{where}.at_cap: unknown '{level.get('at_cap')}' (cap, elbow or knee)")


def knee_k(ks: Sequence[int], perplexities: Sequence[float]) -> int | None:
    """The knee of a falling perplexity curve (Kneedle, Satopaa et al. 2011, on K as
    searched): the K whose perplexity lies furthest below the straight line from the
    first to the last (K, perplexity) point, where more topics stop paying much. None
    when no K lies below that line (a straight or bending-down curve has no knee), the
    curve does not fall from its first K to its last, or fewer than 3 finite points."""
    pairs = sorted((int(k), float(v)) for k, v in zip(ks, perplexities) if np.isfinite(v))
    if len(pairs) < 3:
        return None
    (k0, p0), (k1, p1) = pairs[0], pairs[-1]
    if not p1 < p0 or k1 == k0:
        return None
    best, gap = None, 0.0
    for k, v in pairs[1:-1]:
        # Both axes scaled to [0, 1] by the end points; positive = below the chord.
        g = (p0 + (p1 - p0) * (k - k0) / (k1 - k0) - v) / (p0 - p1)
        if g > gap:
            best, gap = k, g
    return best


def cap_fallback(ks: Sequence[int], best: int, at_cap: str, cap: int | None) -> bool:
    """Whether ``min_perplexity``'s optimum ``best`` is open to the ``at_cap`` rule: ``at_cap``
    is ``"elbow"`` or ``"knee"``, more than two K were searched (a bend needs three points)
    and ``best`` is the largest K searched, at or above ``cap``."""
    ks = list(ks)
    return (at_cap in ("elbow", "knee") and cap is not None and len(ks) > 2
            and best == max(ks) and max(ks) >= cap)
