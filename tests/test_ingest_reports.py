"""pacsmine.ingest.reports: streaming readers, column mapping, detection and checks."""

from __future__ import annotations

import datetime
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.ingest.errors import IngestError
from pacsmine.ingest.reports import ReportChecker, check_columns, detect_reports, iter_csv_rows, iter_reports


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
    with pytest.raises(IngestError):
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


# --------------------------------------------------------------------------- issue 8

BIG = 3 << 20  # 3 MiB: larger than the CSV reader's 1 MiB block


def _big_csv(path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("accession,patient_id,text\n")
        fh.write("A1,P1,first\n")
        fh.write(text)
        fh.write("A3,P3,third\n")
        fh.write("A4,P4,too,many\n")
        fh.write("A5,P5,fifth\n")


@pytest.mark.parametrize("quoted", [True, False])
def test_csv_row_larger_than_a_block_is_read_whole(tmp_path, config, quoted):
    # A quoted 3 MiB report with commas, or one long line without punctuation.
    body = ("word, " * (BIG // 6)) if quoted else ("x" * BIG)
    path = tmp_path / "reports.csv"
    _big_csv(path, f'A2,P2,"{body}"\n' if quoted else f"A2,P2,{body}\n")
    rows = list(iter_reports("csv", path, _cfg(config)))
    good = [r for r in rows if "reject" not in r]
    assert [(r["accession"], r["key"]) for r in good] == [("A1", "1"), ("A2", "2"), ("A3", "3"), ("A5", "4")]
    assert len(good[1]["text"]) == len(body.strip())
    assert good[3]["text"] == "fifth"
    [bad] = [r for r in rows if "reject" in r]
    # Arrow numbers a malformed row among the data rows (header excluded): the 4th.
    assert bad["reject"][0] == "malformed_row" and bad["key"] == "4" and "A4" in bad["reject"][1]


def test_csv_fallback_keys_match_the_fast_reader(tmp_path):
    # Small blocks make a 20 kB row straddle them; every other row must come out as
    # the block reader gives it when the blocks are large enough.
    path = tmp_path / "r.csv"
    with open(path, "w") as fh:
        fh.write("accession,text\n")
        for i in range(300):
            fh.write(f'A{i},"report {i}\nline two"\n' if i % 7 else f"A{i},report,extra\n")
            if i == 150:
                fh.write("\nBIG," + "y" * 20000 + "\n")
    def rows(block_size):
        # A block's malformed rows come out before its good rows: compare in key order.
        got = [(r["reject"][0], r["key"]) if "reject" in r else r for r in iter_csv_rows(path, block_size=block_size)]
        return sorted(got, key=lambda r: (isinstance(r, tuple), int(r[1] if isinstance(r, tuple) else r["key"])))

    small, large = rows(4096), rows(1 << 20)
    assert small == large
    assert sum(isinstance(r, tuple) for r in small) == 43 and len(small) == 301  # i % 7 == 0 for 43 of 300


def test_report_too_large_is_a_reject(tmp_path, config):
    checker = ReportChecker(max_report_bytes=10)
    base = {"patient_id": "P", "source": "r.csv", "key": "1"}
    assert checker.check({**base, "accession": "A", "text": "0123456789"}) is None
    reason, detail = checker.check({**base, "accession": "B", "text": "0123456789a"})
    assert reason == "report_too_large" and "11 bytes" in detail and "ingest.max_report_bytes" in detail
    # Counted in UTF-8 bytes: 6 characters, 12 bytes.
    assert checker.check({**base, "accession": "C", "text": "éééééé"})[0] == "report_too_large"
    assert "B" not in checker.seen_  # a rejected accession may come again


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_big_report_in_jsonl_and_parquet_is_read_whole(tmp_path, config, fmt):
    body = "z" * BIG
    records = [{"accession": f"A{i}", "patient_id": "P", "text": body if i == 2 else f"r{i}"} for i in (1, 2, 3)]
    path = tmp_path / f"reports.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    rows = list(iter_reports(fmt, path, _cfg(config)))
    assert [r["accession"] for r in rows] == ["A1", "A2", "A3"] and len(rows[1]["text"]) == BIG


def test_parquet_binary_text_is_decoded(tmp_path, config):
    path = tmp_path / "reports.parquet"
    table = pa.table({
        "accession": pa.array([1, 2], pa.int64()),
        "patient_id": pa.array([b"P1", b"P2"], pa.binary()),
        "text": pa.array(["INDICATION: cough".encode(), b"caf\xe9"], pa.large_binary()),
        "study_date": pa.array([datetime.date(2014, 1, 2), None], pa.date32()),
        "labels": pa.array([["a", "b"], None], pa.list_(pa.string())),
    })
    pq.write_table(table, path)
    rows = list(iter_reports("parquet", path, _cfg(config)))
    assert [(r["accession"], r["patient_id"], r["text"], r["study_date"], r["labels"]) for r in rows] == [
        ("1", "P1", "INDICATION: cough", "2014-01-02", ["a", "b"]),
        ("2", "P2", "caf\ufffd", None, None),
    ]
    cfg = _cfg(config)
    cfg["encoding"] = "latin-1"
    assert list(iter_reports("parquet", path, cfg))[1]["text"] == "caf\xe9"


@pytest.mark.parametrize("column,array", [
    ("labels", pa.array([{"x": 1}], pa.struct([("x", pa.int64())]))),
    ("text", pa.array([{"k": "v"}], pa.map_(pa.string(), pa.string()))),
    ("accession", pa.array([[1, 2]], pa.list_(pa.int64()))),
])
def test_parquet_column_that_cannot_be_text_is_refused(tmp_path, config, column, array):
    data = {"accession": pa.array(["A"]), "patient_id": pa.array(["P"]), "text": pa.array(["t"])}
    data[column] = array
    path = tmp_path / "reports.parquet"
    pq.write_table(pa.table(data), path)
    with pytest.raises(IngestError, match=f"column '{column}'.*cannot be read as text") as err:
        list(iter_reports("parquet", path, _cfg(config)))
    assert "\n" not in str(err.value) and f"ingest.columns.{column}" in str(err.value)


def test_jsonl_value_that_is_not_text_is_a_reject(tmp_path, config):
    path = tmp_path / "reports.jsonl"
    lines = [{"accession": "A1", "patient_id": "P", "text": {"a": 1}},
             {"accession": "A2", "patient_id": "P", "text": "fine", "labels": [{"x": 1}]},
             {"accession": "A3", "patient_id": "P", "text": "fine"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    rows = list(iter_reports("jsonl", path, _cfg(config)))
    assert [r.get("reject", ("",))[0] for r in rows] == ["not_text", "not_text", ""]
    assert "'text'" in rows[0]["reject"][1] and "dict" in rows[0]["reject"][1]


def test_replaced_characters_are_counted_per_file(tmp_path, config):
    # Latin-1 bytes read as UTF-8: each accented byte (e9, e8, fb, e9) is one invalid sequence.
    path = tmp_path / "reports.csv"
    path.write_bytes(b"accession,patient_id,text\nA1,P1,caf\xe9\nA2,P2,cr\xe8me br\xfbl\xe9e\nA3,P3,ok\n")
    stats: dict = {}
    rows = list(iter_reports("csv", path, _cfg(config), stats=stats))
    assert rows[1]["text"] == "cr\ufffdme br\ufffdl\ufffde"
    assert stats["replaced_characters"] == {"reports.csv": 4}
    jsonl = tmp_path / "reports.jsonl"
    jsonl.write_bytes(b'{"accession": "A1", "patient_id": "P", "text": "caf\xe9 \\ufffd"}\n')
    stats = {}
    assert [r["text"] for r in iter_reports("jsonl", jsonl, _cfg(config), stats=stats)] == ["caf\ufffd \ufffd"]
    assert stats["replaced_characters"] == {"reports.jsonl": 1}  # the escaped U+FFFD was written so


def test_strict_decoding_rejects_the_row(tmp_path, config):
    path = tmp_path / "reports.csv"
    path.write_bytes(b"accession,patient_id,text\nA1,P1,caf\xe9\nA2,P2,fine\n")
    cfg = _cfg(config)
    cfg["encoding_errors"] = "strict"
    rows = list(iter_reports("csv", path, cfg))
    assert rows[0]["reject"][0] == "undecodable_text" and "utf-8" in rows[0]["reject"][1]
    assert rows[1]["text"] == "fine"
    cfg["encoding"] = "no-such-codec"
    with pytest.raises(IngestError, match="ingest.encoding"):
        list(iter_reports("csv", path, cfg))


def test_usage_errors_are_one_line_with_the_fix(tmp_path, config):
    cfg = _cfg(config)
    with pytest.raises(IngestError) as err:
        detect_reports(tmp_path, cfg)
    message = str(err.value)
    assert "\n" not in message and "no reports found" in message and str(tmp_path) in message
    assert "ingest.reports" in message
    path = tmp_path / "reports.csv"
    path.write_text("acc,patient_id,text\nA1,P1,t\n")
    with pytest.raises(IngestError) as err:
        check_columns("csv", path, cfg)
    assert "\n" not in str(err.value) and "--set ingest.columns.accession=" in str(err.value)
    path.write_text("accession,patient_id,text\nA1,P1,t\n")
    check_columns("csv", path, cfg)  # fine: no error
