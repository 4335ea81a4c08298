"""Procedural slices: plausible values per tissue, findings drawn where and as large as they should be."""

from __future__ import annotations

import numpy as np
import pytest

from pacsmine.phantom.catalog import catalog
from pacsmine.phantom.images import render_slice, tissue_value


def _render(region, modality, findings, seed=0, contrast=True, size=256):
    return render_slice(catalog(), region, modality, contrast, findings, np.random.default_rng(seed), size)


def _smooth(img):
    """3x3 mean: the noise (sd 10-30) drops below the tissue contrasts of findings."""
    p = np.pad(img, 1, mode="edge")
    return sum(p[i : i + img.shape[0], j : j + img.shape[1]] for i in range(3) for j in range(3)) / 9.0


def test_ct_values_are_hounsfield_units():
    img, drawn = _render("chest", "CT", [])
    assert img.shape == (256, 256) and img.dtype == np.float32 and drawn == []
    assert img.min() < -900  # air around the body
    # the lungs (about -850 HU) fill a large part of a chest slice
    assert ((img > -950) & (img < -750)).mean() > 0.1
    assert (img > 500).mean() > 0.001  # the spine
    head, _ = _render("head", "CT", [])
    assert ((head > 20) & (head < 50)).mean() > 0.2  # brain parenchyma


def test_contrast_and_modality_change_values():
    cat = catalog()
    assert tissue_value(cat, "blood", "CT", True) > tissue_value(cat, "blood", "CT", False) + 100
    assert tissue_value(cat, "csf", "MR", False) > tissue_value(cat, "brain", "MR", False)  # T2-like
    assert tissue_value(cat, "csf", "CT", False) < tissue_value(cat, "brain", "CT", False)
    ct, _ = _render("head", "CT", [])
    mr, _ = _render("head", "MR", [])
    assert not np.allclose(ct, mr)


@pytest.mark.parametrize("region,modality,concept", [
    ("abdomen", "CT", "liver metastasis"),
    ("chest", "CT", "lung metastasis"),
    ("head", "MR", "glioblastoma multiforme"),
    ("spine", "CT", "bone cancer"),
    ("pelvis", "MR", "uterine fibroid"),
])
def test_a_finding_changes_its_organ_at_its_size(region, modality, concept):
    cat = catalog()
    spec = cat.concepts[concept]
    base, _ = _render(region, modality, [], seed=4)
    with_finding, drawn = _render(region, modality, [concept], seed=4)
    assert drawn == [concept]
    # same seed: the pose and anatomy are the same until the finding is drawn; noise differs
    changed = np.abs(_smooth(with_finding) - _smooth(base)) > 40
    area_px = changed.sum()
    assert area_px > 4
    mm_per_px = cat.anatomy["regions"][region]["fov_mm"] / 256
    max_area = 6 * np.pi * (spec.size_mm[1] / 2 / mm_per_px) ** 2  # up to a few lesions of the largest size
    assert area_px < max_area


def test_same_generator_same_pixels_and_poses_vary():
    a, _ = _render("abdomen", "CT", ["kidney cyst"], seed=9)
    b, _ = _render("abdomen", "CT", ["kidney cyst"], seed=9)
    c, _ = _render("abdomen", "CT", ["kidney cyst"], seed=10)
    assert np.array_equal(a, b)
    body_a, body_c = (a > -500).sum(), (c > -500).sum()
    assert body_a != body_c  # pose and size vary between images
