"""DICOM files of the phantom's key images (and their unreferenced neighbours).

Each file is a single-frame 512x512 int16 image, Explicit VR Little Endian, with
Modality, PatientID, AccessionNumber, SeriesNumber, InstanceNumber, RescaleSlope /
RescaleIntercept and window tags. UIDs are derived from the seed and the image's
identity, and nothing depends on the clock, so the same seed gives the same bytes.

A few files are corrupt on purpose (truncated, plain garbage, pixel data removed):
they are chosen among unreferenced images so that every cited image stays readable,
and are flagged ``corrupt=True`` in ``truth/images.parquet``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from .catalog import Catalog, catalog
from .images import render_slice
from .text import Report

__all__ = ["ImageWriter", "uid", "write_dicom"]

_SOP_CLASS = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
}
# CT windows (center, width) in HU.
_WINDOWS = {"lung": (-600.0, 1500.0), "soft": (40.0, 400.0), "bone": (400.0, 1800.0), "brain": (40.0, 80.0)}
_LUNG_ORGANS = {"lung", "pleura"}
_BONE_ORGANS = {"marrow", "spine", "bone", "disc", "canal"}


def uid(*parts: Any) -> str:
    """A deterministic DICOM UID under the 2.25 (UUID-derived) root."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return "2.25." + str(int.from_bytes(digest[:15], "big"))


def _window(cat: Catalog, report: Report, findings: list[str]) -> tuple[float, float]:
    if report.modality != "CT":
        return (600.0, 1200.0) if report.modality != "PT" else (2000.0, 4000.0)
    organs = {cat.concepts[f].organ for f in findings}
    if report.region == "head":
        return _WINDOWS["brain"]
    if report.region == "chest" and (organs & _LUNG_ORGANS or not organs):
        return _WINDOWS["lung"]
    if report.region == "spine" or organs & _BONE_ORGANS and report.region in ("extremities", "pelvis"):
        return _WINDOWS["bone"]
    return _WINDOWS["soft"]


def write_dicom(path: Path, pixels: np.ndarray, report: Report, series: int, instance: int, seed: int,
                window: tuple[float, float], pixel_mm: float, intercept: float, *, pixel_data: bool = True) -> None:
    """Write one image as a DICOM file. ``pixels`` are in the modality's units (HU for CT)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

    sop_class = _SOP_CLASS.get(report.modality, _SOP_CLASS["CT"])
    sop_uid = uid(seed, report.accession, series, instance)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = uid(seed, report.accession)
    ds.SeriesInstanceUID = uid(seed, report.accession, series)
    ds.FrameOfReferenceUID = uid(seed, report.accession, series, "frame")
    ds.Modality = report.modality
    ds.PatientID = report.patient_id
    ds.PatientName = "ANONYMOUS^" + report.patient_id
    ds.AccessionNumber = report.accession
    ds.StudyDate = report.study_date.replace("-", "")
    ds.StudyID = report.accession[-8:]
    ds.SeriesNumber = series
    ds.InstanceNumber = instance
    ds.BodyPartExamined = report.body_part
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelSpacing = [f"{pixel_mm:.6g}", f"{pixel_mm:.6g}"]
    ds.SliceThickness = "2.5" if report.modality == "CT" else "5"
    ds.ImagePositionPatient = ["0", "0", f"{-2.5 * instance:.1f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.RescaleIntercept = f"{intercept:g}"
    ds.RescaleSlope = "1"
    if report.modality == "CT":
        ds.RescaleType = "HU"
    ds.WindowCenter = f"{window[0]:g}"
    ds.WindowWidth = f"{window[1]:g}"
    stored = np.clip(np.rint(pixels - intercept), -32768, 32767).astype("<i2")
    if pixel_data:
        ds.PixelData = stored.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


class ImageWriter:
    """Renders and writes the images of reports, and yields their truth rows.

    Per report: every cited (series, instance), plus ``extra_images_per_series``
    unreferenced instances in each series that holds a key image. The pixel random
    generator of an image is seeded by (seed, accession number, series, instance), so an
    image does not depend on which other images were made before it.
    """

    def __init__(self, out: Path, seed: int, config: dict[str, Any], cat: Catalog | None = None):
        self.out = Path(out)
        self.seed = seed
        self.config = config
        self.cat = cat or catalog()
        self.size = int(config.get("image_size", 512))
        self.count = 0
        self.key_count = 0
        self.unreferenced = 0
        self.corrupt: list[dict[str, Any]] = []
        plan = (["truncated"] * int(config.get("corrupt_truncated", 0)) + ["garbage"] * int(config.get("corrupt_garbage", 0))
                + ["no_pixel_data"] * int(config.get("corrupt_no_pixels", 0)))
        # which unreferenced image (by order) is spoiled, and how: spread over the first ones
        self._corrupt_plan = {5 + 7 * k: kind for k, kind in enumerate(plan)}

    def write_reports(self, reports: Iterable[Report]) -> Iterator[dict[str, Any]]:
        lo, hi = self.config.get("extra_images_per_series", [1, 2])
        for report in reports:
            if not report.key_images:
                continue
            rng = np.random.default_rng([self.seed, hash_int(report.accession), 0])
            n_by_series = dict(report.series)
            todo: list[tuple[int, int, list[str], bool]] = [
                (s, i, concepts, True) for (s, i), concepts in sorted(report.key_images.items())]
            for series in sorted({s for s, _ in report.key_images}):
                taken = {i for s, i in report.key_images if s == series}
                n = n_by_series[series]
                for _ in range(int(rng.integers(lo, hi + 1))):
                    free = [i for i in rng.integers(1, n + 1, size=8).tolist() if i not in taken]
                    if free:
                        taken.add(free[0])
                        todo.append((series, free[0], [], False))
            for series, instance, concepts, referenced in todo:
                yield self._write_one(report, series, instance, concepts, referenced)

    def _write_one(self, report: Report, series: int, instance: int, concepts: list[str], referenced: bool
                   ) -> dict[str, Any]:
        rel = Path("images") / report.patient_id / report.accession / str(series) / f"{instance}.dcm"
        path = self.out / rel
        rng = np.random.default_rng([self.seed, hash_int(report.accession), series, instance])
        # unreferenced neighbours show the same case, minus the cited finding, most of the time
        pixels, drawn = render_slice(self.cat, report.region, report.modality, report.contrast,
                                     sorted(set(concepts)), rng, self.size)
        intercept = -1024.0 if (report.modality == "CT" and instance % 2 == 0) else 0.0
        window = _window(self.cat, report, drawn)
        fov = float(self.cat.anatomy["regions"][report.region]["fov_mm"])
        corrupt = None
        if not referenced:
            corrupt = self._corrupt_plan.get(self.unreferenced)
            self.unreferenced += 1
        write_dicom(path, pixels, report, series, instance, self.seed, window, fov / self.size, intercept,
                    pixel_data=corrupt != "no_pixel_data")
        if corrupt == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * float(rng.uniform(0.3, 0.8)))])
        elif corrupt == "garbage":
            path.write_bytes(rng.integers(0, 256, size=int(rng.integers(2000, 40000)), dtype=np.uint8).tobytes())
        if corrupt:
            self.corrupt.append({"path": rel.as_posix(), "kind": corrupt})
        self.count += 1
        self.key_count += referenced
        return {"accession": report.accession, "series": series, "instance": instance, "path": rel.as_posix(),
                "referenced": referenced, "corrupt": corrupt is not None, "findings": drawn}


def hash_int(text: str) -> int:
    """A stable 32-bit integer of a string (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")
