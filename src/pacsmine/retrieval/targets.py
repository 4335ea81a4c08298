"""Bigram regression targets of key images (Shin et al., CVPR 2015, Section 5.3, Figure 7).

For each key image, the disease and finding terms of its referring sentence(s) give the
pairs a CNN learns to regress onto, each pair a 512-d target: the first term's 256-d word
vector, then the second's.

1. The terms of a sentence are extract's terms.parquet rows of that (accession,
   sentence_index), in text order (``start``). A mention whose status the config drops is
   left out before pairing: negated mentions ("no effusion") always under the default, and
   uncertain ones ("possible pneumonia") when ``drop_uncertain``. The paper had no negation.
2. Two consecutive mentions of the same concept (``code``) count once ("cyst ... cysts"),
   as in extract's bigrams (pacsmine.nlp.bigrams).
3. A sentence's consecutive terms give its bigrams: a, b, c -> (a, b), (b, c). Pairs do not
   cross sentences: an image cited by two sentences gets each sentence's pairs.
4. A sentence with a single term gives (a, a) when ``single = "self"`` (the term paired with
   itself), nothing when ``single = "skip"`` (the paper: Figure 7's lone terms "are ignored
   since they can not form a bi-gram").
5. An image's pairs are kept once each, in order of first appearance: an image with several
   distinct bigrams is one training pair per bigram.
6. A pair one of whose terms has no word vector cannot be a target and is dropped (counted).

Everything here is pure (lists in, lists out); :mod:`.tables` reads the workspace.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = ["sentence_bigrams", "image_bigrams", "target_vectors", "SINGLE"]

SINGLE = ("self", "skip")


def _kept(mention: Mapping[str, Any], drop_negated: bool, drop_uncertain: bool) -> bool:
    if drop_negated and mention["negated"]:
        return False
    return not (drop_uncertain and mention["uncertain"])


def sentence_bigrams(mentions: Iterable[Mapping[str, Any]], *, drop_negated: bool, drop_uncertain: bool,
                     single: str) -> list[tuple[str, str]]:
    """The (first_code, second_code) pairs of one sentence's term mentions (dicts with ``start``,
    ``code``, ``negated``, ``uncertain``), steps 1 to 4 of the module docstring."""
    if single not in SINGLE:
        raise ValueError(f"retrieval.targets.single must be one of {', '.join(SINGLE)}, not {single!r}")
    codes: list[str] = []
    for m in sorted(mentions, key=lambda m: (m["start"], m.get("end", 0))):
        if not _kept(m, drop_negated, drop_uncertain):
            continue
        if codes and codes[-1] == m["code"]:
            continue  # a repeated concept does not pair with itself
        codes.append(m["code"])
    if len(set(codes)) == 1 and single == "self":
        return [(codes[0], codes[0])]
    return list(zip(codes, codes[1:]))


def image_bigrams(sentences: Sequence[Iterable[Mapping[str, Any]]], *, drop_negated: bool, drop_uncertain: bool,
                  single: str) -> list[tuple[str, str]]:
    """The distinct pairs of one key image's referring sentences (each a list of mention
    dicts), in order of first appearance (step 5)."""
    out: list[tuple[str, str]] = []
    for mentions in sentences:
        for pair in sentence_bigrams(mentions, drop_negated=drop_negated, drop_uncertain=drop_uncertain,
                                     single=single):
            if pair not in out:
                out.append(pair)
    return out


def target_vectors(first: Sequence[int], second: Sequence[int], matrix: np.ndarray) -> np.ndarray:
    """float32 (N, 2 * dim) targets: row n is ``matrix[first[n]]`` then ``matrix[second[n]]``
    (``first``/``second``: word-vector rows, ``matrix``: (V, dim) word vectors)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    a = matrix[np.asarray(first, dtype=np.int64)]
    b = matrix[np.asarray(second, dtype=np.int64)]
    return np.concatenate([a, b], axis=1)
