"""Scoring extract against a phantom truth: concept-matched mentions, phenomena, distractors, labels."""

from __future__ import annotations

import pyarrow as pa

from pacsmine.nlp.evaluate import (
    binary_scores,
    concept_key,
    evaluate_extract,
    norm_concept,
    predicted_status,
    score_distractors,
    score_mentions,
)
from pacsmine.workspace import Workspace


def test_binary_scores():
    assert binary_scores(3, 1, 2) == {"precision": 0.75, "recall": 0.6, "f1": 0.6667, "tp": 3, "fp": 1, "fn": 2}
    assert binary_scores(0, 0, 0)["f1"] == 0.0


def test_norm_concept_and_status():
    assert norm_concept("  Liver  Cirrhosis,") == "liver cirrhosis"
    assert norm_concept(None) == ""
    assert predicted_status({"status": "historical", "negated": True}) == "historical"
    assert predicted_status({"negated": True, "uncertain": True}) == "absent"
    assert predicted_status({"negated": False, "uncertain": True}) == "uncertain"
    assert predicted_status({"negated": False, "uncertain": False, "historical": False}) == "present"


def _terms(rows):
    cols = ("accession", "sentence_index", "start", "text", "name", "negated", "uncertain", "historical")
    t = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    t["sentence_index"] = pa.array(t["sentence_index"], pa.int32())
    t["start"] = pa.array(t["start"], pa.int32())
    return pa.table(t)


def test_score_mentions_on_hand_made_tables():
    sentences = pa.table({
        "accession": ["A1", "A1", "A2"], "sentence_index": pa.array([0, 1, 0], pa.int32()),
        "text": ["No pleural  effusion or pneumothorax.", "Possible pneumonia.", "Lung cancer."],
    })
    terms = _terms([
        ("A1", 0, 3, "pleural effusion", "pleural effusion", True, False, False),
        ("A1", 0, 24, "pneumothorax", "pneumothorax", False, False, False),
        ("A1", 1, 9, "pneumonia", "pneumonia", False, True, False),
        ("A2", 0, 0, "Lung cancer", "lung cancer", False, False, False),
        ("A9", 0, 0, "cyst", "cyst", False, False, False),
    ])
    truth = pa.table({
        "accession": ["A1", "A1", "A1", "A2", "A2"],
        "sentence": ["No pleural effusion or pneumothorax.", "No pleural effusion or pneumothorax.",
                     "possible pneumonia.", "Lung cancer.", "Lung cancer."],
        "term": ["pleural effusion", "pneumothorax", "pneumonia", "lung carcinoma", "metastasis"],
        "concept": ["pleural effusion", "pneumothorax", "pneumonia", "Lung cancer", "metastasis"],
        "status": ["absent", "absent", "uncertain", "historical", "present"],
    })
    out = score_mentions(terms, sentences, truth)
    # A9 is not in the truth; 4 predictions align out of 4 scored and 5 true mentions.
    assert out["aligned"] == 4
    assert out["detection"] == binary_scores(4, 0, 1)
    assert out["negation"] == binary_scores(1, 0, 1)  # pneumothorax missed
    assert out["uncertainty"] == binary_scores(1, 0, 0)
    assert out["historical"] == binary_scores(0, 0, 1)
    # statuses right: effusion (absent), pneumonia (uncertain); wrong: pneumothorax, lung cancer
    assert out["status_accuracy"] == 0.5
    assert "by_phenomenon" not in out  # an old truth without the column


def test_a_shared_word_is_not_a_match():
    """"lung cancer" found where the truth says "lung metastasis": the same word, another concept."""
    sentences = pa.table({"accession": ["A"], "sentence_index": pa.array([0], pa.int32()),
                          "text": ["Multiple lung metastases from lung cancer."]})
    terms = _terms([("A", 0, 29, "lung cancer", "lung carcinoma", False, False, False)])
    truth = pa.table({"accession": ["A"], "sentence": ["Multiple lung metastases from lung cancer."],
                      "term": ["lung metastases"], "concept": ["lung metastasis"], "status": ["present"]})
    out = score_mentions(terms, sentences, truth)
    assert out["detection"] == binary_scores(0, 1, 1)
    assert out["status_accuracy"] is None
    # the concept the written words name is accepted: "lung carcinoma" written where the truth has lung cancer
    truth2 = pa.table({"accession": ["A"], "sentence": ["Multiple lung metastases from lung cancer."],
                       "term": ["lung carcinoma"], "concept": ["lung cancer"], "status": ["present"]})
    assert score_mentions(terms, sentences, truth2)["detection"] == binary_scores(1, 0, 0)


