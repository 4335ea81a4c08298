"""Procedural key images: one axial slice of a body region with its findings drawn in.

``render_slice`` paints the region's anatomy (anatomy.toml: ellipses of tissues) under
a random pose (scale, rotation, shift), then each finding as a shape of its tissue at a
plausible place inside its organ and at its size in mm, then noise. CT values are
Hounsfield units (contrast-enhanced organs brighter), MR a T2-like signal, PET an
uptake map where findings are hot; CR and US slices reuse the MR-like contrast.

Output: an ``(size, size)`` float32 array in the modality's units, and the list of
findings actually drawn. Coordinates: rows run top to bottom (anterior at the top).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .catalog import Catalog

__all__ = ["render_slice", "tissue_value"]

# Tissues that light up on FDG PET (everything else is background uptake).
_PET_HOT = {"lesion": 9.0, "node": 7.0, "rim": 8.0, "sclerotic": 6.0, "lytic": 6.0, "consolidation": 3.0,
            "brain": 5.0, "urine": 8.0, "kidney": 3.0, "liver": 1.5, "blood": 1.2, "air": 0.0, "lung": 0.3}


def tissue_value(cat: Catalog, tissue: str, modality: str, contrast: bool) -> float:
    """Value of a tissue in the modality's units (HU for CT, arbitrary signal otherwise)."""
    hu, mr = cat.anatomy["tissues"][tissue]
    if modality == "CT":
        return float(hu + (cat.anatomy["contrast_boost"].get(tissue, 0) if contrast else 0))
    if modality == "PT":
        return 400.0 * _PET_HOT.get(tissue, 1.0)
    return float(mr)


class _Canvas:
    """A float32 image with ellipse painting restricted to each ellipse's bounding box."""

    def __init__(self, size: int, background: float):
        self.size = size
        self.img = np.full((size, size), background, dtype=np.float32)
        self.coords = np.arange(size, dtype=np.float32)

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        h = self.size / 2.0
        return (x + 1.0) * h, (y + 1.0) * h

    def mask(self, cx: float, cy: float, rx: float, ry: float, angle: float):
        """Slices and boolean mask of an ellipse (normalised coordinates, angle in radians)."""
        h = self.size / 2.0
        px, py = (cx + 1.0) * h, (cy + 1.0) * h
        ax, ay = max(rx * h, 0.6), max(ry * h, 0.6)
        r = max(ax, ay) + 1.0
        x0, x1 = max(0, int(px - r)), min(self.size, int(px + r) + 2)
        y0, y1 = max(0, int(py - r)), min(self.size, int(py + r) + 2)
        if x0 >= x1 or y0 >= y1:
            return None
        xs = self.coords[x0:x1] - px
        ys = self.coords[y0:y1, None] - py
        c, s = math.cos(angle), math.sin(angle)
        u = (xs * c + ys * s) / ax
        v = (-xs * s + ys * c) / ay
        return (slice(y0, y1), slice(x0, x1)), (u * u + v * v) <= 1.0

    def paint(self, value: float, cx, cy, rx, ry, angle=0.0, clip=None) -> None:
        got = self.mask(cx, cy, rx, ry, angle)
        if got is None:
            return
        (sy, sx), m = got
        if clip is not None:
            cg = self.mask(*clip)
            if cg is None:
                return
            full = np.zeros((self.size, self.size), dtype=bool)
            full[cg[0]] = cg[1]
            m = m & full[sy, sx]
        self.img[sy, sx][m] = value


def _posed(organ: Sequence[Any], pose: tuple[float, float, float, float]) -> tuple[float, float, float, float, float]:
    """An organ ellipse (x, y, rx, ry) moved by the pose (scale, rotation, dx, dy)."""
    _, x, y, rx, ry, _tissue = organ
    scale, rot, dx, dy = pose
    c, s = math.cos(rot), math.sin(rot)
    return (scale * (x * c - y * s) + dx, scale * (x * s + y * c) + dy, scale * rx, scale * ry, rot)


