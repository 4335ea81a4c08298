"""The extract stage end to end on a tiny ingested workspace, with the real term annotator."""

from __future__ import annotations

import json
import os
import signal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.config import load_config
from pacsmine.nlp import evaluate_extract, run_extract
from pacsmine.nlp.extract import SCHEMAS
from pacsmine.workspace import Workspace

REPORTS = [
    ("A1", "P1", "CT",
     "FINDINGS: There is a 5 mm nodule in the right upper lobe (series 3, image 45). No pneumothorax. "
     "Possible pneumonia.\nIMPRESSION: Lung nodule (image 45). Pneumonia is unlikely."),
    ("A2", "P2", "MR", "HISTORY: Cancer.\nFINDINGS: Liver metastasis (Se 2 Im 10-12). Hepatic cyst on image 99 of series 7."),
    ("A3", "P3", None, "The lungs are clear. No pneumothorax."),
    ("A4", "P4", "CT", "Mass with pneumonia and pneumothorax (13:141)."),
]
IMAGES = [
    ("A1/3/45", "A1", "P1", 3, 45), ("A2/2/10", "A2", "P2", 2, 10), ("A2/2/11", "A2", "P2", 2, 11),
    ("A2/5/12", "A2", "P2", 5, 12), ("A4/13/141", "A4", "P4", 13, 141),
]


def make_ingest(root):
    ws = Workspace(root)

    def body(ctx):
        n = len(REPORTS)
        acc, pid, mod, text = map(list, zip(*REPORTS))
        ctx.write_parquet("reports.parquet", pa.table({
            "accession": acc, "patient_id": pid, "modality": mod, "body_part": [None] * n,
            "study_date": [None] * n, "text": text, "source": ["t"] * n}))
        ids, iacc, ipid, ser, ins = map(list, zip(*IMAGES))
        m = len(IMAGES)
        ctx.write_parquet("images.parquet", pa.table({
            "image_id": ids, "accession": iacc, "patient_id": ipid, "series": pa.array(ser, pa.int32()),
            "instance": pa.array(ins, pa.int32()), "frame": pa.array([1] * m, pa.int32()),
            "modality": ["CT"] * m, "png": [f"images/{i}.png" for i in ids]}))
        return {}

    ws.run_stage("ingest", {}, {}, body)
    return ws


def config(**extra):
    # The frequency rule under test is drop_top alone (no stop-word, digit or share rule).
    overrides = ["extract.vocabulary.min_doc_freq=1", "extract.vocabulary.drop_top=2",
                 "extract.vocabulary.min_doc_tokens=3", "extract.vocabulary.drop_stopwords=false",
                 "extract.vocabulary.drop_digits=false", "extract.vocabulary.max_doc_fraction=1.0", "run.workers=1"]
    overrides += [f"{k}={v}" for k, v in extra.items()]
    return load_config(overrides=overrides)


def read(ws, name):
    return pq.read_table(ws.stage_dir("extract") / f"{name}.parquet")


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    ws = make_ingest(tmp_path_factory.mktemp("ws"))
    result = run_extract(ws, config())
    return ws, result


def test_tables_follow_the_contract(done):
    ws, result = done
    assert result.ran
    for name, schema in SCHEMAS.items():
        assert read(ws, name).schema.equals(schema), name
    assert set(read(ws, "vocabulary").column_names) == {"term", "doc_freq", "term_freq", "kept", "reason", "is_term"}
    assert (ws.stage_dir("extract") / "stats.md").read_text().startswith("# Corpus statistics")
    stats = json.loads((ws.stage_dir("extract") / "stats.json").read_text())
    assert stats["table1"]["documents"] == 4


