"""ConText negation/uncertainty/history and floors on real radiology text (phantom scoring: test_nlp_evaluate.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from conftest import shared_file
from pacsmine.nlp.evaluate import binary_scores
from pacsmine.nlp.negation import (
    ConText,
    evaluate_ct_findings,
    evaluate_iu_reports,
    evaluate_iu_xray,
    iu_report_from_labels,
    iu_reports_from_tables,
    read_ct_findings,
    split_sentences_simple,
)


class Span:
    def __init__(self, sentence, word):
        self.start = sentence.lower().index(word.lower())
        self.end = self.start + len(word)


@pytest.fixture(scope="module")
def ctx():
    return ConText()


def flags(ctx, sentence, *words):
    spans = [Span(sentence, w) for w in words]
    ctx.apply(sentence, spans)
    return [(s.negated, s.uncertain, s.historical) for s in spans]


N, U, H, P = (True, False, False), (False, True, False), (False, False, True), (False, False, False)


@pytest.mark.parametrize("sentence,words,expected", [
    ("No evidence of pleural effusion or pneumothorax.", ["pleural effusion", "pneumothorax"], [N, N]),
    ("no effusion; small nodule", ["effusion", "nodule"], [N, P]),
    ("No enlarged supraclavicular, axillary, mediastinal, or hilar lymph nodes.", ["axillary", "hilar"], [N, N]),
    ("Pneumothorax is not seen.", ["pneumothorax"], [N]),
    ("Cardiomegaly, but no pleural effusion.", ["cardiomegaly", "pleural effusion"], [P, N]),
    ("No change in the size of the lung nodule.", ["lung nodule"], [P]),
    ("Pneumonia cannot be excluded.", ["pneumonia"], [U]),
    ("Atelectasis versus pneumonia.", ["atelectasis", "pneumonia"], [U, U]),
    ("Opacity may represent atelectasis.", ["opacity", "atelectasis"], [P, U]),
    ("History of lung cancer, status post lobectomy.", ["lung cancer"], [H]),
    ("Compared with prior study, the nodule is larger.", ["nodule"], [P]),
    ("Mass without calcification", ["mass", "calcification"], [P, N]),
])
def test_context_rules(ctx, sentence, words, expected):
    assert flags(ctx, sentence, *words) == expected


def test_scope_window_and_terminators_are_settings():
    s = "No a b c d e f g h i j k l m n o p q r s t effusion"
    assert flags(ConText(max_scope_words=5), s, "effusion") == [P]
    assert flags(ConText(max_scope_words=30), s, "effusion") == [N]
    # With no terminators configured, ";" no longer ends the scope (a full stop still does).
    assert flags(ConText(terminators=()), "no effusion; small nodule", "nodule") == [N]


def test_rules_are_data(tmp_path):
    rules = tmp_path / "ctx.toml"
    rules.write_text('[negation]\npre = ["sans"]\n', encoding="utf-8")
    c = ConText.from_config({"rules": str(rules)})
    assert flags(c, "sans effusion", "effusion") == [N]
    assert flags(c, "no effusion", "effusion") == [P]


def test_sentence_splitter_joins_wrapped_lines():
    text = "LUNGS: No nodule or\nconsolidation.\nPLEURA: Normal.\nBONES: no lytic\nlesions"
    assert split_sentences_simple(text) == ["LUNGS: No nodule or consolidation.", "PLEURA: Normal.",
                                            "BONES: no lytic lesions"]


def test_ct_findings_reader_and_negation_floor():
    folder = shared_file("ct_findings/reports")
    reports = list(read_ct_findings(folder))
    assert len(reports) == 140
    first = {f: s for f, s in reports[0]["findings"]}
    assert set(first.values()) <= {"absent", "present"}
    res = evaluate_ct_findings(folder, ConText())["oracle"]
    assert res["n"] > 1000
    assert res["negation"]["precision"] > 0.93 and res["negation"]["recall"] > 0.93


def test_iu_xray_negation_floor():
    path = shared_file("iu_xray/indiana_reports.csv")
    res = evaluate_iu_xray(path, ConText())["oracle"]
    assert res["n"] > 10000
    assert res["negation"]["precision"] > 0.97 and res["negation"]["recall"] > 0.9
    assert res["present"]["precision"] > 0.9


# ------------------------------------------------ IU-style labels, raw CSV or workspace tables

IU_CSV = """uid,MeSH,Problems,image,indication,comparison,findings,impression
1,normal,normal,PA,Cough,None.,No pneumothorax. No pleural effusion.,Normal chest.
2,"Hernia, Hiatal/large;Pneumothorax/left","Hernia, Hiatal;Pneumothorax",PA,Pain,None.,Large hiatal hernia. Small left pneumothorax.,No pleural effusion.
3,Pneumonia/right,Pneumonia,PA,Fever,None.,Possible pneumonia. Atelectasis is not seen.,Pneumothorax.
"""
# The same reports as ingest writes them: MeSH then the Problems not already there.
IU_LABELS = [["normal"], ["Hernia, Hiatal/large", "Pneumothorax/left", "Hernia, Hiatal", "Pneumothorax"],
             ["Pneumonia/right", "Pneumonia"]]


@pytest.fixture(scope="module")
def tiny_annotator():
    from pacsmine.nlp.ontology import Ontology, Term
    from pacsmine.nlp.terms import TermAnnotator

    terms = [Term("DOID:1", "pneumothorax"), Term("DOID:2", "pleural effusion"),
             Term("DOID:3", "hiatus hernia", ("hiatal hernia",)), Term("DOID:4", "pneumonia"),
             Term("DOID:5", "atelectasis")]
    return TermAnnotator(ontology=Ontology({t.doid: t for t in terms})).fit()


def iu_tables():
    texts = ["No pneumothorax. No pleural effusion. Normal chest.",
             "Large hiatal hernia. Small left pneumothorax. No pleural effusion.",
             "Possible pneumonia. Atelectasis is not seen. Pneumothorax."]
    reports = pa.table({"accession": ["1", "2", "3", "4"], "text": texts + ["Pneumonia."],
                        "labels": pa.array(IU_LABELS + [None], pa.list_(pa.string()))})
    return reports, texts


def test_iu_report_from_labels_reads_problems_from_the_heads():
    r = iu_report_from_labels("2", "t", IU_LABELS[1])
    assert r["problems"] == {"hernia, hiatal", "pneumothorax"} and not r["normal"]
    assert r["mesh"] == IU_LABELS[1]
    normal = iu_report_from_labels("1", "t", ["normal"])
    assert normal["normal"] and normal["problems"] == set() and normal["mesh"] == []
    assert iu_report_from_labels("9", "t", None) is None and iu_report_from_labels("9", "t", [" "]) is None


def test_iu_scores_are_the_same_from_the_csv_and_from_workspace_tables(tmp_path, tiny_annotator):
    path = tmp_path / "indiana_reports.csv"
    path.write_text(IU_CSV, encoding="utf-8")
    from_csv = evaluate_iu_xray(path, tiny_annotator.context_, tiny_annotator)
    reports, _ = iu_tables()
    from_tables = evaluate_iu_reports(iu_reports_from_tables(reports), tiny_annotator.context_, tiny_annotator)
    assert from_csv == from_tables
    assert from_csv["reports"] == 3  # report 4 has no labels
    e2e = from_csv["ontology"]
    # Found: r1 pneumothorax, effusion (negated, unlisted); r2 hernia, pneumothorax (present,
    # listed), effusion (negated, unlisted); r3 pneumonia (uncertain, listed), atelectasis
    # (negated, unlisted), pneumothorax (present, unlisted).
    assert e2e["n"] == 8
    assert e2e["negation"] == binary_scores(4, 0, 1)  # r3 pneumothorax: written present, not coded
    assert e2e["present"] == binary_scores(2, 1, 1)
    assert e2e["labelled"] == {"concepts": 3, "mentioned": 3, "recall": 1.0}


def test_iu_scores_take_the_stage_mentions_of_the_kept_sentences(tiny_annotator):
    reports, texts = iu_tables()
    sentences = pa.table({
        "accession": ["2", "2", "2", "3"], "sentence_index": pa.array([0, 1, 2, 0], pa.int32()),
        "text": ["INDICATION: pneumonia?", "Large hiatal hernia.", "Small left pneumothorax.", "Pneumothorax."],
        "section": ["INDICATION", "FINDINGS", "FINDINGS", None],
    })
    mentions = pa.table({
        "accession": ["2", "2", "2", "3", "9"], "sentence_index": pa.array([0, 1, 2, 0, 0], pa.int32()),
        "code": ["DOID:4", "DOID:3", "DOID:1", "DOID:1", "DOID:4"],
        "negated": [False, False, True, False, False], "uncertain": [False] * 5,
    })
    labelled = list(iu_reports_from_tables(reports, sentences, skip_sections=["indication"]))
    assert [r["report"] for r in labelled] == ["1", "2", "3"]
    assert labelled[1]["sentences"] == ["Large hiatal hernia.", "Small left pneumothorax."]
    assert labelled[1]["sentence_indices"] == [1, 2] and labelled[0]["sentences"] == []
    out = evaluate_iu_reports(labelled, None, tiny_annotator, mentions=mentions)
    assert "oracle" not in out
    # Scored: r2 hernia (present, listed), pneumothorax (negated by the stage, listed);
    # r3 pneumothorax (present, unlisted). The indication's pneumonia and report 9 are not.
    e2e = out["ontology"]
    assert e2e["n"] == 3
    assert e2e["present"] == binary_scores(1, 1, 1)
    assert e2e["negation"] == binary_scores(0, 1, 1)
    assert e2e["labelled"] == {"concepts": 3, "mentioned": 2, "recall": 0.6667}
    with pytest.raises(ValueError):
        evaluate_iu_reports(labelled, None, tiny_annotator)
