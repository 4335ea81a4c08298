"""DICOM files of the phantom: readable, tagged, rescaled to HU, deterministic; corrupt ones on purpose."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from pacsmine.phantom import iter_reports
from pacsmine.phantom.dicom import ImageWriter, uid, write_dicom


@pytest.fixture(scope="module")
def cited_reports():
    from pacsmine.config import load_config

    cfg = load_config()["phantom"]
    return [r for r in iter_reports(120, 21, cfg) if r.key_images][:6], cfg


def test_uids_are_deterministic_and_valid():
    a = uid(1, "A1", 2, 3)
    assert a == uid(1, "A1", 2, 3) != uid(2, "A1", 2, 3)
    assert a.startswith("2.25.") and len(a) <= 64 and all(p.isdigit() for p in a.split(".")[1:])


@pytest.mark.parametrize("intercept", [-1024.0, 0.0])
def test_write_dicom_round_trips_hounsfield_units(tmp_path, cited_reports, intercept):
    report = cited_reports[0][0]
    hu = np.linspace(-1000, 1500, 64 * 64, dtype=np.float32).reshape(64, 64)
    path = tmp_path / "x.dcm"
    write_dicom(path, hu, report, 3, 17, seed=1, window=(40, 400), pixel_mm=0.7, intercept=intercept)
    ds = pydicom.dcmread(path)
    assert ds.AccessionNumber == report.accession and ds.PatientID == report.patient_id
    assert (ds.SeriesNumber, ds.InstanceNumber, ds.Modality) == (3, 17, report.modality)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert float(ds.WindowCenter) == 40 and float(ds.WindowWidth) == 400
    assert ds.pixel_array.dtype == np.int16
    restored = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert np.abs(restored - hu).max() <= 0.5


def test_image_writer_writes_cited_and_unreferenced_images(tmp_path, cited_reports):
    reports, cfg = cited_reports
    cfg = {**cfg, "image_size": 128, "corrupt_truncated": 1, "corrupt_garbage": 1, "corrupt_no_pixels": 1}
    writer = ImageWriter(tmp_path, seed=21, config=cfg)
    writer._corrupt_plan = {0: "truncated", 1: "garbage", 2: "no_pixel_data"}  # spoil the first three
    rows = list(writer.write_reports(reports))
    cited = {(r.accession, s, i) for r in reports for (s, i) in r.key_images}
    written = {(row["accession"], row["series"], row["instance"]) for row in rows}
    assert cited <= written
    assert len(written) == len(rows)  # no image written twice
    unreferenced = [row for row in rows if not row["referenced"]]
    assert unreferenced and all(row["findings"] == [] for row in unreferenced)
    assert sum(row["corrupt"] for row in rows) == 3 and not any(r["corrupt"] for r in rows if r["referenced"])
    for row in rows:
        path = tmp_path / row["path"]
        assert path.exists()
        if row["corrupt"]:
            with pytest.raises(Exception):
                pydicom.dcmread(path).pixel_array
        else:
            ds = pydicom.dcmread(path)
            assert ds.pixel_array.shape == (128, 128)
            assert f"{ds.SeriesNumber}/{ds.InstanceNumber}.dcm" in row["path"]
    assert writer.count == len(rows) and writer.key_count == len(rows) - len(unreferenced)