def render_slice(
    cat: Catalog,
    region: str,
    modality: str,
    contrast: bool,
    findings: Sequence[str],
    rng: np.random.Generator,
    size: int = 512,
) -> tuple[np.ndarray, list[str]]:
    """One slice of ``region`` showing ``findings`` (concept names).

    Returns the ``(size, size)`` float32 image in the modality's units and the concepts
    drawn (a finding whose organ the region lacks is drawn in the body instead).
    """
    anatomy = cat.anatomy["regions"][region]
    fov = float(anatomy["fov_mm"])
    pose = (float(rng.uniform(0.86, 1.06)), float(rng.normal(0.0, 0.06)),
            float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.05, 0.05)))
    canvas = _Canvas(size, tissue_value(cat, "air", modality, contrast))
    organs: dict[str, list[tuple[float, float, float, float, float]]] = {}
    for organ in anatomy["organs"]:
        geom = _posed(organ, pose)
        organs.setdefault(organ[0], []).append(geom)
        # organ sizes vary from patient to patient
        jitter = float(rng.uniform(0.92, 1.08))
        canvas.paint(tissue_value(cat, organ[5], modality, contrast), geom[0], geom[1],
                     geom[2] * jitter, geom[3] * jitter, geom[4])
    drawn = []
    mm_to_norm = 2.0 / fov  # a diameter in mm -> a radius... times 1/2 below
    for name in findings:
        concept = cat.concepts[name]
        places = organs.get(concept.organ) or organs["body"]
        organ = places[int(rng.integers(len(places)))]
        value = tissue_value(cat, concept.tissue, modality, contrast)
        lo, hi = concept.size_mm
        radius = float(rng.uniform(lo, hi)) * mm_to_norm / 2.0
        _draw(canvas, concept.shape, value, organ, radius, rng, cat, concept.tissue, modality, contrast)
        drawn.append(name)
    noise = 10.0 if modality == "CT" else (30.0 if modality != "PT" else 60.0)
    img = canvas.img
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise)
    if modality == "PT":  # PET is blurry: average with shifted copies
        img[:] = (img + np.roll(img, 2, 0) + np.roll(img, -2, 0) + np.roll(img, 2, 1) + np.roll(img, -2, 1)) / 5.0
    return img, drawn


def _inside(organ, rng: np.random.Generator, depth: float = 0.6) -> tuple[float, float]:
    """A random point inside an organ ellipse, at most ``depth`` of the way to its edge."""
    cx, cy, rx, ry, rot = organ
    t = float(rng.uniform(0, 2 * math.pi))
    r = depth * math.sqrt(float(rng.uniform(0, 1)))
    u, v = r * rx * math.cos(t), r * ry * math.sin(t)
    c, s = math.cos(rot), math.sin(rot)
    return cx + u * c - v * s, cy + u * s + v * c


def _draw(canvas: _Canvas, shape: str, value: float, organ, radius: float, rng: np.random.Generator,
          cat: Catalog, tissue: str, modality: str, contrast: bool) -> None:
    cx, cy, rx, ry, rot = organ
    clip = (cx, cy, rx, ry, rot)
    if shape == "blob":
        x, y = _inside(organ, rng)
        canvas.paint(value, x, y, radius, radius * float(rng.uniform(0.7, 1.0)), float(rng.uniform(0, math.pi)))
    elif shape == "ring":
        x, y = _inside(organ, rng, 0.5)
        canvas.paint(value, x, y, radius, radius * 0.9, float(rng.uniform(0, math.pi)), clip)
        core = tissue_value(cat, "necrosis", modality, contrast)
        canvas.paint(core, x, y, radius * 0.6, radius * 0.55, 0.0, clip)
    elif shape == "dots":
        for _ in range(int(rng.integers(2, 6))):
            x, y = _inside(organ, rng, 0.8)
            r = radius * float(rng.uniform(0.4, 1.0))
            canvas.paint(value, x, y, r, r * float(rng.uniform(0.75, 1.0)), 0.0, clip)
    elif shape == "patch":
        x0, y0 = _inside(organ, rng, 0.5)
        for _ in range(int(rng.integers(3, 7))):
            x = x0 + float(rng.normal(0, radius * 0.6))
            y = y0 + float(rng.normal(0, radius * 0.6))
            r = radius * float(rng.uniform(0.4, 0.8))
            canvas.paint(value, x, y, r, r * float(rng.uniform(0.6, 1.0)), float(rng.uniform(0, math.pi)), clip)
    elif shape == "crescent":
        # dependent (posterior = lower in the image) part of the organ
        depth = min(1.0, radius / max(ry, 1e-3))
        canvas.paint(value, cx, cy + ry * (1.0 - depth), rx * 1.05, ry * depth, rot, clip)
    else:  # "edge": on the organ's boundary
        t = float(rng.uniform(0, 2 * math.pi))
        c, s = math.cos(rot), math.sin(rot)
        u, v = 0.95 * rx * math.cos(t), 0.95 * ry * math.sin(t)
        canvas.paint(value, cx + u * c - v * s, cy + u * s + v * c, radius, radius * 0.7, t)