def test_sentences_cut_or_joined_differently_still_align_and_phenomena_are_scored():
    # the truth's wrapped sentence was cut by the splitter; a missing full stop joined two
    sentences = pa.table({
        "accession": ["A", "A", "A"], "sentence_index": pa.array([0, 1, 2], pa.int32()),
        "text": ["No pleural", "effusion or pneumothorax.", "No ascites Small PTX in the apex."],
    })
    terms = _terms([
        ("A", 1, 0, "effusion", "pleural effusion", False, False, False),   # cue on the other line: present
        ("A", 1, 12, "pneumothorax", "pneumothorax", True, False, False),
        ("A", 2, 3, "ascites", "ascites", True, False, False),
        ("A", 2, 17, "PTX", "pneumothorax", True, False, False),            # negated across the run-on
    ])
    truth = pa.table({
        "accession": ["A"] * 4,
        "sentence": ["No pleural\neffusion or pneumothorax.", "No pleural\neffusion or pneumothorax.",
                     "No ascites", "Small PTX in the apex."],
        "term": ["effusion", "pneumothorax", "ascites", "PTX"],
        "concept": ["pleural effusion", "pneumothorax", "ascites", "pneumothorax"],
        "status": ["absent", "absent", "absent", "present"],
        "phenomenon": ["wrapped_line", "wrapped_line", "missing_period", "abbreviation"],
    })
    out = score_mentions(terms, sentences, truth)
    assert out["aligned"] == 4
    assert out["by_phenomenon"] == {
        "abbreviation": {"mentions": 1, "detected": 1.0, "status_correct": 0.0, "end_to_end": 0.0},
        "missing_period": {"mentions": 1, "detected": 1.0, "status_correct": 1.0, "end_to_end": 1.0},
        "wrapped_line": {"mentions": 2, "detected": 1.0, "status_correct": 0.5, "end_to_end": 0.5},
    }


def test_score_distractors():
    distractors = [
        {"accession": "A", "sentence": "Results were called at 10:45.", "phenomenon": "clock_time"},
        {"accession": "A", "sentence": "Lesion-to-background ratio 3:2.", "phenomenon": "ratio"},
        {"accession": "B", "sentence": "Findings discussed with Dr. Smith by telephone.", "phenomenon": "dr_title"},
    ]
    false_refs = [("A", "results were called at 10:45."), ("A", "results were called at 10:45."),
                  ("B", "smith by telephone."), ("C", "lesion-to-background ratio 3:2.")]
    assert score_distractors(distractors, false_refs) == {
        "clock_time": {"sentences": 1, "with_false_reference": 1, "false_references": 2},
        "dr_title": {"sentences": 1, "with_false_reference": 1, "false_references": 1},
        "ratio": {"sentences": 1, "with_false_reference": 0, "false_references": 0},
    }


TINY_OBO = """format-version: 1.2

[Term]
id: DOID:1
name: pneumothorax

[Term]
id: DOID:4
name: pneumonia
"""


