"""Reading one DICOM file: identifying tags, pixel frames in modality units, or a reject.

``read_dicom(path)`` returns a :class:`DicomImage` (tags + frames) or raises
:class:`Reject` with a short reason code:

* ``unreadable_file``   not DICOM, or the header does not parse (truncated, garbage);
* ``no_pixel_data``     a DICOM object without an image (SR, RT plan, pixel data removed);
* ``missing_tags``      no AccessionNumber, SeriesNumber or InstanceNumber;
* ``undecodable_pixels`` compressed pixels no installed decoder handles (the detail
  names the transfer syntax and what is needed);
* ``bad_pixel_data``    the pixel data does not match the header (e.g. truncated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DicomImage", "Reject", "read_dicom", "frames_of"]


class Reject(Exception):
    """An input that cannot be ingested: ``reason`` (short code) and ``detail``."""

    def __init__(self, reason: str, detail: str, key: str | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.key = key  # the accession, where it could be read


@dataclass
class DicomImage:
    """Tags of one DICOM file and its frames.

    ``frames``: float64 arrays (rows x cols), in modality units (rescale slope and
    intercept applied), or uint8/float (rows x cols x 3) for colour images.
    ``window``: (center, width) from the first WindowCenter/WindowWidth values, or None.
    """

    accession: str
    series: int
    instance: int
    patient_id: str | None
    modality: str | None
    sop_instance_uid: str | None
    rows: int
    columns: int
    photometric: str
    window: tuple[float, float] | None
    frames: list[np.ndarray] = field(default_factory=list)

    @property
    def invert(self) -> bool:
        return self.photometric == "MONOCHROME1"


# What each compressed transfer syntax needs when no installed plugin decodes it.
_NEEDS = {
    "JPEG 2000": "pylibjpeg-openjpeg or a Pillow with OpenJPEG",
    "JPEG-LS": "pylibjpeg-libjpeg or pyjpegls",
    "JPEG Extended": "pylibjpeg-libjpeg (Pillow reads 8-bit JPEG only)",
    "JPEG Lossless": "pylibjpeg-libjpeg",
    "JPEG": "pylibjpeg-libjpeg",
    "High-Throughput JPEG 2000": "pylibjpeg-openjpeg",
    "Deflated": "a deflate-capable reader",
}


def _text(ds: Any, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(ds: Any, keyword: str) -> int | None:
    value = ds.get(keyword)
    if value is None or str(value).strip() == "":
        return None
    try:
        return int(float(str(value)))
    except ValueError:
        return None


def _as_int(value: Any) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _first_float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        first = value[0] if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) else value
        return float(first)
    except (TypeError, ValueError, IndexError):
        return None


def _read_dataset(path: Path):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path)
    except InvalidDicomError:
        pass  # no preamble / "DICM": may still be a raw dataset, tried below
    except Exception as exc:
        raise Reject("unreadable_file", f"{type(exc).__name__}: {exc}") from None
    try:
        ds = pydicom.dcmread(path, force=True)
        # A forced read of a non-DICOM file parses garbage; trust it only if it
        # looks like an image header.
        if "SOPClassUID" not in ds and "PixelData" not in ds and "Rows" not in ds:
            raise ValueError("no DICOM header")
        return ds
    except Exception as exc:
        raise Reject("unreadable_file", f"not a DICOM file ({type(exc).__name__}: {exc})") from None


def read_dicom(path: str | Path, max_frames: int = 0, fallback: dict[str, Any] | None = None) -> DicomImage:
    """Read one file (see module docstring).

    ``max_frames`` > 0 keeps the first frames only. ``fallback`` (accession, series,
    instance, patient_id, modality from a manifest) fills tags the file lacks.
    """
    path = Path(path)
    fallback = fallback or {}
    ds = _read_dataset(path)
    try:
        return _image_of(ds, path, max_frames, fallback)
    except Reject as rej:
        rej.key = rej.key or _text(ds, "AccessionNumber") or fallback.get("accession")
        raise


def _image_of(ds: Any, path: Path, max_frames: int, fallback: dict[str, Any]) -> DicomImage:
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        # Also what a file cut short in its header looks like: pydicom stops at the end.
        last = str(list(ds.keys())[-1]) if len(ds) else "none"
        raise Reject("no_pixel_data", f"SOP class {_text(ds, 'SOPClassUID') or 'unknown'} carries no image "
                     f"(last tag read {last}; {path.stat().st_size} bytes)")
    accession = _text(ds, "AccessionNumber") or fallback.get("accession")
    series = _int(ds, "SeriesNumber")
    instance = _int(ds, "InstanceNumber")
    series = series if series is not None else _as_int(fallback.get("series"))
    instance = instance if instance is not None else _as_int(fallback.get("instance"))
    missing = [k for k, v in (("AccessionNumber", accession), ("SeriesNumber", series),
                              ("InstanceNumber", instance)) if v is None]
    if missing:
        raise Reject("missing_tags", "no " + ", ".join(missing))
    image = DicomImage(
        accession=accession,
        series=series,
        instance=instance,
        patient_id=_text(ds, "PatientID") or fallback.get("patient_id"),
        modality=_text(ds, "Modality") or fallback.get("modality"),
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        rows=_int(ds, "Rows") or 0,
        columns=_int(ds, "Columns") or 0,
        photometric=(_text(ds, "PhotometricInterpretation") or "MONOCHROME2").upper(),
        window=None,
    )
    center, width = _first_float(ds.get("WindowCenter")), _first_float(ds.get("WindowWidth"))
    if center is not None and width is not None and width > 0:
        image.window = (center, width)
    image.frames = frames_of(ds, max_frames)
    return image


def frames_of(ds: Any, max_frames: int = 0) -> list[np.ndarray]:
    """Decoded frames of a dataset in modality units (colour frames as RGB)."""
    from pydicom.pixels import apply_color_lut, apply_modality_lut

    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    try:
        pixels = ds.pixel_array
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".split("\n")[0][:300]
        if syntax is not None and syntax.is_compressed:
            name = syntax.name
            need = next((v for k, v in _NEEDS.items() if name.startswith(k)), "an image codec plugin")
            raise Reject("undecodable_pixels", f"{name} needs {need} ({message})") from None
        raise Reject("bad_pixel_data", message) from None
    n_frames = _int(ds, "NumberOfFrames") or 1
    photometric = (_text(ds, "PhotometricInterpretation") or "MONOCHROME2").upper()
    samples = _int(ds, "SamplesPerPixel") or 1
    try:
        if photometric == "PALETTE COLOR":
            pixels = apply_color_lut(pixels, ds)
            samples = 3
        elif samples == 1:
            pixels = apply_modality_lut(pixels, ds)
    except Exception as exc:
        raise Reject("bad_pixel_data", f"cannot apply the LUT: {type(exc).__name__}: {exc}") from None
    pixels = np.asarray(pixels)
    frame_ndim = 2 if samples == 1 else 3
    if pixels.ndim == frame_ndim:
        frames = [pixels]
    elif pixels.ndim == frame_ndim + 1 and pixels.shape[0] == n_frames:
        frames = list(pixels)
    else:
        raise Reject("bad_pixel_data", f"pixel array of shape {pixels.shape} for {n_frames} frame(s)")
    if samples == 3 and pixels.dtype != np.uint8:
        # 16/32-bit colour: bring each frame onto 0..255 before luminance. A palette's
        # output depth is that of its LUT (the array's type), not BitsStored.
        if photometric == "PALETTE COLOR" and pixels.dtype.kind == "u":
            bits = pixels.dtype.itemsize * 8
        else:
            bits = _int(ds, "BitsStored") or 8
        frames = [f.astype(np.float64) * (255.0 / (2**bits - 1)) for f in frames]
    if max_frames > 0:
        frames = frames[:max_frames]
    return frames
