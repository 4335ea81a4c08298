import io
import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.config import load_config
from pacsmine.topics import infer_reports, run_topics
from pacsmine.topics.infer import TopicLabeller, label_reports, read_reports
from pacsmine.topics.synthetic import write_extract_stage
from pacsmine.workspace import Workspace

SMALL = [
    "topics.workers=1", "topics.infer_iterations=50",
    "topics.level1.k_grid=[3]", "topics.level1.iterations=60",
    "topics.level2.min_docs=40", "topics.level2.k_grid=[2]", "topics.level2.iterations=30",
    "topics.level3.k_grid=[3]", "topics.level3.iterations=30", "topics.cards.levels=[]",
]


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    ws = Workspace(root)
    truth = write_extract_stage(ws, n_reports=150, n_types=3, seed=11, images_per_report=1)
    config = load_config(overrides=SMALL)
    run_topics(ws, config)
    docs = pq.read_table(root / "extract" / "documents.parquet").to_pylist()
    labels = pq.read_table(root / "topics/level1/doc_topics.parquet").column("topic").to_pylist()
    # The level-1 topic that holds most reports of each true case type.
    by_type: dict[str, Counter] = {}
    for d, label in zip(docs, labels):
        by_type.setdefault(truth["case_type"][d["accession"]], Counter())[label] += 1
    topic_of_type = {t: c.most_common(1)[0][0] for t, c in by_type.items()}
    return ws, config, truth, docs, topic_of_type


def test_read_reports_from_each_format(tmp_path):
    (tmp_path / "r.csv").write_text("accession,text\nA1,liver lesion\nA2,\"lung, nodule\"\n")
    (tmp_path / "r.jsonl").write_text('{"accession": "A1", "text": "liver"}\n\n{"text": "lung"}\n')
    pq.write_table(pa.table({"text": ["a b", "c"]}), tmp_path / "r.parquet")
    assert list(read_reports(tmp_path / "r.csv")) == [("A1", "liver lesion", None), ("A2", "lung, nodule", None)]
    assert list(read_reports(tmp_path / "r.jsonl")) == [("A1", "liver", None), (None, "lung", None)]
    assert list(read_reports(tmp_path / "r.parquet")) == [(None, "a b", None), (None, "c", None)]
    (tmp_path / "bad.csv").write_text("accession,body\nA1,x\n")
    with pytest.raises(ValueError, match="ingest.columns.text"):
        list(read_reports(tmp_path / "bad.csv"))


def test_read_reports_uses_the_ingest_readers_column_mapping_encoding_and_rejects(tmp_path):
    ingest = load_config(overrides=['ingest.columns.text="body"', 'ingest.columns.accession="acc"',
                                    'ingest.encoding="latin-1"'])["ingest"]
    # CSV in latin-1, a configured text column, a quoted text over two lines, an empty
    # text and a row with too many fields (both ingest rejects).
    (tmp_path / "r.csv").write_bytes("acc,body\nA1,\"l\xe9sion du foie\nsuite\"\nA2,\nA3,x,y\nA4, poumon \n"
                                     .encode("latin-1"))
    rows = list(read_reports(tmp_path / "r.csv", ingest))
    good = [(a, t) for a, t, e in rows if e is None]
    assert good == [("A1", "l\xe9sion du foie\nsuite"), ("A4", "poumon")]  # stripped, as ingest does
    errors = {e["error"]: (a, e) for a, t, e in rows if e is not None}
    assert set(errors) == {"missing_text", "malformed_row"} and errors["missing_text"][0] == "A2"
    assert errors["missing_text"][1]["source"] == "r.csv" and errors["missing_text"][1]["key"] == "2"
    # JSONL with the same mapping: a line that is not an object and a null text are errors.
    (tmp_path / "r.jsonl").write_text('{"acc": "B1", "body": "liver"}\n[1, 2]\n{"acc": "B2", "body": null}\n')
    rows = list(read_reports(tmp_path / "r.jsonl", ingest))
    assert rows[0] == ("B1", "liver", None)
    assert rows[1][1] is None and rows[1][2]["error"] == "malformed_row" and rows[1][2]["key"] == "2"
    assert rows[2][0] == "B2" and rows[2][2]["error"] == "missing_text"
    # Without the configured column, the file is a configuration error (as in ingest).
    with pytest.raises(ValueError, match="'body'"):
        list(read_reports(tmp_path / "r.csv"))


def test_rejected_rows_get_an_error_line_in_input_order(mined):
    ws = mined[0]
    labeller = TopicLabeller(ws.stage_dir("topics"), workers=1, infer_iterations=50)
    error = {"error": "missing_text", "detail": "report A2 has no text", "source": "r.csv", "key": "2"}
    reports = [("A1", "caseaworda caseawordb", None), ("A2", None, error), ("A3", "casebworda", None)]
    out = io.StringIO()
    assert label_reports(labeller, reports, str.split, out, batch_size=2) == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["accession"] for r in rows] == ["A1", "A2", "A3"]
    assert rows[1] == {"accession": "A2", **error} and "level1" in rows[0] and "level1" in rows[2]


