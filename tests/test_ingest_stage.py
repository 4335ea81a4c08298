"""pacsmine.ingest (stage): DICOM round trip, rejects, OpenI, resume, workers, evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

import pacsmine.ingest.stage as stage
from pacsmine.ingest import evaluate_ingest, run_ingest
from pacsmine.ingest.errors import IngestError
from pacsmine.workspace import Workspace
from test_ingest_dicom import make_dicom, real_dicom, tagged_copy

OPENI_XML = Path(__file__).parent / "data" / "openi"


def _phantom_ct(rows: int = 64, cols: int = 128) -> np.ndarray:
    """Stored values (intercept -1024): background 40 HU, lower half 150 HU, and a
    1000 HU marker in the top-left corner."""
    hu = np.full((rows, cols), 40, np.int16)
    hu[rows // 2 :, :] = 150
    hu[:8, :8] = 1000
    return (hu + 1024).astype(np.int16)


def _export(root: Path) -> Path:
    export = root / "export"
    images = export / "images"
    make_dicom(images / "P1" / "A1" / "2" / "7.dcm", _phantom_ct(), accession="A1", series=2, instance=7,
               patient_id="P1", intercept=-1024.0, window=(100, 200))
    make_dicom(images / "P1" / "A1" / "3" / "1.dcm", np.stack([np.full((8, 8), v, np.uint16) for v in (0, 50, 100)]),
               accession="A1", series=3, instance=1, patient_id="P1", modality="MR")
    tagged_copy("CT_small.dcm", images / "P2" / "A2" / "ct.dcm", accession="A2")
    # MONOCHROME1: low values are bright. A dark-valued corner must come out white.
    mono1 = np.full((16, 16), 1000, np.uint16)
    mono1[:4, :4] = 0
    make_dicom(images / "P2" / "A2" / "cr.dcm", mono1, accession="A2", series=4, instance=1, modality="CR",
               photometric="MONOCHROME1")
    # Bad input: garbage, pixel data cut short, an object without pixels, a duplicate.
    (images / "P2" / "A2" / "garbage.dcm").write_bytes(b"\x00garbage" * 100)
    cut = make_dicom(images / "P2" / "A2" / "cut.dcm", np.zeros((32, 32), np.int16), accession="A2", instance=9)
    cut.write_bytes(cut.read_bytes()[:-500])
    shutil.copy(real_dicom("rtplan.dcm"), images / "P2" / "A2" / "plan.dcm")
    shutil.copy(images / "P1" / "A1" / "2" / "7.dcm", images / "P2" / "copy_of_7.dcm")
    (export / "reports.csv").write_text(
        "accession,patient_id,text,modality\n"
        'A1,P1,"FINDINGS: mass, image 7.\nIMPRESSION: mass.",CT\n'
        "A2,P2,Nodule.,CT\n"
        "A3,P3,,CT\n"
        "A1,P1,again,CT\n"
        "A4,P4,one,two,three\n"
    )
    return export


def _config(config, workers=1, chunk=2):
    config["run"]["workers"] = workers
    config["ingest"]["image_chunk_size"] = chunk
    config["ingest"]["report_chunk_size"] = 2
    return config


def _table(ws: Workspace, name: str) -> list[dict]:
    return pq.read_table(ws.root / "ingest" / f"{name}.parquet").to_pylist()


def test_dicom_round_trip(tmp_path, config):
    export = _export(tmp_path)
    ws = Workspace(tmp_path / "ws")
    result = run_ingest(export, ws, _config(config))
    assert result.ran
    images = {r["image_id"]: r for r in _table(ws, "images")}
    row = images["A1/2/7"]
    assert (row["accession"], row["patient_id"], row["series"], row["instance"], row["frame"]) == ("A1", "P1", 2, 7, 1)
    assert (row["modality"], row["rows"], row["columns"]) == ("CT", 64, 128)
    assert (row["window_center"], row["window_width"]) == (100.0, 200.0)
    assert row["source"] == "images/P1/A1/2/7.dcm" and row["sop_instance_uid"]
    assert row["png"] == "ingest/images/A1/2_7.png"
    with Image.open(ws.root / row["png"]) as img:
        assert img.mode == "L" and img.size == (256, 256)
        png = np.asarray(img)
    # 64 x 128 is padded to 128 x 128 (32 black rows above and below), then doubled.
    assert png[:56].max() == 0 and png[200:].max() == 0  # (Lanczos rings a little at the edge)
    assert png[70, 6] == 255  # the marker, still top-left: 1000 HU above the window
    assert png[70, 250] == 51  # 40 HU in window 100/200 -> 40/200*255
    assert png[150, 128] == 191  # 150 HU -> 191.25
    # Multi-frame: one row and one PNG per frame.
    frames = sorted((r["frame"], r["image_id"], r["png"]) for r in images.values() if r["series"] == 3)
    assert frames == [(1, "A1/3/1", "ingest/images/A1/3_1.png"), (2, "A1/3/1/2", "ingest/images/A1/3_1_2.png"),
                      (3, "A1/3/1/3", "ingest/images/A1/3_1_3.png")]
    assert images["A1/3/1"]["window_center"] is None  # MR: percentile window
    assert images["A2/1/1"]["source"] == "images/P2/A2/ct.dcm"  # real CT sample
    with Image.open(ws.root / images["A2/4/1"]["png"]) as img:
        cr = np.asarray(img)
    assert cr[10, 10] == 255 and cr[200, 200] == 0  # inverted, corner kept top-left
    assert all((ws.root / r["png"]).exists() for r in images.values())
    metrics = json.loads((ws.root / "ingest" / "metrics.json").read_text())
    assert metrics["images"] == 6 and metrics["image_files"] == 4 and metrics["reports"] == 2


def test_rejects_name_every_bad_input(tmp_path, config):
    export = _export(tmp_path)
    ws = Workspace(tmp_path / "ws")
    run_ingest(export, ws, _config(config))
    rejects = {(r["kind"], r["source"], r["reason"]) for r in _table(ws, "rejects")}
    assert rejects == {
        ("report", "reports.csv", "missing_text"),
        ("report", "reports.csv", "duplicate_accession"),
        ("report", "reports.csv", "malformed_row"),
        ("image", "images/P2/A2/garbage.dcm", "unreadable_file"),
        ("image", "images/P2/A2/cut.dcm", "bad_pixel_data"),
        ("image", "images/P2/A2/plan.dcm", "no_pixel_data"),
        ("image", "images/P2/copy_of_7.dcm", "duplicate_image"),
    }
    keys = {r["source"]: r["key"] for r in _table(ws, "rejects") if r["kind"] == "image"}
    assert keys["images/P2/A2/cut.dcm"] == "A2" and keys["images/P2/A2/garbage.dcm"] == ""
    reports = _table(ws, "reports")
    assert [(r["accession"], r["source"]) for r in reports] == [("A1", "reports.csv"), ("A2", "reports.csv")]
    assert reports[0]["text"].startswith("FINDINGS: mass") and reports[0]["labels"] is None
    metrics = ws.metrics("ingest")
    assert metrics["reject_reasons"]["image"]["duplicate_image"] == 1
    assert metrics["reports_read"] == 5 and metrics["images_without_report"] == 0
    # Up to date: nothing reruns; a forced run gives the same tables.
    assert not run_ingest(export, ws, config).ran
    assert run_ingest(export, ws, config, force=True).ran
    assert {(r["kind"], r["source"], r["reason"]) for r in _table(ws, "rejects")} == rejects


def test_openi_xml_export(tmp_path, config):
    export = tmp_path / "openi"
    shutil.copytree(OPENI_XML, export)
    (export / "images").mkdir()
    # OpenI's PNGs carry no manifest: their names say study, series and instance.
    Image.fromarray(np.full((40, 30), 90, np.uint8)).save(export / "images" / "CXR1_1_IM-0001-3001.png")
    ws = Workspace(tmp_path / "ws")
    run_ingest(export, ws, _config(config))
    reports = _table(ws, "reports")
    assert [(r["accession"], r["modality"], r["body_part"]) for r in reports] == [("1", "CR", "CHEST"), ("2", "CR", "CHEST")]
    assert reports[1]["labels"] == ["Cardiomegaly/borderline", "Pulmonary Artery/enlarged"]
    assert sorted((r["source"], r["reason"]) for r in _table(ws, "rejects")) == [
        ("3.xml", "missing_text"), ("4.xml", "unreadable_file")]
    assert ws.metrics("ingest")["format"] == "openi_xml"
    [image] = _table(ws, "images")
    assert (image["image_id"], image["modality"], image["rows"], image["columns"]) == ("1/1/3001", "CR", 40, 30)
    assert ws.metrics("ingest")["reports_with_images"] == 1


class Killed(Exception):
    pass


def test_interrupted_stage_resumes(tmp_path, config, monkeypatch):
    export = _export(tmp_path)
    cfg = _config(config, chunk=1)
    calls: list[int] = []
    killed: list[bool] = []
    real = stage.convert_chunk

    def flaky(args):
        calls.append(args[0])
        if len(calls) == 4 and not killed:
            killed.append(True)
            raise Killed("as if the process died mid-stage")
        return real(args)

    monkeypatch.setattr(stage, "convert_chunk", flaky)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(Killed):
        run_ingest(export, ws, cfg)
    stage_dir = ws.root / "ingest"
    assert not (stage_dir / "manifest.json").exists()
    assert not list(stage_dir.rglob("*.tmp"))  # no half-written file anywhere
    assert not (stage_dir / "images.parquet").exists()
    calls.clear()
    assert run_ingest(export, ws, cfg).ran
    assert calls == [3, 4, 5, 6, 7]  # 8 files, one a chunk: chunks 0-2 were kept
    assert not list(stage_dir.glob(".partial-*"))  # scratch removed once finished
    clean = Workspace(tmp_path / "clean")
    run_ingest(export, clean, cfg)
    assert _table(ws, "images") == _table(clean, "images")
    assert _table(ws, "rejects") == _table(clean, "rejects")
    for row in _table(ws, "images"):
        assert (ws.root / row["png"]).read_bytes() == (clean.root / row["png"]).read_bytes()


def test_worker_pool_matches_single_process(tmp_path, config):
    export = _export(tmp_path)
    one, two = Workspace(tmp_path / "one"), Workspace(tmp_path / "two")
    run_ingest(export, one, _config(config, workers=1))
    run_ingest(export, two, _config(config, workers=2))
    assert two.metrics("ingest")["workers"] == 2
    assert _table(one, "images") == _table(two, "images")
    assert _table(one, "rejects") == _table(two, "rejects")


def test_evaluate_against_truth(tmp_path, config):
    export = _export(tmp_path)
    ws = Workspace(tmp_path / "ws")
    run_ingest(export, ws, _config(config))
    truth = export / "truth"
    truth.mkdir()
    paths = ["images/P1/A1/2/7.dcm", "images/P1/A1/3/1.dcm", "images/P2/A2/ct.dcm",
             "images/P2/A2/garbage.dcm", "images/P2/A2/cut.dcm", "images/P2/A2/plan.dcm"]
    corrupt = [False, False, False, True, True, True]
    pq.write_table(pa.table({"path": paths, "corrupt": corrupt}), truth / "images.parquet")
    pq.write_table(pa.table({"accession": ["A1", "A2", "A3"]}), truth / "reports.parquet")
    result = evaluate_ingest(ws, truth)
    assert result["images"]["good_recall"] == 1.0
    assert result["images"]["corrupt_rejected"] == 1.0
    assert result["images"]["reject_precision"] == pytest.approx(3 / 4)  # the duplicate is not corrupt
    assert result["reports"]["report_recall"] == pytest.approx(2 / 3) and result["reports"]["missed"] == ["A3"]
    assert result["counts"]["images"] == 6
    assert evaluate_ingest(ws, None)["truth"] is None


# --------------------------------------------------------------------------- issue 8


def _reports_export(root: Path, big: int = 3 << 20) -> Path:
    export = root / "export"
    export.mkdir()
    with open(export / "reports.csv", "w") as fh:
        fh.write("accession,patient_id,text\nA1,P1,first\n")
        fh.write(f'A2,P2,"{"FINDINGS " * (big // 9)}"\n')
        fh.write("A3,P3,third\n")
    return export


def test_one_big_report_never_stops_the_others(tmp_path, config):
    export = _reports_export(tmp_path)
    ws = Workspace(tmp_path / "ws")
    run_ingest(export, ws, _config(config))
    reports = _table(ws, "reports")
    assert [r["accession"] for r in reports] == ["A1", "A2", "A3"]
    assert len(reports[1]["text"]) == len("FINDINGS " * ((3 << 20) // 9)) - 1  # read whole, stripped
    config["ingest"]["max_report_bytes"] = 1 << 20
    run_ingest(export, ws, _config(config))
    assert [r["accession"] for r in _table(ws, "reports")] == ["A1", "A3"]
    [reject] = _table(ws, "rejects")
    assert (reject["key"], reject["reason"]) == ("A2", "report_too_large")


def test_an_image_outside_the_export_cannot_displace_one_inside(tmp_path, config):
    export = _export(tmp_path)
    make_dicom(tmp_path / "outside.dcm", np.zeros((8, 8), np.int16), accession="A1", series=2, instance=7)
    (export / "images.csv").write_text("path\n../outside.dcm\n")
    ws = Workspace(tmp_path / "ws")
    run_ingest(export, ws, _config(config))
    images = {r["image_id"]: r["source"] for r in _table(ws, "images")}
    assert images["A1/2/7"] == "images/P1/A1/2/7.dcm"
    rejects = {(r["source"], r["reason"]) for r in _table(ws, "rejects")}
    assert ("../outside.dcm", "outside_export") in rejects


@pytest.mark.parametrize("inside", ["ws", "."])
def test_a_workspace_inside_the_export_is_refused(tmp_path, config, inside):
    export = _reports_export(tmp_path, big=10)
    ws = Workspace(export / inside)
    with pytest.raises(IngestError, match="inside the export") as err:
        run_ingest(export, ws, _config(config))
    assert "\n" not in str(err.value)
    assert not (ws.root / "ingest").exists()


def test_usage_errors_leave_nothing_behind(tmp_path, config):
    empty = tmp_path / "empty"
    empty.mkdir()
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(IngestError, match="no reports found"):
        run_ingest(empty, ws, _config(config))
    assert not (ws.root / "ingest").exists()
    export = _reports_export(tmp_path, big=10)
    run_ingest(export, ws, _config(config))
    config["ingest"]["columns"]["accession"] = "AccessionNumber"
    with pytest.raises(IngestError, match="ingest.columns.accession"):
        run_ingest(export, ws, config)
    assert ws.has("ingest") and not list((ws.root / "ingest").glob(".partial-*"))


def test_a_usage_error_mid_stage_removes_its_partial_folder(tmp_path, config, monkeypatch):
    export = _reports_export(tmp_path, big=10)

    def fails(*args, **kwargs):
        raise IngestError("bad input", "somewhere", "fix it")
        yield  # a generator, like the reader it replaces

    monkeypatch.setattr(stage, "iter_reports", fails)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(IngestError):
        run_ingest(export, ws, _config(config))
    assert not list((ws.root / "ingest").glob(".partial-*"))


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_artefacts_follow_the_umask(tmp_path, config, umask, mode):
    import os

    export = _export(tmp_path)
    old = os.umask(umask)
    try:
        ws = Workspace(tmp_path / "ws")
        run_ingest(export, ws, _config(config))
    finally:
        os.umask(old)
    stage_dir = ws.root / "ingest"
    files = [stage_dir / n for n in ("reports.parquet", "images.parquet", "rejects.parquet", "metrics.json",
                                      "manifest.json")]
    files.append(ws.root / _table(ws, "images")[0]["png"])
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: oct(mode) for f in files}


def test_replaced_characters_warn_once_with_the_fix(tmp_path, config, capsys):
    export = tmp_path / "export"
    export.mkdir()
    (export / "reports.csv").write_bytes(b"accession,patient_id,text\nA1,P1,caf\xe9\nA2,P2,na\xefve\nA3,P3,ok\n")
    ws = Workspace(tmp_path / "ws")
    run_ingest(export, ws, _config(config))
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "U+FFFD" in line]
    assert len(warnings) == 1 and "--set ingest.encoding=" in warnings[0] and "2 " in warnings[0]
    assert ws.metrics("ingest")["replaced_characters"] == 2
    run_ingest(export, ws, _config(config), force=False)
    config["ingest"]["encoding"] = "latin-1"
    run_ingest(export, ws, _config(config))
    assert "U+FFFD" not in capsys.readouterr().err
    assert [r["text"] for r in _table(ws, "reports")] == ["caf\xe9", "na\xefve", "ok"]


@pytest.mark.parametrize("key,value,fix", [("encoding", "klingon", "ingest.encoding="),
                                           ("encoding_errors", "shrug", "ingest.encoding_errors="),
                                           ("missing_patient_id", "drop", "'accession'")])
def test_bad_settings_stop_before_the_stage(tmp_path, config, key, value, fix):
    export = _reports_export(tmp_path, big=10)
    config["ingest"][key] = value
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(IngestError, match=fix):
        run_ingest(export, ws, _config(config))
    assert not (ws.root / "ingest").exists()
