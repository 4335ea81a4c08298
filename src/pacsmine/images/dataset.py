"""The key-image data set: which images, which split, which classes (Shin et al., Section 4).

The method, in the domain's words:

1. Every linked key image carries three topic labels (topics/key_image_labels.parquet).
   An image whose PNG is missing or unreadable, or which has no level-1 topic, is a reject
   with a reason, never a crash (the stage decides that; this module sees good images only).
2. A level-1 topic that the topics stage flagged as disproportionate is handled by
   ``images.dataset.flagged``: ``keep`` it, ``drop`` its images, or ``subsample`` it to at
   most ``subsample_ratio`` x the mean image count of the unflagged level-1 topics, taking
   whole patients in a seeded random order and skipping a patient whose images would pass
   the cap (:func:`flagged_mask`).
3. The split is by patient, so that no patient has images on two sides, and stratified by
   level-1 topic: each patient belongs to the stratum of its most frequent level-1 topic
   (ties: the smallest topic id); within a stratum the patients are shuffled with the seed,
   then taken largest first (stable), each into the part whose image count is furthest
   below its target share ``fractions x stratum images`` (ties: train, validation, test).
   With single-image patients and integral targets the counts are exact (:func:`split_by_patient`).
4. A topic of a level is kept in that level's class list only when it has at least
   ``min_per_split`` images in each of train, validation and test; a rarer topic is left
   out of that level (as the paper left out rare topics), its images still serving the
   other levels (:func:`kept_classes`). Class indices follow the topic ids in numeric order.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

__all__ = ["PARTS", "split_by_patient", "kept_classes", "flagged_mask", "topic_sort_key", "class_counts"]

PARTS = ("train", "validation", "test")


def topic_sort_key(topic: str) -> tuple:
    """Numeric order of topic ids such as "7", "7.10", "12.3" (as ints, not as text)."""
    return tuple(int(p) if p.isdigit() else p for p in str(topic).split("."))


def split_by_patient(patients: Sequence[str], strata: Sequence[str], fractions: Sequence[float],
                     seed: int) -> np.ndarray:
    """Part of each image: an object array of "train" / "validation" / "test", length N.

    ``patients`` and ``strata`` (the level-1 topic) are per image, length N; ``fractions``
    the three target shares (summing to 1). Every image of a patient gets the same part.
    """
    if len(patients) != len(strata):
        raise ValueError("patients and strata must have one entry per image")
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.shape != (3,) or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"images.dataset.fractions must be three shares summing to 1, not {fractions.tolist()}")
    by_patient: dict[str, list[int]] = {}
    for row, patient in enumerate(patients):
        by_patient.setdefault(str(patient), []).append(row)
    stratum_of: dict[str, list[str]] = {}
    for patient in sorted(by_patient):
        counts = Counter(str(strata[r]) for r in by_patient[patient])
        best = max(counts.values())
        stratum = min((t for t, c in counts.items() if c == best), key=topic_sort_key)
        stratum_of.setdefault(stratum, []).append(patient)
    rng = np.random.default_rng(seed)
    out = np.empty(len(patients), dtype=object)
    for stratum in sorted(stratum_of, key=topic_sort_key):
        members = stratum_of[stratum]
        order = [members[i] for i in rng.permutation(len(members))]
        order.sort(key=lambda p: -len(by_patient[p]))  # stable: the shuffle breaks ties
        total = sum(len(by_patient[p]) for p in members)
        target = fractions * total
        have = np.zeros(3)
        for patient in order:
            part = int(np.argmax(target - have))  # argmax takes the first on ties
            have[part] += len(by_patient[patient])
            out[by_patient[patient]] = PARTS[part]
    return out


def kept_classes(labels: Sequence[str | None], parts: Sequence[str], min_per_split: int) -> list[str]:
    """Topics with at least ``min_per_split`` images in each of the three parts, in numeric order.

    ``labels`` (topic id or None) and ``parts`` are per image.
    """
    counts = class_counts(labels, parts)
    kept = [t for t, c in counts.items() if all(c[p] >= min_per_split for p in PARTS)]
    return sorted(kept, key=topic_sort_key)


def class_counts(labels: Sequence[str | None], parts: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{topic: {"train": n, "validation": n, "test": n}}`` over the labelled images."""
    counts: dict[str, dict[str, int]] = {}
    for label, part in zip(labels, parts):
        if label is None:
            continue
        entry = counts.setdefault(str(label), {p: 0 for p in PARTS})
        entry[str(part)] += 1
    return counts


def flagged_mask(level1: Sequence[str], patients: Sequence[str], flagged: set[str], mode: str,
                 ratio: float, seed: int) -> np.ndarray:
    """Boolean mask (length N) of the images kept after handling the flagged level-1 topics.

    ``mode``: "keep" (all True), "drop" (False on every image of a flagged topic) or
    "subsample": a flagged topic keeps at most ``floor(ratio x mean image count of the
    unflagged topics present)`` images, whole patients in a seeded random order, a patient
    whose images would pass the cap skipped.
    """
    level1 = [str(t) for t in level1]
    keep = np.ones(len(level1), dtype=bool)
    if mode == "keep" or not flagged:
        if mode not in ("keep", "drop", "subsample"):
            raise ValueError(f"images.dataset.flagged must be keep, drop or subsample, not {mode!r}")
        return keep
    if mode == "drop":
        return np.array([t not in flagged for t in level1], dtype=bool)
    if mode != "subsample":
        raise ValueError(f"images.dataset.flagged must be keep, drop or subsample, not {mode!r}")
    sizes = Counter(t for t in level1 if t not in flagged)
    cap = int(np.floor(ratio * (sum(sizes.values()) / len(sizes)))) if sizes else 0
    rng = np.random.default_rng(seed)
    for topic in sorted(flagged, key=topic_sort_key):
        rows_of: dict[str, list[int]] = {}
        for row, (t, p) in enumerate(zip(level1, patients)):
            if t == topic:
                rows_of.setdefault(str(p), []).append(row)
        if not rows_of:
            continue
        names = sorted(rows_of)
        taken = 0
        for i in rng.permutation(len(names)):
            rows = rows_of[names[i]]
            if taken + len(rows) <= cap:
                taken += len(rows)
            else:
                keep[rows] = False
    return keep
