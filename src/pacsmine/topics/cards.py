"""Figures of the topics stage: model-selection curves (the paper's Figure 2) and review
cards (Figures 3 and 4): per topic its top words, counts and a montage of sample key images.

Drawn with matplotlib's Agg backend (no display needed); images read with Pillow.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..figures import pyplot, save_png

__all__ = ["selection_figure", "topic_card", "montage"]


def selection_figure(path: str | Path, curves: Sequence[dict[str, Any]], title: str, dpi: int = 90) -> Path:
    """Perplexity and NPMI against K, one line per curve, chosen K marked.

    ``curves``: selection dicts with ``k``, ``perplexity``, ``npmi``, ``chosen_k`` and an
    optional ``label``; curves without a search (a single K) are skipped.
    """
    plt = pyplot()
    path = Path(path)
    fig, (ax_p, ax_c) = plt.subplots(1, 2, figsize=(10, 4))
    many = len(curves) > 6
    for curve in curves:
        if len(curve.get("k", [])) < 1:
            continue
        kw = dict(lw=0.8, alpha=0.6) if many else dict(lw=1.6, marker="o", label=curve.get("label"))
        ax_p.plot(curve["k"], curve["perplexity"], **kw)
        ax_c.plot(curve["k"], curve["npmi"], **kw)
        if not many and curve.get("chosen_k") in curve["k"]:
            i = curve["k"].index(curve["chosen_k"])
            ax_p.plot([curve["k"][i]], [curve["perplexity"][i]], "r*", ms=14)
            ax_c.plot([curve["k"][i]], [curve["npmi"][i]], "r*", ms=14)
    ax_p.set_xlabel("number of topics K")
    ax_p.set_ylabel("held-out perplexity (document completion)")
    ax_c.set_xlabel("number of topics K")
    ax_c.set_ylabel("NPMI coherence (held-out)")
    if not many and any(c.get("label") for c in curves):
        ax_p.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save_png(fig, path, dpi)
    return path


def montage(paths: Sequence[str | Path], columns: int = 4, tile: int = 128) -> np.ndarray:
    """Grayscale uint8 mosaic (rows*tile, columns*tile) of the images at ``paths``.

    Unreadable images are left black, so one broken PNG does not cost the card.
    """
    from PIL import Image

    n = max(1, len(paths))
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    canvas = np.zeros((rows * tile, columns * tile), dtype=np.uint8)
    for i, p in enumerate(paths):
        r, c = divmod(i, columns)
        try:
            with Image.open(p) as img:
                arr = np.asarray(img.convert("L").resize((tile, tile)))
        except (OSError, ValueError):
            continue
        # A 2-pixel black border keeps neighbouring images apart.
        canvas[r * tile + 2:(r + 1) * tile - 2, c * tile + 2:(c + 1) * tile - 2] = arr[2:-2, 2:-2]
    return canvas


def topic_card(path: str | Path, title: str, words: Sequence[str], weights: Sequence[float],
               doc_count: int, image_count: int, flagged: bool, images: Sequence[str | Path],
               dpi: int = 80) -> Path:
    """One review card: top words as a bar chart, counts, and a montage of sample key images."""
    plt = pyplot()
    path = Path(path)
    fig, (ax_w, ax_i) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1, 1.5]})
    y = np.arange(len(words))
    ax_w.barh(y, weights, color="#cc4444" if flagged else "#4477aa")
    ax_w.set_yticks(y, labels=list(words), fontsize=8)
    ax_w.invert_yaxis()
    ax_w.set_xlabel("p(word | topic)")
    if images:
        ax_i.imshow(montage(images), cmap="gray", vmin=0, vmax=255)
        ax_i.set_title(f"{len(images)} sample key images", fontsize=9)
    else:
        ax_i.text(0.5, 0.5, "no key image", ha="center", va="center")
    ax_i.axis("off")
    flag = "  FLAGGED: disproportionate share of images" if flagged else ""
    fig.suptitle(f"{title}   documents {doc_count}   key images {image_count}{flag}", fontsize=11)
    fig.tight_layout()
    save_png(fig, path, dpi)
    return path
