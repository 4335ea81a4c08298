"""Figure 6: 2-D PCA by SVD, the words chosen for it, the PNG."""

from __future__ import annotations

import numpy as np
import pytest

from pacsmine.vectors.plot import chosen_words, pca_2d, pca_figure


def test_points_on_a_line_are_all_on_the_first_component():
    # x = t * (3, 4) / 5: centred, PC1 coordinates are +-(t - mean t) and explain all the variance.
    t = np.array([0.0, 1.0, 2.0, 5.0])
    matrix = np.outer(t, [0.6, 0.8, 0.0])
    coords, explained = pca_2d(matrix)
    assert explained[0] == pytest.approx(1.0) and explained[1] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(np.abs(coords[:, 0]), np.abs(t - t.mean()))
    assert np.allclose(coords[:, 1], 0.0)


def test_two_components_of_a_known_spread():
    # variances 4 (x) and 1 (y) around the mean: explained 0.8 and 0.2
    matrix = np.array([[2, 0, 0], [-2, 0, 0], [0, 1, 0], [0, -1, 0]], dtype=float)
    coords, explained = pca_2d(matrix)
    assert explained == pytest.approx([0.8, 0.2])
    assert np.allclose(np.abs(coords), [[2, 0], [2, 0], [0, 1], [0, 1]])


def test_chosen_words_fall_back_to_the_most_frequent_terms():
    present = {"lung", "liver", "pneumonia", "x"}
    assert chosen_words(["liver", "missing", "lung", "liver"], present, ["pneumonia"], 10) == ["liver", "lung"]
    assert chosen_words(["missing"], present, ["pneumonia", "absent", "x"], 1) == ["pneumonia"]


def test_figure_is_a_png(tmp_path):
    path = tmp_path / "pca.png"
    pca_figure(path, ["a", "b_c", "d"], np.eye(3, 4), [False, True, False], "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pca_figure(path, ["a"], np.eye(1, 4), [False], "one word")
    assert path.stat().st_size > 0
