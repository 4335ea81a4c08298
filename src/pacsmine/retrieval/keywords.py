"""Keywords of a key image by retrieval in the word-vector space (Shin et al., CVPR 2015,
Section 5.4, Figure 8), and recall at K.

For one image, given the CNN's 512-d output o = [o1 | o2] (o1, o2: 256-d halves):

1. At each topic level, the image's predicted topic; its top words (``top_words``, the
   paper's 50) that have a word vector are the level's candidates (with ``terms_only``,
   only term tokens: disease and finding words).
2. A candidate w scores s(w) = max(cos(v_w, o1), cos(v_w, o2)): cosine **similarity**
   (higher is closer) of its word vector with either half.
3. The level's keyword is its candidate of highest score (ties: the earlier candidate).
   Three levels give three keywords.

The paper's released code had two faults that this module avoids (tests catch each): it
took the arg-max of cosine *distance* (the least similar word), and it scored every
candidate with a vector left over from an earlier iteration (a stale vector: every
candidate got the same score, so the first one won).

Ranking for recall at K: the (distinct) keywords by score, then the remaining candidates of
the three levels by score. Recall at K of an image with true words T (its referring
sentences' terms) and ranked predictions P: ``hit`` = 1 if P[:K] meets T (the retrieval
literature's R@K), ``recall`` = |P[:K] & T| / |T|; both averaged over images with T not
empty. The **baseline** ranks, for the image's predicted level-1 topic, the true words of the
training images of that topic by how many images carry them, without looking further at the
image. Figure 8's **average cosine distance** is the mean of 1 - s(keyword).

Arrays: word vectors (V, dim) float32; outputs (2 * dim,) or (N, 2 * dim) float32.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

import numpy as np

__all__ = ["unit_rows", "candidates", "word_scores", "level_keywords", "ranked_words", "recall_at_k",
           "frequent_words", "mean_cosine_distance"]


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero); float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def candidates(top_words: Sequence[str], index: Mapping[str, int], top: int,
               terms: set[str] | None = None) -> list[str]:
    """The first ``top`` of a topic's ``top_words`` that have a vector (``index``: word -> row),
    and are in ``terms`` when given; in the topic's order."""
    return [w for w in list(top_words)[:top] if w in index and (terms is None or w in terms)]


def word_scores(output: np.ndarray, words: Sequence[str], index: Mapping[str, int], matrix: np.ndarray) -> np.ndarray:
    """float32 (len(words),): each word's s(w) = max(cos(v_w, first half), cos(v_w, second half))."""
    output = np.asarray(output, dtype=np.float32).reshape(-1)
    dim = matrix.shape[1]
    if output.size != 2 * dim:
        raise ValueError(f"an output of {output.size} values for {dim}-d word vectors (expected {2 * dim})")
    halves = unit_rows(output.reshape(2, dim))
    if not words:
        return np.zeros(0, np.float32)
    vectors = unit_rows(matrix[np.array([index[w] for w in words], dtype=np.int64)])  # each word its own row
    return (vectors @ halves.T).max(axis=1)


def level_keywords(output: np.ndarray, level_candidates: Sequence[Sequence[str]], index: Mapping[str, int],
                   matrix: np.ndarray) -> list[tuple[str | None, float]]:
    """Per level, (keyword, its score): the candidate of highest similarity (ties: the earlier);
    (None, nan) for a level without candidates."""
    out: list[tuple[str | None, float]] = []
    for words in level_candidates:
        scores = word_scores(output, list(words), index, matrix)
        if scores.size == 0:
            out.append((None, float("nan")))
            continue
        best = int(np.argmax(scores))  # similarity: the highest is the closest word
        out.append((words[best], float(scores[best])))
    return out


def ranked_words(output: np.ndarray, level_candidates: Sequence[Sequence[str]], index: Mapping[str, int],
                 matrix: np.ndarray) -> list[str]:
    """The keywords (distinct, by score, best first), then every other candidate of the levels by score."""
    keys = [(w, s) for w, s in level_keywords(output, level_candidates, index, matrix) if w is not None]
    first: list[str] = []
    for w, _ in sorted(keys, key=lambda ws: -ws[1]):
        if w not in first:
            first.append(w)
    rest = sorted({w for words in level_candidates for w in words} - set(first))
    scores = word_scores(output, rest, index, matrix)
    order = sorted(range(len(rest)), key=lambda i: (-scores[i], rest[i]))
    return first + [rest[i] for i in order]


def recall_at_k(predicted: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], ks: Sequence[int]) -> dict:
    """``{"images": n, "k": {K: {"hit": h, "recall": r}}}`` over the images whose truth is not empty."""
    pairs = [(list(p), set(t)) for p, t in zip(predicted, truth) if t]
    out: dict = {"images": len(pairs), "k": {}}
    for k in ks:
        if not pairs:
            out["k"][int(k)] = {"hit": None, "recall": None}
            continue
        hits = [bool(set(p[:k]) & t) for p, t in pairs]
        recalls = [len(set(p[:k]) & t) / len(t) for p, t in pairs]
        out["k"][int(k)] = {"hit": float(np.mean(hits)), "recall": float(np.mean(recalls))}
    return out


def frequent_words(topics: Sequence[str], words: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """topic -> the words of its images, most images first (ties: alphabetical); each image's
    words counted once."""
    counts: dict[str, Counter] = {}
    for topic, ws in zip(topics, words):
        counts.setdefault(topic, Counter()).update(set(ws))
    return {t: [w for w, _ in sorted(c.items(), key=lambda wc: (-wc[1], wc[0]))] for t, c in counts.items()}


def mean_cosine_distance(scores: Sequence[float]) -> float:
    """Figure 8's average cosine distance: mean of 1 - s over the keywords' scores (nan ignored)."""
    values = np.asarray([s for s in scores if s == s], dtype=np.float64)
    return float(np.mean(1.0 - values)) if values.size else float("nan")