def test_location_categories_are_not_scored_as_findings(tmp_path):
    """MedPix-style labels ("Thorax", "Head") name no concept: a note, never precision 0."""
    obo = tmp_path / "tiny.obo"
    obo.write_text(TINY_OBO, encoding="utf-8")
    ws = Workspace(tmp_path / "ws")

    def ingest(ctx):
        ctx.write_parquet("reports.parquet", pa.table({
            "accession": ["A", "B"], "patient_id": ["A", "B"],
            "text": ["Right pneumothorax.", "No pneumonia."],
            "labels": pa.array([["Thorax"], ["Head"]], pa.list_(pa.string()))}))
        return {}

    def extract(ctx):
        ctx.write_parquet("sentences.parquet", pa.table({
            "accession": ["A", "B"], "sentence_index": pa.array([0, 0], pa.int32()), "section": [None, None],
            "text": ["Right pneumothorax.", "No pneumonia."]}))
        ctx.write_parquet("terms.parquet", pa.table({
            "accession": ["A", "B"], "sentence_index": pa.array([0, 0], pa.int32()),
            "text": ["pneumothorax", "pneumonia"], "doid": ["DOID:1", "DOID:4"], "name": ["pneumothorax", "pneumonia"],
            "negated": [False, True], "uncertain": [False, False], "historical": [False, False]}))
        return {}

    ws.run_stage("ingest", {}, {}, ingest)
    ws.run_stage("extract", {"terms": {"ontology": str(obo)}}, {}, extract)
    got = evaluate_extract(ws, None)["labels"]
    assert got["label_names"] == 2 and got["label_names_mapped"] == 0
    assert "'Head', 'Thorax'" in got["note"] and "topics.labels" in got["note"]
    assert "present" not in got and "negation" not in got and "oracle" not in got


def test_a_text_only_truth_does_not_score_linking(tmp_path):
    import pyarrow.parquet as pq

    from pacsmine.nlp.extract import SCHEMAS
    from pacsmine.phantom import TRUTH_SCHEMAS

    ws = Workspace(tmp_path / "ws")

    def extract(ctx):
        ctx.write_parquet("sentences.parquet", pa.table({
            "accession": ["A"], "sentence_index": pa.array([0], pa.int32()), "text": ["Mass (series 3, image 4)."]}))
        row = {name: None for name in SCHEMAS["references"].names}
        row.update({"accession": "A", "sentence_index": 0, "series": 3, "instance": 4, "status": "unlinked"})
        ctx.write_parquet("references.parquet", pa.Table.from_pylist([row], schema=SCHEMAS["references"]))
        return {}

    ws.run_stage("extract", {}, {}, extract)
    truth = tmp_path / "truth"
    truth.mkdir()
    pq.write_table(pa.table({"accession": ["A"], "sentence": ["Mass (series 3, image 4)."],
                             "series": pa.array([3], pa.int32()), "series_written": [True],
                             "instance": pa.array([4], pa.int32()), "phenomenon": ["reference"]}),
                   truth / "references.parquet")
    pq.write_table(TRUTH_SCHEMAS["images"].empty_table(), truth / "images.parquet")
    refs = evaluate_extract(ws, truth)["references"]
    assert refs["cited"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 1, "fp": 0, "fn": 0}
    assert "linked" not in refs and "text-only" in refs["note"]


def test_medpix_location_categories_get_a_note_not_a_precision(tmp_path):
    """Real MedPix cases with their per-image location categories as report labels: the
    labels name no disease concept, so extract gets a note, and topics would score them."""
    import csv

    from pacsmine.config import load_config
    from pacsmine.ingest import run_ingest
    from pacsmine.nlp import run_extract

    from conftest import shared_file

    reports_csv = shared_file("medpix_train/reports.csv")
    labels_csv = shared_file("medpix_train/labels.csv")
    obo = shared_file("disease_ontology/HumanDO.obo")
    categories: dict[str, set[str]] = {}
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            categories.setdefault(row["accession"], set()).add(row["location_category"])
    export = tmp_path / "export"
    export.mkdir()
    with open(reports_csv, newline="", encoding="utf-8") as fh, \
            open(export / "reports.csv", "w", newline="", encoding="utf-8") as out:
        rows = list(csv.DictReader(fh))[:120]
        writer = csv.DictWriter(out, fieldnames=[*rows[0].keys(), "labels"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "labels": ";".join(sorted(categories.get(row["accession"], ())))})
    cfg = load_config(overrides=[f"extract.terms.ontology={obo}", "run.workers=1", "ingest.image_manifest=none.csv"])
    ws = Workspace(tmp_path / "ws")
    run_ingest(export, ws, cfg)
    run_extract(ws, cfg)
    got = evaluate_extract(ws, None)["labels"]
    assert got["label_names_mapped"] == 0 and got["label_names"] >= 3
    assert "categories, not findings" in got["note"]
    assert not {"present", "negation", "oracle"} & set(got)


