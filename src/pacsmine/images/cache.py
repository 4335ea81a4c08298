"""Decoded key images: every PNG decoded once into one uint8 array, so epochs never re-decode.

A PNG is read as 8-bit grey, its shorter side resized to ``resize`` (bilinear), then
centre-cropped to a ``resize`` x ``resize`` square (ingest writes square PNGs, so the crop
only matters for other sources). Training takes random ``crop`` x ``crop`` windows of
that square; evaluation the centre one. The cache is a safetensors file (``images``:
uint8 (N, 1, resize, resize)) with its image ids in a JSON beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ..workspace import atomic_path, write_json

__all__ = ["decode_png", "decode_all", "save_cache", "load_cache"]


def decode_png(path: str | Path, resize: int) -> np.ndarray:
    """uint8 (resize, resize) grey image; raises OSError/ValueError for an unreadable file."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("L")
        w, h = im.size
        scale = resize / min(w, h)
        nw, nh = max(resize, round(w * scale)), max(resize, round(h * scale))
        im = im.resize((nw, nh), Image.BILINEAR)
        left, top = (nw - resize) // 2, (nh - resize) // 2
        im = im.crop((left, top, left + resize, top + resize))
        return np.asarray(im, dtype=np.uint8)


def decode_all(paths: Sequence[Path], resize: int) -> tuple[np.ndarray, list[str | None]]:
    """Decode every path: (uint8 (N, 1, resize, resize), per path None or a reject reason
    ("missing_png" or "unreadable_png"); a rejected image's slice is zeros)."""
    out = np.zeros((len(paths), 1, resize, resize), dtype=np.uint8)
    reasons: list[str | None] = []
    for i, path in enumerate(paths):
        path = Path(path)
        if not path.is_file():
            reasons.append("missing_png")
            continue
        try:
            out[i, 0] = decode_png(path, resize)
            reasons.append(None)
        except (OSError, ValueError, SyntaxError):
            reasons.append("unreadable_png")
    return out, reasons


def save_cache(path: Path, images: np.ndarray, image_ids: Sequence[str], reasons: Sequence[str | None]) -> None:
    """Write the cache (safetensors + ``<path>.json`` with the image ids and each one's reject
    reason or None), atomically."""
    import torch
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({"images": torch.from_numpy(np.ascontiguousarray(images))}, str(tmp))
    write_json(path.with_suffix(".json"), {"image_ids": list(image_ids), "reasons": list(reasons),
                                         "shape": list(images.shape)})


def load_cache(path: Path, image_ids: Sequence[str]) -> tuple[np.ndarray, list[str | None]] | None:
    """(images, reasons) as :func:`decode_all` gave them if ``path`` holds exactly these image
    ids, else None."""
    from safetensors.numpy import load_file

    meta = path.with_suffix(".json")
    if not path.is_file() or not meta.is_file():
        return None
    try:
        info = json.loads(meta.read_text("utf-8"))
        if info["image_ids"] != list(image_ids):
            return None
        return load_file(str(path))["images"], info["reasons"]
    except (OSError, ValueError, KeyError):
        return None
