"""Table 3 (top-1 / top-5 per level and architecture beside the majority baseline) and the
transfer comparison, from the stage's predictions: computed as JSON, rendered as Markdown.

Predictions are rows of ``evaluation/predictions.parquet``: ``image_id``, ``arch``, ``level``,
``split``, ``topic`` (the true topic id, None where that level left the topic out),
``predicted`` (the max(top_k) most probable topics, best first), ``p`` (their probabilities). Only
images whose topic is kept at that level are scored.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .dataset import PARTS
from .metrics import majority_baseline

__all__ = ["accuracy_of", "table3", "table3_markdown", "transfer_markdown"]

SCORED = ("validation", "test")


def accuracy_of(rows: Sequence[dict[str, Any]], k: int) -> float:
    """Share of ``rows`` (with a true ``topic``) whose topic is among ``predicted[:k]``; 0.0 if none."""
    scored = [r for r in rows if r["topic"] is not None]
    if not scored:
        return 0.0
    return float(np.mean([r["topic"] in r["predicted"][:k] for r in scored]))


def table3(predictions: Sequence[dict[str, Any]], split: dict[str, Sequence], classes: dict[str, list[str]],
           top_k: Sequence[int]) -> dict[str, Any]:
    """``{level: {"classes", "images": {part: n}, "baseline": {part: {"top1", "top5"}},
    "architectures": {arch: {part: {"top1", "top5"}}}}}`` for validation and test.

    ``split``: columns of split.parquet (``split`` and ``level1..3`` lists); ``classes``:
    the kept topics per level.
    """
    out: dict[str, Any] = {}
    parts = list(split["split"])
    for level, kept in classes.items():
        index = {t: i for i, t in enumerate(kept)}
        labels = [index.get(str(t)) if t is not None else None for t in split[level]]
        by_part = {p: [lab for lab, s in zip(labels, parts) if s == p and lab is not None] for p in PARTS}
        entry: dict[str, Any] = {"classes": len(kept), "images": {p: len(by_part[p]) for p in PARTS},
                                 "baseline": {}, "architectures": {}}
        for p in SCORED:
            entry["baseline"][p] = {f"top{k}": majority_baseline(by_part["train"], by_part[p], k) for k in top_k}
        archs = sorted({r["arch"] for r in predictions if r["level"] == level})
        for arch in archs:
            rows = [r for r in predictions if r["level"] == level and r["arch"] == arch]
            entry["architectures"][arch] = {
                p: {f"top{k}": accuracy_of([r for r in rows if r["split"] == p], k) for k in top_k} for p in SCORED}
        out[level] = entry
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def table3_markdown(table: dict[str, Any], top_k: Sequence[int], title: str) -> str:
    """The paper's Table 3 layout: one row per level and architecture (and the level's
    majority baseline), columns validation and test top-k accuracy in percent."""
    heads = [f"{p} top-{k}" for p in SCORED for k in top_k]
    lines = [f"# {title}", "",
             "| level | model | classes | train / val / test images | " + " | ".join(heads) + " |",
             "|---|---|---|---|" + "---|" * len(heads)]
    for level, entry in table.items():
        n = entry["images"]
        counts = f"{n['train']} / {n['validation']} / {n['test']}"
        for arch, scores in entry["architectures"].items():
            cells = [_pct(scores[p][f"top{k}"]) for p in SCORED for k in top_k]
            lines.append(f"| {level} | {arch} | {entry['classes']} | {counts} | " + " | ".join(cells) + " |")
        cells = [_pct(entry["baseline"][p][f"top{k}"]) for p in SCORED for k in top_k]
        lines.append(f"| {level} | majority baseline | {entry['classes']} | {counts} | " + " | ".join(cells) + " |")
    lines += ["", "Accuracies in percent, over the images whose topic is kept at that level "
                  "(docs/images.md). Majority baseline: the train split's most frequent classes."]
    return "\n".join(lines) + "\n"


def transfer_markdown(result: dict[str, Any], top_k: Sequence[int]) -> str:
    """The ImageNet-against-scratch comparison (same split, same budget) as Markdown."""
    heads = [f"{p} top-{k}" for p in SCORED for k in top_k]
    lines = [f"# Transfer: {result['arch']} at {result['level']}, ImageNet weights against random initialisation",
             "", f"Same split, same budget: {result['epochs']} epochs, crop {result['crop']} px, "
                 f"{result['train_images']} training images.", "",
             "| start | best epoch | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(heads)]
    for name in ("imagenet", "scratch"):
        r = result[name]
        cells = [_pct(r[p][f"top{k}"]) for p in SCORED for k in top_k]
        lines.append(f"| {name} | {r['best_epoch']} | " + " | ".join(cells) + " |")
    cells = [_pct(result["baseline"][p][f"top{k}"]) for p in SCORED for k in top_k]
    lines.append("| majority baseline | - | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
