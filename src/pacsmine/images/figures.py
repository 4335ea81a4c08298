"""The confusion matrix of one (architecture, level) as a PNG (Figure 5's kind of picture)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..figures import pyplot, save_png

__all__ = ["confusion_figure"]


def confusion_figure(path: Path, confusion: np.ndarray, labels: Sequence[str], order: Sequence[int],
                     title: str) -> Path:
    """Row-normalised confusion (rows true topic, columns predicted) in ``order``, each axis
    labelled with ``labels`` (one per class, e.g. "7: liver lesion mass"), written atomically."""
    plt = pyplot()

    c = np.asarray(confusion, dtype=np.float64)[np.ix_(order, order)]
    rows = c.sum(axis=1, keepdims=True)
    p = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    n = len(order)
    size = min(30.0, max(5.0, 0.28 * n + 3))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(p, cmap="viridis", vmin=0, vmax=1)
    shown = [labels[i] for i in order]
    font = max(3, min(9, int(400 / max(n, 1))))
    ax.set_xticks(range(n), shown, rotation=90, fontsize=font)
    ax.set_yticks(range(n), shown, fontsize=font)
    ax.set_xlabel("predicted topic")
    ax.set_ylabel("true topic")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, dpi=100)
