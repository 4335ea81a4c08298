"""Figure 6 of the paper: chosen words' vectors projected onto their first two principal
components (numpy SVD), as a labelled scatter plot (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..figures import pyplot, save_png

__all__ = ["pca_2d", "chosen_words", "pca_figure"]


def pca_2d(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a (n, dim) matrix on its first two principal components.

    Centres the rows, takes the SVD X = U S V^T, and returns ``(X V[:, :2]`` as (n, 2)
    float64, the share of the variance each of the two components explains, shape (2,)).
    Component signs are fixed so that each component's largest |loading| is positive."""
    x = np.asarray(matrix, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    vt = vt[:2]
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    vt = vt * np.where(signs == 0, 1.0, signs)[:, None]
    coords = x @ vt.T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    total = float((s**2).sum())
    explained = np.zeros(2)
    if total > 0:
        explained[: len(s[:2])] = s[:2] ** 2 / total
    return coords, explained


def chosen_words(words: Sequence[str], present: set[str], fallback: Sequence[str], max_words: int) -> list[str]:
    """The ``words`` that are ``present``, in order (at most ``max_words``); if none is,
    the first ``max_words`` of ``fallback`` (the most frequent term tokens)."""
    picked = [w for w in dict.fromkeys(words) if w in present][:max_words]
    return picked if picked else [w for w in fallback if w in present][:max_words]


def pca_figure(path: str | Path, words: Sequence[str], matrix: np.ndarray, is_term: Sequence[bool],
               title: str) -> None:
    """Write a PNG scatter plot of ``words`` ((n, dim) ``matrix`` rows) in 2-D PCA;
    terms (``is_term``: a term token of extract) in one colour, other words in another."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    if len(words) >= 2:
        coords, explained = pca_2d(matrix)
        terms = np.asarray(is_term, dtype=bool)
        ax.scatter(coords[~terms, 0], coords[~terms, 1], s=18, color="tab:blue", label="other word")
        ax.scatter(coords[terms, 0], coords[terms, 1], s=18, color="tab:red", label="term (disease or finding)")
        for (x, y), word in zip(coords, words):
            ax.annotate(word.replace("_", " "), (x, y), fontsize=7, xytext=(3, 2), textcoords="offset points")
        ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({explained[1]:.0%} of variance)")
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "fewer than two words to plot", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    fig.tight_layout()
    save_png(fig, path)
