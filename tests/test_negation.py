"""ConText negation/uncertainty/history, mention scoring, and floors on real radiology text."""

from __future__ import annotations

import pyarrow as pa
import pytest

from conftest import shared_file
from pacsmine.nlp.negation import (
    ConText,
    binary_scores,
    evaluate_ct_findings,
    evaluate_iu_xray,
    read_ct_findings,
    score_mentions,
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


def test_binary_scores():
    assert binary_scores(3, 1, 2) == {"precision": 0.75, "recall": 0.6, "f1": 0.6667, "tp": 3, "fp": 1, "fn": 2}
    assert binary_scores(0, 0, 0)["f1"] == 0.0


def test_score_mentions_on_hand_made_tables():
    sentences = pa.table({
        "accession": ["A1", "A1", "A2"], "sentence_index": pa.array([0, 1, 0], pa.int32()),
        "text": ["No pleural  effusion or pneumothorax.", "Possible pneumonia.", "Lung cancer."],
    })
    terms = pa.table({
        "accession": ["A1", "A1", "A1", "A2", "A9"], "sentence_index": pa.array([0, 0, 1, 0, 0], pa.int32()),
        "start": pa.array([3, 24, 9, 0, 0], pa.int32()), "end": pa.array([19, 36, 18, 11, 4], pa.int32()),
        "text": ["pleural effusion", "pneumothorax", "pneumonia", "Lung cancer", "cyst"],
        "doid": ["D1", "D2", "D3", "D4", "D5"],
        "name": ["pleural effusion", "pneumothorax", "pneumonia", "lung cancer", "cyst"],
        "negated": [True, False, False, False, False], "uncertain": [False, False, True, False, False],
        "historical": [False] * 5,
    })
    truth = pa.table({
        "accession": ["A1", "A1", "A1", "A2", "A2"],
        "sentence": ["No pleural effusion or pneumothorax.", "No pleural effusion or pneumothorax.",
                     "possible pneumonia.", "Lung cancer.", "Lung cancer."],
        "term": ["pleural effusion", "pneumothorax", "pneumonia", "lung carcinoma", "metastasis"],
        "concept": ["pleural effusion", "pneumothorax", "pneumonia", "lung cancer", "metastasis"],
        "status": ["absent", "absent", "uncertain", "historical", "present"],
    })
    out = score_mentions(terms, sentences, truth)
    # A9 is not in the truth; 4 predictions align out of 4 scored and 5 true mentions.
    assert out["aligned"] == 4
    assert out["detection"] == binary_scores(4, 0, 1)
    assert out["negation"] == binary_scores(1, 0, 1)  # pneumothorax missed
    assert out["uncertainty"] == binary_scores(1, 0, 0)
    assert out["historical"] == binary_scores(0, 0, 1)


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
