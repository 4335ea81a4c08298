"""ConText assertion (negation, uncertainty, history, normal statements), span assertion of
``pacsmine assert``, extract's normal-statement mentions, and phantom mention scoring."""

from __future__ import annotations

import pyarrow as pa
import pytest

from conftest import shared_file
from pacsmine.nlp.negation import ConText, NormalMentions, assert_report, status_of


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


N_, U_ = "absent", "uncertain"


@pytest.mark.parametrize("sentence,word,status", [
    # Normal statements rule a finding out.
    ("Heart size is normal.", "Heart size", "absent"),
    ("Nonenlarged aorta.", "aorta", "absent"),
    ("Normal-sized pulmonary artery.", "pulmonary artery", "absent"),
    ("Cardiac chambers within normal limits.", "Cardiac chambers", "absent"),
    ("The thyroid gland is unremarkable.", "thyroid gland", "absent"),
    ("Heart and pericardium are normal.", "pericardium", "absent"),
    ("The aorta is dilated, heart normal.", "aorta", "present"),
    # Negation carried by a section header; an ordinary header is not negated.
    ("LYMPH NODES: Normal.", "LYMPH NODES", "absent"),
    ("PLEURA: None.", "PLEURA", "absent"),
    ("PLEURA: No effusion.", "effusion", "absent"),
    ("PLEURA: Small effusion.", "PLEURA", "present"),
    # Questions and orders are uncertain, never negated or present.
    ("Evaluate for pneumonia.", "pneumonia", "uncertain"),
    ("Cough, to evaluate for vesicoureteral reflux.", "vesicoureteral reflux", "uncertain"),
    ("Rule out pneumonia.", "pneumonia", "uncertain"),
    ("r/o pneumonia", "pneumonia", "uncertain"),
    ("? pneumonia", "pneumonia", "uncertain"),
    ("Pneumonia?", "Pneumonia", "uncertain"),
    ("Pneumonia was ruled out.", "Pneumonia", "absent"),
    ("Pneumonia cannot be completely excluded.", "Pneumonia", "uncertain"),
    ("Pneumonia cannot be excluded.", "Pneumonia", "uncertain"),
    ("No apparent etiology for recurrent pneumonia.", "pneumonia", "present"),
    # "No new" does not deny old findings.
    ("No new or enlarging nodule.", "nodule", "uncertain"),
    ("No new lymphadenopathy.", "lymphadenopathy", "uncertain"),
    # Hedges after the term.
    ("Pneumonia is suspected.", "Pneumonia", "uncertain"),
    ("Early pneumonia is favored.", "pneumonia", "uncertain"),
    # A list longer than the scope window (18 words after "No").
    ("No enlarged supraclavicular, axillary, mediastinal, hilar, internal mammary, paratracheal, "
     "subcarinal, retrocrural, cardiophrenic, pericardial or upper abdominal lymph nodes.", "lymph nodes", "absent"),
    # ...while a long clause that is not a list still ends at the window.
    ("No clear evidence that the large irregular opacity seen today in the right lower lobe "
     "corresponds to the known lung mass.", "lung mass", "present"),
    ("History of lung cancer.", "lung cancer", "historical"),
    # Orders and hedges of real reports; a transparent pseudo-trigger keeps the scope open.
    ("Please correlate clinically for pneumonia.", "pneumonia", "uncertain"),
    ("Maybe due to atelectasis.", "atelectasis", "uncertain"),
    ("Small bilateral pleural effusions suspected.", "pleural effusions", "uncertain"),
    ("Resolution of previously demonstrated bilateral pleural effusions.", "pleural effusions", "absent"),
    ("The nodules are not definitely seen.", "nodules", "absent"),
    # Second round (errors read on the CT items and IU X-ray): a finding taken out is absent,
    # "indeterminate" describes a finding that is there, "suggest" hedges, orders ask.
    ("Status post removal of anterior mediastinal mass.", "mediastinal mass", "absent"),
    ("Status post lobectomy for lung cancer.", "lung cancer", "historical"),
    ("There is a 1.9 cm indeterminate left adrenal nodule.", "adrenal nodule", "present"),
    ("Appearance suggest atelectasis.", "atelectasis", "uncertain"),
    ("Features suggest a combination of consolidation and atelectasis.", "consolidation", "uncertain"),
    ("There is suggestion of minimal airspace disease.", "airspace disease", "uncertain"),
    ("Possibility of a nondisplaced rib fracture.", "rib fracture", "uncertain"),
    ("The differential could include interstitial edema.", "edema", "uncertain"),
    ("CT is the best test to determine if there is any mediastinal adenopathy.", "adenopathy", "uncertain"),
    ("Limited exam, for evaluation of fractures.", "fractures", "uncertain"),
    ("Clearing of left base airspace disease.", "airspace disease", "absent"),
    ("No interval clearing of the left base opacity.", "opacity", "present"),
    ("No evidence to suggest pneumonia.", "pneumonia", "absent"),
    ("There is no suggestion of pneumonia.", "pneumonia", "absent"),
    ("There is nothing to suggest a fracture.", "fracture", "absent"),
    ("Without significant interval change of mild subsegmental atelectasis.", "atelectasis", "present"),
    # Third round (IU X-ray errors): the prior finding is gone; not well seen now; "rule-out" asks.
    ("Resolution of prior right midlung infiltrate.", "infiltrate", "absent"),
    ("Prior right midlung infiltrate.", "infiltrate", "historical"),
    ("The previously noted small nodule is not well-seen on today's study.", "nodule", "absent"),
    ("Recommended to rule-out underlying pulmonary nodule.", "nodule", "uncertain"),
])
def test_assertion_status(ctx, sentence, word, status):
    start = sentence.index(word)
    assert ctx.assert_span(sentence, start, start + len(word))["status"] == status