def test_concept_key_ignores_case_plural_and_word_order():
    assert concept_key("Pain, Abdominal") == "abdominal pain"
    assert concept_key("abdominal pains") == "abdominal pain"
    assert concept_key("Osseous metastases") == concept_key("metastasis, osseous") == "metastasis osseous"
    assert concept_key("renal calculi") == "calculus renal"
    assert concept_key("masses") == "mass" and concept_key("cavities") == "cavity"
    assert concept_key("pneumonia") == "pneumonia" and concept_key("Schmorl's node") == "node s schmorl"
    assert concept_key(None) == ""


def _truth(rows):
    cols = ("accession", "sentence", "term", "concept", "status", "phenomenon", "family", "names")
    t = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    t["names"] = pa.array(t["names"], pa.list_(pa.string()))
    return pa.table(t)


def test_accepted_names_and_families():
    """Alternative names and inverted names count; unmatched predictions are attributed to a
    family, to a longer true term they lie inside, or to no phantom concept."""
    s0 = "History of breast cancer, abdominal pain."
    s1 = "Osseous metastases in the T8 vertebral body with a punctate calcification."
    s2 = "There is a 2 cm adrenal metastasis and a phlebolith."
    sentences = pa.table({"accession": ["A"] * 3, "sentence_index": pa.array([0, 1, 2], pa.int32()),
                          "text": [s0, s1, s2]})
    terms = _terms([
        ("A", 0, 11, "breast cancer", "breast carcinoma", False, False, True),
        ("A", 0, 26, "abdominal pain", "Pain, Abdominal", False, False, False),
        ("A", 1, 0, "Osseous metastases", "osseous metastasis", False, False, False),
        ("A", 1, 58, "calcification", "calcinosis", False, False, False),
        ("A", 2, 16, "metastasis", "metastasis", False, False, False),  # inside "adrenal metastasis"
        ("A", 2, 45, "phlebolith", "pulmonary mass", False, False, False),  # no phantom concept
        ("A", 1, 45, "vertebral", "calcification", False, False, False),  # a truth concept, wrong place
    ])
    truth = _truth([
        ("A", s0, "breast cancer", "breast carcinoma", "historical", "history", "disease", ["breast cancer"]),
        ("A", s0, "abdominal pain", "abdominal pain", "present", "symptom", "symptom", []),
        ("A", s1, "Osseous metastases", "bone cancer", "present", "finding", "disease", ["osseous metastasis"]),
        ("A", s1, "calcification", "calcification", "present", "filler", "finding", ["calcinosis"]),
        ("A", s2, "adrenal metastasis", "metastasis to adrenals", "present", "finding", "disease", []),
        ("A", s2, "phlebolith", "phlebolith", "present", "filler", "finding", []),
    ])
    out = score_mentions(terms, sentences, truth)
    # aligned by hand: breast cancer, abdominal pain (inverted), osseous metastasis (a name),
    # calcinosis (a name); adrenal metastasis and phlebolith missed
    assert out["detection"] == binary_scores(4, 3, 2)
    fam = out["detection_by_family"]
    assert fam["disease"] == binary_scores(2, 0, 1)
    assert fam["symptom"] == binary_scores(1, 0, 0)
    # two predictions name the calcification in s1: the first in text order ("vertebral",
    # named "calcification") takes it, the later "calcinosis" is a finding's false positive
    assert fam["finding"] == binary_scores(1, 1, 1)
    assert fam["inside_true_term"] == binary_scores(0, 1, 0)
    assert fam["no_phantom_concept"] == binary_scores(0, 1, 0)
    assert list(fam) == ["disease", "finding", "symptom", "inside_true_term", "no_phantom_concept"]
    assert out["unmatched_names"] == {"calcinosis": 1, "metastasis": 1, "pulmonary mass": 1}
