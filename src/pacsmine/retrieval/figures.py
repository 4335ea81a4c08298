"""A page of examples as PNG: key image, its referring sentence, the predicted words."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..figures import pyplot, save_png

__all__ = ["examples_figure"]


def examples_figure(path: Path, examples: Sequence[dict[str, Any]], title: str) -> Path:
    """One row per example (``image`` uint8 (H, W), ``sentence`` str, ``keywords`` list of str,
    ``truth`` list of str, ``image_id`` str): the image left, the text right; written atomically."""
    plt = pyplot()

    n = max(1, len(examples))
    fig, axes = plt.subplots(n, 2, figsize=(10, 2.2 * n), gridspec_kw={"width_ratios": [1, 3.5]}, squeeze=False)
    for row, ex in zip(axes, examples):
        row[0].imshow(np.asarray(ex["image"]), cmap="gray", vmin=0, vmax=255)
        row[0].set_axis_off()
        text = (f"{ex['image_id']}\n" + "\n".join(textwrap.wrap(ex["sentence"] or "", 90)[:4])
                + f"\n\npredicted: {', '.join(w for w in ex['keywords'] if w) or '-'}"
                + f"\nin the sentence: {', '.join(ex['truth']) or '-'}")
        row[1].text(0, 0.5, text, va="center", ha="left", fontsize=8, family="monospace")
        row[1].set_axis_off()
    for row in axes[len(examples):]:
        row[0].set_axis_off()
        row[1].set_axis_off()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path, dpi=90)