def test_references_are_linked_or_listed(done):
    ws, result = done
    refs = read(ws, "references").to_pylist()
    got = {(r["accession"], r["series"], r["instance"], r["status"]) for r in refs}
    assert got == {
        ("A1", 3, 45, "linked"), ("A1", None, 45, "linked"), ("A2", 2, 10, "linked"), ("A2", 2, 11, "linked"),
        ("A2", 2, 12, "unmatched"), ("A2", 7, 99, "unmatched"), ("A4", 13, 141, "linked"),
    }
    m = result.metrics
    assert m["references"]["total"] == 7 and m["references"]["linked"] == 5
    assert m["link_rate"] == round(5 / 7, 4)
    assert len(m["references"]["unmatched_examples"]) == 2


def test_references_in_a_comparison_section_are_the_other_exams():
    # [references].other_exam_sections: "COMPARISON: CT 01/02/2020 series 3 image 45" cites
    # the comparison study's image; the FINDINGS reference is this study's.
    from pacsmine.config import load_config
    from pacsmine.nlp.extract import ReportNLP, new_rows
    from pacsmine.nlp.stats import CorpusCounts

    nlp = ReportNLP(load_config(), annotate=False)
    rows = new_rows()
    text = "COMPARISON: CT 01/02/2020 series 3 image 45.\nFINDINGS: Nodule (series 4, image 60)."
    nlp.process("A1", "P1", "CT", text, rows, CorpusCounts())
    refs = rows["references"]
    assert list(zip(refs["series"], refs["instance"])) == [(4, 60)]


def test_key_images_carry_their_sentence_and_neighbours(done):
    ws, _ = done
    rows = {(r["image_id"], r["sentence_index"]): r for r in read(ws, "key_images").to_pylist()}
    assert set(rows) == {("A1/3/45", 0), ("A1/3/45", 3), ("A2/2/10", 1), ("A2/2/11", 1), ("A4/13/141", 0)}
    first = rows[("A1/3/45", 0)]
    assert first["prev_sentence"] is None  # the first sentence has no previous one
    assert first["next_sentence"] == "No pneumothorax."
    last = rows[("A2/2/11", 1)]
    assert last["prev_sentence"] == "Cancer." and last["next_sentence"].startswith("Hepatic cyst")
    only = rows[("A4/13/141", 0)]
    assert only["prev_sentence"] is None and only["next_sentence"] is None  # one-sentence report
    assert only["png"] == "images/A4/13/141.png" and only["patient_id"] == "P4"
    vocab = read(ws, "vocabulary").to_pylist()
    kept = {v["term"] for v in vocab if v["kept"]}
    assert all(t in kept for r in rows.values() for t in r["tokens"])


def test_real_annotator_terms_negation_and_bigrams(done):
    ws, result = done
    terms = read(ws, "terms").to_pylist()
    by = {(t["accession"], t["sentence_index"], t["name"]): t for t in terms}
    assert by[("A1", 1, "pneumothorax")]["negated"]
    assert by[("A1", 2, "pneumonia")]["uncertain"]
    assert not by[("A4", 0, "pneumonia")]["negated"]
    assert result.metrics["terms"]["mentions"] == len(terms)
    assert result.metrics["terms"]["negated"] >= 2
    pairs = {(b["image_id"], b["first"], b["second"]) for b in read(ws, "bigrams").to_pylist()}
    assert ("A4/13/141", "pneumonia", "pneumothorax") in pairs


def test_documents_apply_the_vocabulary(done):
    ws, _ = done
    docs = read(ws, "documents").to_pylist()
    vocab = {v["term"]: v for v in read(ws, "vocabulary").to_pylist()}
    dropped = {t for t, v in vocab.items() if v["reason"] == "frequent"}
    # The two tokens of highest document frequency: "pneumothorax" (A1, A3, A4), then of
    # the tokens in two reports the first by name, "image" (A1, A2). "pneumothorax" is a
    # term token, which no rule drops.
    assert dropped == {"image"}
    assert vocab["pneumothorax"]["kept"] and vocab["pneumothorax"]["is_term"]
    for d in docs:
        assert d["n_tokens"] == len(d["tokens"]) >= 3
        assert not dropped & set(d["tokens"])


