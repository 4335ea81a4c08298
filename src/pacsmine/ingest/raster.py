"""Normalisation of one image frame to the paper's 8-bit 256x256 grayscale.

A frame goes in as a 2-D array (rows x columns, any numeric type, row 0 at the top)
already in modality units (HU for CT: rescale slope/intercept applied by the reader),
or a 3-D RGB array (rows x columns x 3). Out comes a ``uint8`` array of ``size x size``
with the same orientation (row 0 at the top, column 0 at the left).

Rules (docs/ingest.md):

* RGB -> luminance ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601), kept on 0..255;
* windowed modalities (CT): linear window ``[center - width/2, center + width/2]`` ->
  ``[0, 255]``, clipped; center/width from the DICOM tags or the per-modality default;
* other grayscale images: the same linear map between two percentiles of the frame;
* MONOCHROME1 (bright = low values) is inverted after the window;
* pad to a square with black (keeping the aspect ratio, image centred), then resize.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Normaliser", "Window", "to_luminance", "apply_window", "fit_square", "write_png"]

_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class Window:
    """The window applied to a frame: values ``lo``..``hi`` map to 0..255."""

    lo: float
    hi: float
    center: float | None = None  # set when it came from tags or a modality default
    width: float | None = None


def to_luminance(frame: np.ndarray) -> np.ndarray:
    """(rows, cols, 3|4) colour -> (rows, cols) float luminance; 2-D passes through as float."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        return frame[..., :3].astype(np.float64) @ _LUMA
    if frame.ndim != 2:
        raise ValueError(f"a frame must be 2-D or rows x cols x 3, got shape {frame.shape}")
    return frame.astype(np.float64)


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Linear map of ``window.lo``..``window.hi`` to 0..255 (float), clipped.

    A degenerate window (hi <= lo, e.g. a constant frame) maps everything to 0.
    """
    span = window.hi - window.lo
    if not np.isfinite(span) or span <= 0:
        return np.zeros_like(values, dtype=np.float64)
    return np.clip((values - window.lo) * (255.0 / span), 0.0, 255.0)


def fit_square(image: np.ndarray, size: int, fit: str = "pad", resample: str = "lanczos") -> np.ndarray:
    """(rows, cols) float 0..255 -> (size, size) uint8: pad with black to a square, resize."""
    from PIL import Image

    rows, cols = image.shape
    if fit == "pad" and rows != cols:
        side = max(rows, cols)
        square = np.zeros((side, side), dtype=np.float32)
        top, left = (side - rows) // 2, (side - cols) // 2
        square[top : top + rows, left : left + cols] = image
        image = square
    elif fit not in ("pad", "stretch"):
        raise ValueError(f"ingest.image.fit must be 'pad' or 'stretch', not {fit!r}")
    filters = {
        "nearest": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "lanczos": Image.Resampling.LANCZOS,
        "box": Image.Resampling.BOX,
    }
    if resample not in filters:
        raise ValueError(f"ingest.image.resample must be one of {sorted(filters)}, not {resample!r}")
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    if pil.size != (size, size):
        pil = pil.resize((size, size), filters[resample])
    return np.clip(np.rint(np.asarray(pil)), 0, 255).astype(np.uint8)


def write_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write a uint8 (rows, cols) array as an 8-bit grayscale PNG, atomically."""
    from PIL import Image

    from ..workspace import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(image, mode="L").save(tmp, format="PNG")
    return Path(path)


class Normaliser:
    """Turns frames into the paper's 8-bit square images (rules in the module docstring).

    Parameters mirror ``config["ingest"]["image"]``; ``from_config`` builds one from it.
    """

    def __init__(
        self,
        size: int = 256,
        fit: str = "pad",
        resample: str = "lanczos",
        windowed_modalities: tuple[str, ...] = ("CT",),
        use_window_tags: bool = True,
        percentiles: tuple[float, float] = (0.5, 99.5),
        default_window: dict[str, tuple[float, float]] | None = None,
    ):
        self.size = size
        self.fit = fit
        self.resample = resample
        self.windowed_modalities = windowed_modalities
        self.use_window_tags = use_window_tags
        self.percentiles = percentiles
        self.default_window = default_window

    @classmethod
    def from_config(cls, image: dict[str, Any]) -> "Normaliser":
        return cls(
            size=int(image["size"]),
            fit=image["fit"],
            resample=image["resample"],
            windowed_modalities=tuple(image["windowed_modalities"]),
            use_window_tags=bool(image["use_window_tags"]),
            percentiles=tuple(image["percentiles"]),
            default_window={k: tuple(v) for k, v in image.get("default_window", {}).items()},
        )

    def window_for(
        self, values: np.ndarray, modality: str | None, tag_window: tuple[float, float] | None, color: bool = False
    ) -> Window:
        """The window for one luminance frame (see module docstring)."""
        if modality in self.windowed_modalities and not color:
            center_width = tag_window if (self.use_window_tags and tag_window) else None
            if center_width is None:
                center_width = (self.default_window or {}).get(modality)
            if center_width is not None:
                center, width = (float(v) for v in center_width)
                return Window(center - width / 2.0, center + width / 2.0, center, width)
        if color:
            return Window(0.0, 255.0)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return Window(0.0, 0.0)
        lo, hi = np.percentile(finite, self.percentiles)
        return Window(float(lo), float(hi))

    def __call__(
        self,
        frame: np.ndarray,
        *,
        modality: str | None = None,
        tag_window: tuple[float, float] | None = None,
        invert: bool = False,
        window: Window | None = None,
    ) -> tuple[np.ndarray, Window]:
        """One frame -> ``(uint8 size x size, the Window applied)``; ``window`` forces one."""
        color = np.asarray(frame).ndim == 3
        values = to_luminance(frame)
        if window is None:
            window = self.window_for(values, modality, tag_window, color=color)
        scaled = apply_window(values, window)
        if invert:
            scaled = 255.0 - scaled
        return fit_square(scaled, self.size, self.fit, self.resample), window
