"""pacsmine.ingest.dicom: tags, modality units, frames and reject reasons.

Synthetic files are written with pydicom; real ones come from pydicom's own test files
and the pydicom-data package (found on disk, never downloaded).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")

from pacsmine.ingest.dicom import Reject, read_dicom  # noqa: E402


def real_dicom(name: str) -> Path:
    """A real DICOM file shipped with pydicom or pydicom-data (skip if neither has it)."""
    folders = [Path(pydicom.__file__).parent / "data" / "test_files"]
    try:
        import data_store

        folders.append(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    for folder in folders:
        if (folder / name).exists():
            return folder / name
    pytest.skip(f"{name} is in neither pydicom's test files nor pydicom-data")


def tagged_copy(name: str, dest: Path, accession: str = "ACC1", series: int | None = None,
                instance: int | None = None) -> Path:
    """A copy of a real file with an AccessionNumber (the samples carry none)."""
    ds = pydicom.dcmread(real_dicom(name))
    ds.AccessionNumber = accession
    if series is not None:
        ds.SeriesNumber = series
    if instance is not None:
        ds.InstanceNumber = instance
    dest.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dest)
    return dest


def make_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    accession: str | None = "ACC1",
    series: int | None = 2,
    instance: int | None = 7,
    patient_id: str = "PAT1",
    modality: str = "CT",
    slope: float = 1.0,
    intercept: float = 0.0,
    window: tuple | None = None,
    photometric: str = "MONOCHROME2",
) -> Path:
    """Write an uncompressed DICOM file of ``pixels`` (stored values: rows x cols, or
    frames x rows x cols for a multi-frame file) with the given tags."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = patient_id
    ds.Modality = modality
    if accession is not None:
        ds.AccessionNumber = accession
    if series is not None:
        ds.SeriesNumber = series
    if instance is not None:
        ds.InstanceNumber = instance
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    pixels = np.asarray(pixels)
    signed = pixels.dtype.kind == "i"
    ds.set_pixel_data(pixels, photometric, 16 if pixels.dtype.itemsize == 2 else 8)
    if signed:
        ds.PixelRepresentation = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_synthetic_tags_and_rescale(tmp_path):
    stored = np.arange(12, dtype=np.int16).reshape(3, 4) * 10
    path = make_dicom(tmp_path / "a.dcm", stored, slope=2.0, intercept=-1024.0,
                      window=([40, 400], [400, 1500]))
    image = read_dicom(path)
    assert (image.accession, image.series, image.instance) == ("ACC1", 2, 7)
    assert image.patient_id == "PAT1" and image.modality == "CT"
    assert (image.rows, image.columns) == (3, 4)
    assert image.window == (40.0, 400.0)  # the first of several windows
    assert len(image.frames) == 1
    np.testing.assert_allclose(image.frames[0], stored * 2.0 - 1024.0)
    assert not image.invert


def test_multiframe_and_frame_limit(tmp_path):
    stored = np.stack([np.full((4, 5), v, dtype=np.uint16) for v in (1, 2, 3)])
    path = make_dicom(tmp_path / "m.dcm", stored, modality="MR")
    frames = read_dicom(path).frames
    assert [f.shape for f in frames] == [(4, 5)] * 3
    assert [float(f[0, 0]) for f in frames] == [1.0, 2.0, 3.0]
    assert len(read_dicom(path, max_frames=2).frames) == 2


def test_manifest_fallback_fills_missing_tags(tmp_path):
    path = make_dicom(tmp_path / "n.dcm", np.zeros((2, 2), np.uint16), accession=None, instance=None)
    with pytest.raises(Reject) as err:
        read_dicom(path)
    assert err.value.reason == "missing_tags"
    assert "AccessionNumber" in err.value.detail and "InstanceNumber" in err.value.detail
    image = read_dicom(path, fallback={"accession": "M9", "series": "5", "instance": "3"})
    assert (image.accession, image.series, image.instance) == ("M9", 2, 3)  # file's series wins


def test_real_ct_and_mr(tmp_path):
    ct = read_dicom(tagged_copy("CT_small.dcm", tmp_path / "ct.dcm"))
    raw = pydicom.dcmread(real_dicom("CT_small.dcm"))
    assert ct.modality == "CT" and (ct.rows, ct.columns) == (128, 128)
    expected = raw.pixel_array * float(raw.RescaleSlope) + float(raw.RescaleIntercept)
    np.testing.assert_allclose(ct.frames[0], expected)
    mr = read_dicom(tagged_copy("MR_small.dcm", tmp_path / "mr.dcm"))
    assert mr.modality == "MR" and mr.window == (600.0, 1600.0)


def test_real_monochrome1_and_multiframe(tmp_path):
    cr = read_dicom(tagged_copy("RG1_UNCR.dcm", tmp_path / "cr.dcm"))
    assert cr.photometric == "MONOCHROME1" and cr.invert
    mf = read_dicom(tagged_copy("emri_small.dcm", tmp_path / "mf.dcm"))
    assert len(mf.frames) == 10 and mf.frames[0].shape == (64, 64)


def test_real_colour_and_palette(tmp_path):
    rgb = read_dicom(tagged_copy("SC_rgb.dcm", tmp_path / "rgb.dcm"))
    assert rgb.photometric == "RGB" and rgb.frames[0].shape == (100, 100, 3)
    palette = read_dicom(tagged_copy("OBXXXX1A_2frame.dcm", tmp_path / "pal.dcm"))
    assert len(palette.frames) == 2 and palette.frames[0].shape == (600, 800, 3)
    assert 0 <= palette.frames[0].min() and palette.frames[0].max() <= 255


@pytest.mark.parametrize(
    "case, reason",
    [
        ("garbage", "unreadable_file"),
        ("truncated_header", "no_pixel_data"),
        ("truncated_pixels", "bad_pixel_data"),
        ("no_pixels", "no_pixel_data"),
        ("jpeg12", "undecodable_pixels"),
    ],
)
def test_rejects(tmp_path, case, reason):
    path = tmp_path / f"{case}.dcm"
    if case == "garbage":
        path.write_bytes(os.urandom(3000))
    elif case == "truncated_header":
        data = tagged_copy("CT_small.dcm", tmp_path / "full.dcm").read_bytes()
        path.write_bytes(data[:300])
    elif case == "truncated_pixels":
        tagged_copy("MR_truncated.dcm", path)
    elif case == "no_pixels":
        shutil.copy(real_dicom("rtplan.dcm"), path)
    else:
        tagged_copy("JPEG-lossy.dcm", path)
    with pytest.raises(Reject) as err:
        read_dicom(path)
    assert err.value.reason == reason
    if case == "jpeg12":
        assert "JPEG Extended" in err.value.detail and "needs" in err.value.detail
