"""Finding and converting an export's images, chunk by chunk.

Work items come, in a fixed order, from the image manifest (``images.csv``: PNG/JPEG,
or DICOM with identifiers supplied) and then from a sorted walk of the images folder
(every other file is tried as DICOM). Items are grouped into chunks; a chunk is
converted by :func:`convert_chunk` (in a worker process when there are several) into
rows of ``images.parquet``, PNGs in a scratch folder, and rejects. The caller
(:mod:`pacsmine.ingest.stage`) removes duplicates, moves the PNGs into place and
writes the chunk's part files, so an interrupted run resumes at the first unfinished
chunk.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from .dicom import Reject, read_dicom
from .paths import confinement, is_inside
from .raster import Normaliser, Window, write_png

__all__ = [
    "IMAGE_SCHEMA",
    "Item",
    "walk_files",
    "iter_items",
    "convert_chunk",
    "png_name",
    "image_id",
]

IMAGE_SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("accession", pa.string()),
        ("patient_id", pa.string()),
        ("series", pa.int32()),
        ("instance", pa.int32()),
        ("frame", pa.int32()),
        ("modality", pa.string()),
        ("png", pa.string()),
        ("source", pa.string()),
        ("rows", pa.int32()),
        ("columns", pa.int32()),
        ("window_center", pa.float64()),
        ("window_width", pa.float64()),
        ("sop_instance_uid", pa.string()),
    ]
)


@dataclass(frozen=True)
class Item:
    """One file to convert: ``kind`` is "dicom", "raster" or "unlisted" (a raster file
    with no manifest row); ``source`` is its path relative to the export; ``ids`` holds
    manifest values (accession, series, instance, patient_id, modality) where given."""

    kind: str
    path: str
    source: str
    ids: tuple[tuple[str, Any], ...] = ()


def walk_files(root: str | os.PathLike[str]) -> Iterator[Path]:
    """Every file and symbolic link below ``root`` in sorted order, hidden names skipped, lazily.

    Links are yielded, not followed (any kind: to a file, to a folder, dangling), so the
    caller can confine them (:mod:`pacsmine.ingest.paths`) instead of losing them;
    FIFOs, sockets and devices are skipped (opening one could block). Only the listings
    of the folders on the current path are held, so memory does not grow with the
    archive; the order (sorted paths) is fixed, so chunks are the same on every run
    (resume depends on it).
    """
    try:
        with os.scandir(root) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from walk_files(entry.path)
        elif entry.is_symlink() or entry.is_file(follow_symlinks=False):
            yield Path(entry.path)


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(text: str) -> str:
    """A file-name-safe form of an identifier; a short hash keeps altered names unique."""
    clean = _SAFE.sub("_", text)
    if clean != text or clean in ("", ".", ".."):
        clean = f"{clean}_{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"
    return clean


def image_id(accession: str, series: int, instance: int, frame: int = 1) -> str:
    """``"<accession>/<series>/<instance>"``, plus ``"/<frame>"`` after the first frame."""
    base = f"{accession}/{series}/{instance}"
    return base if frame == 1 else f"{base}/{frame}"


def png_name(accession: str, series: int, instance: int, frame: int = 1) -> str:
    """PNG path relative to the stage folder: ``images/<accession>/<series>_<instance>.png``."""
    stem = f"{series}_{instance}" if frame == 1 else f"{series}_{instance}_{frame}"
    return f"images/{safe_name(accession)}/{stem}.png"


def iter_items(export: Path, config: dict[str, Any], rejects: list | None = None) -> Iterator[Item]:
    """The work items of an export in a fixed order (manifest rows, then the walk).

    ``config`` is the ingest section. Manifest rows that cannot be parsed, and paths that
    may not be opened (outside the export, dangling links, links to folders: see
    :mod:`pacsmine.ingest.paths`), are yielded as "unlisted" items carrying the reject
    (so they land in the rejects table too, and nothing outside the export is opened).
    """
    from .reports import iter_csv_rows

    export = Path(export)
    root = export.resolve()
    image_cfg = config["image"]
    raster_ext = tuple(e.lower() for e in image_cfg["raster_extensions"])
    skip = set(image_cfg["skip_names"])
    manifest = export / config["image_manifest"] if config.get("image_manifest") else None
    listed: set[str] = set()
    if manifest is not None and manifest.is_file():
        cols = config["manifest_columns"]
        # First pass: the set of listed paths, so the walk does not read them twice.
        for raw in iter_csv_rows(manifest):
            if "reject" not in raw and raw.get(cols["path"]):
                listed.add(_norm(export, raw[cols["path"]]))
        for raw in iter_csv_rows(manifest):
            if "reject" in raw:
                reason, detail = raw["reject"]
                yield Item("unlisted", "", f"{manifest.name}:{raw['key']}", (("reason", reason), ("detail", detail)))
                continue
            rel = raw.get(cols["path"]) or ""
            ids = tuple((k, (raw.get(cols[k]) or "").strip() or None) for k in
                        ("accession", "series", "instance", "patient_id", "modality"))
            full = export / rel if rel and not os.path.isabs(rel) else Path(rel)
            kind = "raster" if rel.lower().endswith(raster_ext) else "dicom"
            source = _norm(export, rel) if rel else f"{manifest.name}:{raw['key']}"
            problem = confinement(root, full) if rel else None
            if problem is not None:
                yield Item("unlisted", "", source, (("reason", problem[0]), ("detail", problem[1])))
                continue
            yield Item(kind, str(full), source, ids)
    images_dir = export / config["images_dir"]
    pattern = re.compile(image_cfg["name_pattern"]) if image_cfg.get("name_pattern") else None
    if images_dir.is_dir():
        # A file reached through real folders is inside when the images folder is.
        confined = is_inside(root, images_dir.resolve())
        for path in walk_files(images_dir):
            rel = path.relative_to(export).as_posix()
            if rel in listed or path.name in skip:
                continue
            problem = confinement(root, path) if not confined or path.is_symlink() else None
            if problem is not None:
                yield Item("unlisted", "", rel, (("reason", problem[0]), ("detail", problem[1])))
                continue
            if path.name.lower().endswith(raster_ext):
                named = pattern.match(path.name) if pattern else None
                if named:
                    ids = {k: named.group(k) for k in ("accession", "series", "instance")}
                    ids["modality"] = image_cfg.get("name_pattern_modality") or None
                    yield Item("raster", str(path), rel, tuple(ids.items()))
                    continue
                yield Item("unlisted", str(path), rel, (("reason", "not_in_manifest"),
                           ("detail", f"a {path.suffix} image needs a row in {config['image_manifest']}")))
            else:
                yield Item("dicom", str(path), rel)


def _norm(export: Path, rel: str) -> str:
    """A manifest path as a path relative to the export where it names one inside it."""
    path = Path(rel)
    if path.is_absolute():
        for base in (export, export.resolve()):
            if path.is_relative_to(base):
                return Path(os.path.normpath(path.relative_to(base))).as_posix()
        return path.as_posix()
    return Path(os.path.normpath(path)).as_posix()


# --------------------------------------------------------------------------- conversion

_WORKER: dict[str, Any] = {}


def init_worker(config: dict[str, Any]) -> None:
    """Pool initializer: build the normaliser once per worker process."""
    _WORKER["config"] = config
    _WORKER["normaliser"] = Normaliser.from_config(config["image"])
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def convert_chunk(args: tuple[int, list[Item], str]) -> tuple[int, list[dict], list[dict]]:
    """Convert one chunk: ``(index, items, scratch folder)`` -> ``(index, rows, rejects)``.

    Each row has the columns of ``IMAGE_SCHEMA`` plus ``tmp_png``, the PNG written in
    the scratch folder (moved into place by the caller). Never raises for bad input.
    """
    index, items, scratch = args
    config = _WORKER.get("config")
    if config is None:
        raise RuntimeError("convert_chunk needs init_worker(config) first")
    normaliser: Normaliser = _WORKER["normaliser"]
    max_frames = int(config["image"].get("max_frames", 0))
    out_dir = Path(scratch) / f"{index:06d}"
    rows: list[dict] = []
    rejects: list[dict] = []
    for n, item in enumerate(items):
        ids = dict(item.ids)
        try:
            if item.kind == "unlisted":
                raise Reject(ids.get("reason", "malformed_row"), ids.get("detail", ""))
            if item.kind == "raster":
                records = _convert_raster(item, ids, normaliser)
            else:
                records = _convert_dicom(item, ids, normaliser, max_frames)
        except Reject as rej:
            rejects.append(_reject(item, {"accession": rej.key, **{k: v for k, v in ids.items() if v}},
                                   rej.reason, rej.detail))
            continue
        except Exception as exc:  # a decoder bug on one file must not stop the archive
            rejects.append(_reject(item, ids, "unreadable_file", f"{type(exc).__name__}: {exc}"[:500]))
            continue
        for record, pixels in records:
            tmp = out_dir / f"{n:05d}_{record['frame']}.png"
            write_png(tmp, pixels)
            record["tmp_png"] = str(tmp)
            rows.append(record)
    return index, rows, rejects


def _reject(item: Item, ids: dict, reason: str, detail: str) -> dict:
    key = ids.get("accession") or ""
    return {"kind": "image", "source": item.source, "key": key, "reason": reason, "detail": detail}


def _record(acc, patient, series, instance, frame, modality, source, rows, cols, window: Window, uid):
    return {
        "image_id": image_id(acc, series, instance, frame),
        "accession": acc,
        "patient_id": patient,
        "series": series,
        "instance": instance,
        "frame": frame,
        "modality": modality,
        "png": "ingest/" + png_name(acc, series, instance, frame),
        "source": source,
        "rows": rows,
        "columns": cols,
        "window_center": window.center,
        "window_width": window.width,
        "sop_instance_uid": uid,
    }


def _as_int(value: Any, name: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise Reject("missing_tags", f"{name} {value!r} is not a number") from None


def _convert_dicom(item: Item, ids: dict, normaliser: Normaliser, max_frames: int):
    # Tags in the file win; a manifest row only fills what the file lacks.
    image = read_dicom(item.path, max_frames=max_frames, fallback=ids)
    out = []
    for frame_no, frame in enumerate(image.frames, 1):
        pixels, window = normaliser(frame, modality=image.modality, tag_window=image.window, invert=image.invert)
        record = _record(image.accession, image.patient_id, image.series, image.instance, frame_no, image.modality,
                         item.source, image.rows, image.columns, window, image.sop_instance_uid)
        out.append((record, pixels))
    return out


def _convert_raster(item: Item, ids: dict, normaliser: Normaliser):
    from PIL import Image, UnidentifiedImageError

    missing = [k for k in ("accession", "series", "instance") if not ids.get(k)]
    if missing:
        raise Reject("missing_tags", "manifest row has no " + ", ".join(missing))
    try:
        with Image.open(item.path) as img:
            img.load()
            mode = img.mode
            if mode in ("L", "1", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr"):
                arr = np.asarray(img.convert("L"), dtype=np.float64)
                fixed = Window(0.0, 255.0)  # already 8-bit display values: keep them
            else:  # 16-bit / 32-bit grayscale: window like any other grayscale image
                arr = np.asarray(img, dtype=np.float64)
                fixed = None
    except FileNotFoundError:
        raise Reject("unreadable_file", f"{item.source} does not exist") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Reject("unreadable_file", f"{type(exc).__name__}: {exc}") from None
    if arr.ndim == 3:
        arr = arr[..., 0]
    modality = ids.get("modality")
    series, instance = _as_int(ids["series"], "series"), _as_int(ids["instance"], "instance")
    if fixed is not None:
        pixels, window = normaliser(arr, window=fixed)
    else:
        pixels, window = normaliser(arr, modality=modality)
    rows, cols = arr.shape
    record = _record(ids["accession"], ids.get("patient_id"), series, instance, 1, modality, item.source,
                     rows, cols, window, None)
    return [(record, pixels)]