def test_rerun_is_skipped_and_parallel_equals_serial(done, tmp_path):
    ws, result = done
    assert not run_extract(ws, config()).ran
    ws2 = make_ingest(tmp_path)
    run_extract(ws2, config(**{"run.workers": 2, "extract.batch_size": 1}))
    for name in SCHEMAS:
        assert read(ws2, name).to_pylist() == read(ws, name).to_pylist(), name


def test_interrupted_run_resumes_finished_batches(tmp_path, monkeypatch):
    import pacsmine.nlp.extract as ex

    ws = make_ingest(tmp_path)
    cfg = config(**{"extract.batch_size": 1})
    real_concat = ex._concat

    def crash(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(ex, "_concat", crash)
    with pytest.raises(RuntimeError):
        run_extract(ws, cfg)
    assert not ws.has("extract")
    calls = []
    real_batch = ex._process_batch
    monkeypatch.setattr(ex, "_concat", real_concat)
    monkeypatch.setattr(ex, "_process_batch", lambda task: calls.append(task[0]) or real_batch(task))
    result = run_extract(ws, cfg)
    assert result.ran and calls == []  # every batch came from the interrupted run's parts
    assert result.metrics["references"]["total"] == 7


def test_evaluate_against_a_truth_folder(done, tmp_path):
    ws, _ = done
    assert evaluate_extract(ws, None)["truth"] is None
    truth = tmp_path / "truth"
    truth.mkdir()
    pq.write_table(pa.table({
        "accession": ["A1", "A2", "A4", "A2"],
        "sentence": ["There is a 5 mm nodule in the right upper lobe (series 3, image 45).",
                     "Liver metastasis (Se 2 Im 10-12).", "Mass with pneumonia and pneumothorax (13:141).",
                     "Hepatic cyst on image 99 of series 7."],
        "series": pa.array([3, 2, 13, 8], pa.int32()), "series_written": [True, True, True, True],
        "instance": pa.array([45, 10, 141, 99], pa.int32()),
    }), truth / "references.parquet")
    out = evaluate_extract(ws, truth)
    cited = out["references"]["cited"]
    # Predicted cited images: A1/3/45, A2/2/10, A2/2/11, A2/2/12, A2/7/99, A4/13/141.
    assert (cited["tp"], cited["fp"], cited["fn"]) == (3, 3, 1)
    assert out["references"]["linked"]["precision"] == round(3 / 4, 4)
    assert out["references"]["sentences"]["tp"] == 3


# ------------------------------------------------ scoring against the labels a real export carries

TINY_OBO = """format-version: 1.2

[Term]
id: DOID:1
name: pneumothorax

[Term]
id: DOID:2
name: pleural effusion

[Term]
id: DOID:3
name: hiatus hernia
synonym: "hiatal hernia" EXACT []

[Term]
id: DOID:4
name: pneumonia
"""


def labelled_workspace(root, ontology, labels=True):
    """ingest + extract tables written by hand (docs/workspace.md), OpenI-style labels."""
    ws = Workspace(root)
    texts = ["FINDINGS: No pneumothorax.", "INDICATION: pneumonia?\nFINDINGS: Hiatal hernia. Left pneumothorax.",
             "Possible pneumonia. Pleural effusion."]
    lab = [["normal"], ["Hernia, Hiatal/large", "Pneumothorax/left"], None]

    def ingest(ctx):
        table = {"accession": ["A", "B", "C"], "patient_id": ["A", "B", "C"], "text": texts}
        if labels:
            table["labels"] = pa.array(lab, pa.list_(pa.string()))
        ctx.write_parquet("reports.parquet", pa.table(table))
        return {}

    def extract(ctx):
        ctx.write_parquet("sentences.parquet", pa.table({
            "accession": ["A", "B", "B", "B", "C", "C"], "sentence_index": pa.array([0, 0, 1, 2, 0, 1], pa.int32()),
            "section": ["FINDINGS", "INDICATION", "FINDINGS", "FINDINGS", None, None],
            "text": ["No pneumothorax.", "pneumonia?", "Hiatal hernia.", "Left pneumothorax.",
                     "Possible pneumonia.", "Pleural effusion."]}))
        ctx.write_parquet("terms.parquet", pa.table({
            "accession": ["A", "B", "B", "B", "C", "C"], "sentence_index": pa.array([0, 0, 1, 2, 0, 1], pa.int32()),
            "text": ["pneumothorax", "pneumonia", "Hiatal hernia", "pneumothorax", "pneumonia", "Pleural effusion"],
            "source": ["do_2015"] * 6, "code": ["DOID:1", "DOID:4", "DOID:3", "DOID:1", "DOID:4", "DOID:2"],
            "name": ["pneumothorax", "pneumonia", "hiatus hernia", "pneumothorax", "pneumonia", "pleural effusion"],
            "negated": [True, False, False, False, False, False], "uncertain": [False, True, False, False, True, False],
            "historical": [False] * 6}))
        ctx.write_parquet("references.parquet", SCHEMAS["references"].empty_table())
        return {"terms": {"mentions": 6}}

    ws.run_stage("ingest", {}, {}, ingest)
    ws.run_stage("extract", {"terms": {"ontology": str(ontology)}}, {}, extract)
    return ws


def test_evaluate_scores_the_stage_mentions_against_labels(tmp_path):
    obo = tmp_path / "tiny.obo"
    obo.write_text(TINY_OBO, encoding="utf-8")
    ws = labelled_workspace(tmp_path / "ws", obo)
    out = evaluate_extract(ws, None)
    assert out["truth"] is None and out["terms"] == {"mentions": 6}
    got = out["labels"]
    assert "evaluate_iu_reports" in got["method"]
    assert got["reports_labelled"] == 2 and got["reports_normal"] == 1
    # Scored: A pneumothorax (negated; coded normal), B hernia and pneumothorax (present,
    # coded). B's indication and the unlabelled report C are left out.
    assert got["concepts_scored"] == 3
    assert (got["present"]["tp"], got["present"]["fp"], got["present"]["fn"]) == (2, 0, 0)
    assert (got["negation"]["tp"], got["negation"]["fp"], got["negation"]["fn"]) == (1, 0, 0)
    assert got["labelled_concepts"] == {"concepts": 2, "mentioned": 2, "recall": 1.0}
    assert got["oracle"]["n"] == 3  # IU headings in the text: pneumothorax (A, B), hiatal hernia (B)
    # A truth folder does not hide the labels.
    truth = tmp_path / "truth"
    truth.mkdir()
    assert evaluate_extract(ws, truth)["labels"] == got


def test_evaluate_without_labels_or_without_the_ontology(tmp_path):
    obo = tmp_path / "tiny.obo"
    obo.write_text(TINY_OBO, encoding="utf-8")
    assert "labels" not in evaluate_extract(labelled_workspace(tmp_path / "plain", obo, labels=False), None)
    gone = labelled_workspace(tmp_path / "gone", tmp_path / "moved.obo")
    assert "could not be rebuilt" in evaluate_extract(gone, None)["labels"]["error"]


def test_iu_xray_extract_agrees_with_its_labels(tmp_path):
    from pacsmine.ingest import run_ingest

    from conftest import shared_file

    csv = shared_file("iu_xray/indiana_reports.csv")
    obo = shared_file("disease_ontology/HumanDO.obo")
    # The DO alone, as these bounds were measured; the combined vocabulary's agreement with
    # the Problems headings is bench/vocabulary_real.py's (docs/terms.md).
    cfg = config(**{"extract.terms.ontology": str(obo), "run.workers": 2, "extract.terms.layers": '["do_2015"]',
                    "extract.terms.abbreviations.use": "false"})
    ws = Workspace(tmp_path / "ws")
    run_ingest(csv.parent, ws, cfg)
    run_extract(ws, cfg)
    got = evaluate_extract(ws, None)["labels"]
    assert got["reports_labelled"] > 3800 and got["concepts_scored"] > 3000
    # Measured 2026-11: present P 0.700 R 0.960, negation P 1.000 R 0.916 (docs/terms.md).
    assert got["present"]["precision"] > 0.65 and got["present"]["recall"] > 0.93
    assert got["negation"]["precision"] > 0.98 and got["negation"]["recall"] > 0.88
    assert got["oracle"]["negation"]["recall"] > 0.9


def _process_all(nlp, reports):
    from pacsmine.nlp.extract import new_rows
    from pacsmine.nlp.stats import CorpusCounts

    rows, stats = new_rows(), CorpusCounts()
    for acc, pid, mod, text in reports:
        nlp.process(acc, pid, mod, text, rows, stats)
    return rows, stats.to_json()


def test_sentence_cache_modes_write_the_same_rows(tmp_path, monkeypatch):
    # The per-sentence cache (on, off, auto switching back and forth, small generations)
    # must not change a single row or count: "off" computes every sentence afresh.
    from pacsmine.nlp import extract
    from pacsmine.nlp.link import ImageIndex
    from pacsmine.phantom import iter_reports

    ws = make_ingest(tmp_path)
    index = ImageIndex.from_parquet(ws.stage_dir("ingest") / "images.parquet")
    cfg = config()
    phantom = [(r.accession, r.patient_id, r.modality, r.text)
               for r in iter_reports(60, 5, dict(cfg["phantom"], faulty_reports=0))]
    reports = REPORTS * 3 + phantom + REPORTS * 2 + [("E", None, None, ""), ("N", None, None, None)]
    monkeypatch.setattr(extract, "_SENTENCE_CACHE_MAX", 40)
    monkeypatch.setattr(extract, "_SEGMENT_CACHE_MAX", 7)
    monkeypatch.setattr(extract, "_CACHE_PROBE", 30)
    monkeypatch.setattr(extract, "_CACHE_SEEN_MAX", 25)
    nlp = extract.ReportNLP(cfg, index)
    nlp.set_sentence_cache("off")
    expected = _process_all(nlp, reports)
    assert expected[0]["key_images"]["image_id"]  # the comparison covers linked key images
    assert expected[0]["terms"]["accession"]
    for mode, min_rate in (("on", 0.0), ("auto", 0.0), ("auto", 0.5), ("auto", 1.01)):
        monkeypatch.setattr(extract, "_CACHE_MIN_HIT_RATE", min_rate)
        nlp.set_sentence_cache(mode)
        assert _process_all(nlp, reports) == expected, (mode, min_rate)


def test_auto_cache_bypasses_text_that_does_not_repeat(monkeypatch):
    from pacsmine.nlp import extract
    from pacsmine.nlp.extract import new_rows
    from pacsmine.nlp.stats import CorpusCounts

    monkeypatch.setattr(extract, "_CACHE_PROBE", 20)
    monkeypatch.setattr(extract, "_CACHE_MIN_HIT_RATE", 0.15)
    nlp = extract.ReportNLP(config(), annotate=False)
    rows, stats = new_rows(), CorpusCounts()
    for i in range(10):  # 30 distinct sentences: no hit in the probe
        nlp.process(f"D{i}", None, None, f"Nodule {i} mm. Cyst {i} cm. Mass {i} in.", rows, stats)
    assert not nlp._use_cache and not nlp._cache
    # Off, it counts one report in _CACHE_OFF_SAMPLE (8)...
    counted = []
    real_probe = nlp._probe
    monkeypatch.setattr(nlp, "_probe", lambda texts: (counted.append(texts), real_probe(texts)))
    for i in range(10, 26):
        nlp.process(f"D{i}", None, None, f"Nodule {i} mm. Cyst {i} cm. Mass {i} in.", rows, stats)
    assert len(counted) == 2 and not nlp._use_cache
    # ...and text that starts to repeat turns it back on (7 counted reports: 21 sentences).
    for i in range(8 * 7):
        nlp.process(f"S{i}", None, None, "Nodule 2 mm. Cyst 2 cm. Mass 2 in.", rows, stats)
    assert nlp._use_cache
    nlp.set_sentence_cache("auto")
    for i in range(10):  # the same 3 sentences again and again: 27 of 30 are hits
        nlp.process(f"R{i}", None, None, "Nodule 1 mm. Cyst 1 cm. Mass 1 in.", rows, stats)
    assert nlp._use_cache and len(nlp._cache) == 3
    with pytest.raises(ValueError, match="sentence cache mode"):
        nlp.set_sentence_cache("sometimes")


def test_a_lost_batch_stops_the_stage_without_a_manifest(tmp_path, monkeypatch):
    # Another run removing this run's scratch mid-way (issue 8): batch 0's part files vanish
    # while batch 2 is processed. The stage must not finish with 3 of 4 reports.
    import pacsmine.nlp.extract as ex
    from pacsmine.workspace import StageIncomplete

    ws = make_ingest(tmp_path)
    real_batch = ex._process_batch

    def batch(task):
        if task[0] == 2:
            for part in __import__("pathlib").Path(task[2]).glob("*-000000*"):
                part.unlink()
        return real_batch(task)

    monkeypatch.setattr(ex, "_process_batch", batch)
    with pytest.raises(StageIncomplete, match="1 of 4 planned batches"):
        run_extract(ws, config(**{"extract.batch_size": 1}))
    assert not ws.has("extract")


def test_changed_negation_rules_or_stoplist_rerun_the_stage(tmp_path):
    from importlib import resources

    ws = make_ingest(tmp_path / "ws")
    rules = tmp_path / "context.toml"
    rules.write_text(resources.files("pacsmine.nlp").joinpath("rules", "context.toml").read_text("utf-8"))
    stoplist = tmp_path / "stop.txt"
    stoplist.write_text("mass\n")
    cfg = config(**{"extract.terms.negation.rules": f'"{rules}"', "extract.terms.stoplist": f'"{stoplist}"'})
    assert run_extract(ws, cfg).ran
    assert not run_extract(ws, cfg).ran
    rules.write_text(rules.read_text().replace('"no", ', ""))
    assert run_extract(ws, cfg).ran
    stoplist.write_text("mass\nnodule\n")
    assert run_extract(ws, cfg).ran
    assert str(rules) in ws.manifest("extract")["files"]


_REAL_PROCESS_BATCH = None


def _killed_on_batch_one(task):
    # A worker killed mid-batch (the OOM killer, a stray kill -9): module-level, so the
    # pool can send it to a forked worker by name.
    if task[0] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_PROCESS_BATCH(task)


def test_a_killed_worker_ends_the_stage_instead_of_hanging(tmp_path, monkeypatch):
    # multiprocessing.Pool never returns the result of a task whose worker died: the run
    # waited forever. The stage must stop with a reason, keep the finished batches and
    # resume on the rerun.
    global _REAL_PROCESS_BATCH
    import pacsmine.nlp.extract as ex
    from pacsmine.workspace import StageIncomplete

    ws = make_ingest(tmp_path)
    _REAL_PROCESS_BATCH = ex._process_batch
    monkeypatch.setattr(ex, "_process_batch", _killed_on_batch_one)
    cfg = config(**{"extract.batch_size": 1, "run.workers": 2})
    with pytest.raises(StageIncomplete, match="worker process died"):
        run_extract(ws, cfg)
    assert not ws.has("extract")
    monkeypatch.setattr(ex, "_process_batch", _REAL_PROCESS_BATCH)
    run_extract(ws, cfg)
    clean = make_ingest(tmp_path / "clean")
    run_extract(clean, cfg)
    for name in ("sentences", "terms", "references"):
        assert read(ws, name).sort_by([("accession", "ascending"), ("sentence_index", "ascending")]).equals(
            read(clean, name).sort_by([("accession", "ascending"), ("sentence_index", "ascending")]))
