"""pacsmine.ingest.reports: streaming readers, column mapping, detection and checks."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.ingest.reports import ReportChecker, detect_reports, iter_csv_rows, iter_reports


def _cfg(config):
    return config["ingest"]


def test_csv_multiline_text_and_malformed_row(tmp_path, config):
    path = tmp_path / "reports.csv"
    path.write_text(
        'accession,patient_id,text,modality\n'
        '007,P1,"FINDINGS: nodule, see image 3.\nIMPRESSION: nodule.",CT\n'
        'A2,P2,too,many,fields\n'
        'A3,P3,,MR\n',
        "utf-8",
    )
    rows = list(iter_reports("csv", path, _cfg(config)))
    good = [r for r in rows if "reject" not in r]
    bad = [r for r in rows if "reject" in r]
    assert [r["accession"] for r in good] == ["007", "A3"]  # strings: the leading zero stays
    assert good[0]["text"] == "FINDINGS: nodule, see image 3.\nIMPRESSION: nodule."
    assert good[0]["modality"] == "CT" and good[0]["body_part"] is None and good[0]["labels"] is None
    assert good[1]["text"] is None  # empty cell -> missing
    assert len(bad) == 1 and bad[0]["reject"][0] == "malformed_row" and "A2" in bad[0]["reject"][1]


def test_csv_bom_and_invalid_bytes(tmp_path, config):
    path = tmp_path / "reports.csv"
    path.write_bytes(b"\xef\xbb\xbfaccession,patient_id,text\nA1,P1,caf\xe9 au lait spot\nA2,P2,fine\n")
    rows = list(iter_reports("csv", path, _cfg(config)))
    assert [r["accession"] for r in rows] == ["A1", "A2"]
    assert rows[0]["text"] == "caf\ufffd au lait spot"
    cfg = _cfg(config)
    cfg["encoding"] = "latin-1"
    assert next(iter_reports("csv", path, cfg))["text"] == "caf\xe9 au lait spot"


def test_csv_streams_in_blocks(tmp_path):
    path = tmp_path / "r.csv"
    with open(path, "w") as fh:
        fh.write("accession,text\n")
        for i in range(3000):
            fh.write(f"A{i},report number {i}\n")
    rows = list(iter_csv_rows(path, block_size=4096))  # many small blocks
    assert len(rows) == 3000 and rows[-1]["accession"] == "A2999" and rows[-1]["key"] == "3000"


def test_column_mapping_jsonl_and_labels(tmp_path, config):
    cfg = _cfg(config)
    cfg["columns"].update(accession="AccessionNumber", text="ReportText", labels="codes")
    path = tmp_path / "reports.jsonl"
    lines = [
        json.dumps({"AccessionNumber": 11, "patient_id": "P", "ReportText": "ok", "codes": "a; b;"}),
        "{not json",
        json.dumps([1, 2]),
        "",
        json.dumps({"AccessionNumber": "12", "patient_id": "P", "ReportText": "x", "codes": ["c"]}),
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    rows = list(iter_reports("jsonl", path, cfg))
    assert [r.get("accession") for r in rows] == ["11", None, None, "12"]
    assert rows[0]["labels"] == ["a", "b"] and rows[3]["labels"] == ["c"]
    assert [r["reject"][0] for r in rows[1:3]] == ["malformed_row", "malformed_row"]
    assert rows[1]["key"] == "2" and rows[3]["key"] == "5"


def test_parquet_reader(tmp_path, config):
    path = tmp_path / "reports.parquet"
    pq.write_table(pa.table({"accession": ["A", "B"], "patient_id": ["p", "q"], "text": ["t1", "t2"],
                             "study_date": ["2014-01-02", None]}), path)
    rows = list(iter_reports("parquet", path, _cfg(config)))
    assert [(r["accession"], r["study_date"]) for r in rows] == [("A", "2014-01-02"), ("B", None)]


def test_detect_reports(tmp_path, config):
    cfg = _cfg(config)
    with pytest.raises(FileNotFoundError):
        detect_reports(tmp_path, cfg)
    (tmp_path / "indiana_reports.csv").write_text("uid\n1\n")
    assert detect_reports(tmp_path, cfg)[0] == "openi_csv"
    (tmp_path / "reports.jsonl").write_text("")
    assert detect_reports(tmp_path, cfg) == ("jsonl", tmp_path / "reports.jsonl")
    (tmp_path / "mine.txt").write_text("")
    cfg.update(reports="mine.txt", format="csv")
    assert detect_reports(tmp_path, cfg) == ("csv", tmp_path / "mine.txt")
    cfg.update(format="auto")
    with pytest.raises(ValueError):
        detect_reports(tmp_path, cfg)
    cfg.update(reports="")
    assert detect_reports(tmp_path / "indiana_reports.csv", cfg) == ("openi_csv", tmp_path / "indiana_reports.csv")
    xml = tmp_path / "x"
    xml.mkdir()
    (xml / "1.xml").write_text("<eCitation></eCitation>")
    cfg.update(reports="")
    assert detect_reports(xml, cfg) == ("openi_xml", xml)


def test_checker_reasons_and_first_wins():
    checker = ReportChecker()
    base = {"patient_id": "P", "text": "t", "source": "r.csv"}
    assert checker.check({**base, "accession": "A", "key": "1"}) is None
    assert checker.check({**base, "accession": "A", "key": "2"})[0] == "duplicate_accession"
    assert checker.check({**base, "accession": None})[0] == "missing_accession"
    assert checker.check({**base, "accession": "B", "text": None})[0] == "missing_text"
    assert checker.check({**base, "accession": "C", "patient_id": None})[0] == "missing_patient_id"
    assert checker.check({"reject": ("malformed_row", "x")}) == ("malformed_row", "x")
    lenient = ReportChecker("accession")
    row = {**base, "accession": "C", "patient_id": None}
    assert lenient.check(row) is None and row["patient_id"] == "C"
    lenient.remember("Z")
    assert lenient.check({**base, "accession": "Z"})[0] == "duplicate_accession"
    with pytest.raises(ValueError):
        ReportChecker("drop")


def test_misnamed_column_is_a_clear_error(tmp_path, config):
    path = tmp_path / "reports.csv"
    path.write_text("acc,patient_id,text\nA1,P1,t\n")
    with pytest.raises(ValueError, match="no column 'accession'.*ingest.columns"):
        list(iter_reports("csv", path, _cfg(config)))
    config["ingest"]["columns"]["accession"] = "acc"
    assert next(iter_reports("csv", path, _cfg(config)))["accession"] == "A1"