def test_status_of_orders_the_flags():
    assert status_of(True, True, False) == "uncertain"
    assert status_of(True, False, True) == "absent"
    assert status_of(False, False, True) == "historical"
    assert status_of(False, False, False) == "present"


def test_normal_statements_name_the_findings(ctx):
    assert ctx.normal_statements("Heart size is normal.") == [(0, 10, "cardiomegaly")]
    assert ctx.normal_statements("Normal sized thoracic aorta and pulmonary arteries.") == [
        (13, 27, "aortic dilation"), (32, 50, "pulmonary artery dilation")]
    # "unremarkable" is not a word that rules out a dilated aorta (rules/normal_findings.toml).
    assert ctx.normal_statements("The aorta is unremarkable.") == []
    assert ConText(normal={}).normal_statements("Heart size is normal.") == []


def test_normal_rules_are_data():
    rules = {"max_words": 4, "words": {"pre": ["benign-looking"], "post": []},
             "finding": [{"finding": "renal mass", "anatomy": ["kidney"]}]}
    c = ConText(normal=rules)
    assert c.normal_statements("Benign-looking kidney.") == [(15, 21, "renal mass")]
    assert c.normal_statements("Heart size is normal.") == []


def test_assert_report_judges_each_span_in_its_sentence():
    from pacsmine.config import load_config
    from pacsmine.nlp.sections import SectionSplitter
    from pacsmine.nlp.sentences import SentenceSplitter, report_spans

    cfg = load_config()["extract"]
    text = "FINDINGS: No effusion. Pneumothorax is present."
    spans = report_spans(text, SectionSplitter.from_config(cfg["sections"]), SentenceSplitter.from_config(cfg["sentences"]))
    out = assert_report(text, [[13, 21], [23, 35]], ConText(), spans)
    assert [(o["start"], o["end"], o["status"], o["negated"]) for o in out] == [
        (13, 21, "absent", True), (23, 35, "present", False)]
    with pytest.raises(ValueError):
        assert_report(text, [[40, 99]], ConText(), spans)
    with pytest.raises(ValueError):
        assert_report(text, [[1]], ConText(), spans)


def test_normal_mentions_add_absent_findings():
    from pacsmine.nlp.ontology import Ontology, Term
    from pacsmine.nlp.terms import TermAnnotator

    terms = [Term("DOID:1", "pneumonia"), Term("DOID:2", "cardiomegaly")]
    annotator = TermAnnotator(ontology=Ontology({t.doid: t for t in terms})).fit()
    found = NormalMentions(annotator)("Heart size is normal. Nonenlarged aorta, possible pneumonia.")
    got = [(m.text, m.name, m.status) for m in found]
    # cardiomegaly resolves through the vocabulary; "aortic dilation" falls back to its name.
    assert got == [("Heart size", "cardiomegaly", "absent"), ("aorta", "aortic dilation", "absent"),
                   ("pneumonia", "pneumonia", "uncertain")]
    assert found[0].code == "DOID:2" and found[1].code == "aortic dilation"


def test_shortcuts_agree_with_the_full_computation():
    # Statements asked first (a sentence without mentions) and then scopes: as a fresh ConText.
    sentence = "Heart size is normal; no effusion, but possible nodule."
    c = ConText()
    assert c.normal_statements(sentence) == [(0, 10, "cardiomegaly")]
    assert sorted(c.scopes(sentence)) == sorted(ConText().scopes(sentence)) == [
        ("negation", 0, 10), ("negation", 24, 35), ("uncertainty", 47, 54)]
    # A negated header ends with a header word; one that does not is no header.
    assert ("negation", 0, 11) in c.scopes("LYMPH NODES: Normal.")
    assert ("negation", 0, 11) not in c.scopes("LYMPH NODES: Normal size nodes")
    # A terminator word or a mark ends the scope at its start.
    for text, end in (("no effusion but nodule", 12), ("no effusion; nodule", 11), ("no effusion. nodule", 11)):
        assert c.scopes(text) == [("negation", 2, end)]
    # Up to four triggers the nearest stops are scanned, more are bisected: the same scopes.
    few = "no effusion no nodule no mass no edema"
    assert c.scopes(few) == [("negation", 2, 12), ("negation", 14, 22), ("negation", 24, 30), ("negation", 32, 38)]
    assert c.scopes(few + " no atelectasis") == [("negation", 2, 12), ("negation", 14, 22), ("negation", 24, 30),
                                                  ("negation", 32, 39), ("negation", 41, 53)]