def test_labeller_gives_new_reports_the_topic_of_their_case(mined):
    ws, _, truth, docs, topic_of_type = mined
    labeller = TopicLabeller(ws.stage_dir("topics"), workers=1, infer_iterations=50)
    sample = docs[:30]
    out = io.StringIO()
    n = label_reports(labeller, [(d["accession"], " ".join(d["tokens"])) for d in sample], str.split, out, batch_size=7)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert n == 30 and [r["accession"] for r in rows] == [d["accession"] for d in sample]
    hits = sum(r["level1"] == topic_of_type[truth["case_type"][r["accession"]]] for r in rows)
    assert hits >= 27
    for r in rows:
        assert len(r["level1_theta"]) == 3 and abs(sum(r["level1_theta"]) - 1) < 1e-3
        assert r["level2"].split(".")[0] == r["level1"]
        split = (ws.root / "topics/level2" / r["level1"] / "model.bin").exists()
        assert split or r["level2"] == r["level1"] + ".0"


def test_infer_reports_tokenises_like_extract(mined, tmp_path, monkeypatch, capsys):
    pytest.importorskip("pacsmine.nlp.tokens", reason="the extract tokenizer (NLP part A) is not available")
    ws, config, truth, docs, topic_of_type = mined
    # Written as prose: upper case and punctuation, which the extract tokenizer removes.
    sample = docs[30:40]
    reports = tmp_path / "new.jsonl"
    reports.write_text("".join(json.dumps({"accession": d["accession"], "text": ", ".join(d["tokens"]).upper() + "."})
                               + "\n" for d in sample))
    output = tmp_path / "labels.jsonl"
    infer_reports(ws, config, reports, output)
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == 10
    assert sum(r["level1"] == topic_of_type[truth["case_type"][r["accession"]]] for r in rows) >= 9
    # "-": one report per line on stdin, JSON lines on stdout
    monkeypatch.setattr("sys.stdin", io.StringIO(" ".join(sample[0]["tokens"]) + "\n\n"))
    infer_reports(ws, config, "-", None)
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 1 and printed[0]["accession"] is None and printed[0]["level1"] == rows[0]["level1"]


def test_infer_reports_reads_a_csv_with_the_ingest_column_mapping(mined, tmp_path):
    pytest.importorskip("pacsmine.nlp.tokens", reason="the extract tokenizer (NLP part A) is not available")
    ws, config, truth, docs, topic_of_type = mined
    config = load_config(overrides=SMALL + ['ingest.columns.text="report_text"', 'ingest.columns.accession="id"'])
    reports = tmp_path / "new.csv"
    reports.write_text("id,report_text\n" + f"{docs[40]['accession']},\"{' '.join(docs[40]['tokens'])}\"\n" + "X9,\n")
    output = tmp_path / "labels.jsonl"
    infer_reports(ws, config, reports, output)
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["accession"] for r in rows] == [docs[40]["accession"], "X9"]
    assert rows[0]["level1"] == topic_of_type[truth["case_type"][docs[40]["accession"]]]
    assert rows[1]["error"] == "missing_text" and "level1" not in rows[1]


def test_infer_tokenises_a_report_as_extract_did(tmp_path):
    """A finding is one token in extract's documents and in topics infer alike."""
    from pacsmine.nlp.extract import run_extract
    from pacsmine.topics.infer import extract_tokenizer

    texts = ["FINDINGS: Pulmonary embolism in the right lower lobe. No pneumothorax.",
             "FINDINGS: The right lower lobe is clear. Pneumothorax."]
    ws = Workspace(tmp_path)
    ws.run_stage("ingest", {}, {}, lambda ctx: ctx.write_parquet("reports.parquet", pa.table({
        "accession": ["A1", "A2"], "patient_id": ["P1", "P2"], "modality": ["CT", "CT"], "text": texts})) or {})
    config = load_config(overrides=[
        "run.workers=1", "extract.vocabulary.min_doc_freq=1", "extract.vocabulary.min_doc_tokens=1",
        "extract.vocabulary.max_doc_fraction=1.0", "extract.vocabulary.drop_stopwords=false"])
    run_extract(ws, config)
    docs = pq.read_table(tmp_path / "extract" / "documents.parquet").column("tokens").to_pylist()
    # By hand: words of 3+ letters, the two terms one token each ("in" is too short); the
    # negated pneumothorax is marked absent (tokens.status_tokens.absent = "mark", mark "no").
    assert docs[0] == ["pulmonary_embolism", "the", "right", "lower", "lobe", "no_pneumothorax"]
    assert docs[1] == ["the", "right", "lower", "lobe", "clear", "pneumothorax"]
    tokenize = extract_tokenizer(ws, config)
    assert [tokenize(t) for t in texts] == docs
