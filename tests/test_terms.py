"""Disease-term matching: longest match, variants, stop list, acronyms, offsets, config."""

from __future__ import annotations

import pytest

from conftest import shared_file
from pacsmine.nlp.ontology import Ontology, Term
from pacsmine.nlp.terms import Normaliser, TermAnnotator, tokenize


def _onto():
    terms = [
        Term("DOID:1", "lung cancer", ("lung neoplasm",)),
        Term("DOID:2", "non-small cell lung carcinoma", ("NSCLC",)),
        Term("DOID:3", "metastasis"),
        Term("DOID:4", "liver metastasis"),
        Term("DOID:5", "pneumothorax"),
        Term("DOID:6", "disease"),
        Term("DOID:7", "Crohn's disease"),
        Term("DOID:8", "cyst"),
        Term("DOID:9", "lymphadenopathy"),
        Term("DOID:10", "pleural effusion"),
        Term("DOID:11", "lung"),  # shorter phrase that a longer one must win over
        Term("DOID:12", "ALL", ()),
        Term("DOID:13", "effusion of lung", ("lung cancer",)),  # synonym clash with DOID:1's name
    ]
    return Ontology({t.doid: t for t in terms}, source="test")


@pytest.fixture(scope="module")
def annotator():
    return TermAnnotator(ontology=_onto(), stoplist=["disease"]).fit()


def test_tokens_keep_offsets_and_swallow_possessive():
    assert tokenize("Crohn's, non-small") == [("crohn", 0, 7), ("non", 9, 12), ("small", 13, 18)]


@pytest.mark.parametrize("word,key", [("nodules", "nodule"), ("masses", "mass"), ("metastases", "metastasis"),
                                      ("metastatic", "metastasis"), ("lymphadenopathies", "lymphadenopathy"),
                                      ("cystic", "cyst"), ("abscess", "abscess"), ("stenosis", "stenosis"),
                                      ("lung", "lung")])
def test_variant_keys(word, key):
    assert Normaliser()(word) == key


def test_variants_can_be_switched_off():
    assert Normaliser(plurals=False, adjectives=False)("metastases") == "metastases"
    a = TermAnnotator(ontology=_onto(), plurals=False, adjectives=False).fit()
    assert [m.name for m in a.match("Liver metastases and cysts")] == []


def test_longest_match_and_offsets(annotator):
    text = "Known non-small cell lung carcinoma with liver metastases."
    ms = annotator.match(text)
    assert [(m.doid, m.text) for m in ms] == [("DOID:2", "non-small cell lung carcinoma"), ("DOID:4", "liver metastases")]
    for m in ms:
        assert text[m.start:m.end] == m.text


def test_adjective_and_plural_variants(annotator):
    ms = annotator.match("Metastatic lesions and cystic changes; pneumothoraces")
    assert [(m.text, m.name) for m in ms] == [("Metastatic", "metastasis"), ("cystic", "cyst"),
                                              ("pneumothoraces", "pneumothorax")]


def test_stoplist_acronyms_and_preferred_name(annotator):
    names = [m.name for m in annotator.match("Disease of all segments. Crohn disease. NSCLC. lung cancer")]
    # "disease" is stop-listed, "ALL"/"NSCLC" are acronyms, a preferred name beats a synonym.
    assert names == ["Crohn's disease", "lung cancer"]
    with_acronyms = TermAnnotator(ontology=_onto(), acronyms=True).fit()
    assert "non-small cell lung carcinoma" in [m.name for m in with_acronyms.match("NSCLC")]


def test_min_length():
    a = TermAnnotator(ontology=_onto(), min_length=5).fit()
    assert [m.name for m in a.match("cyst and lung cancer")] == ["lung cancer"]


def test_annotate_sets_context_flags(annotator):
    ms = annotator.annotate("No evidence of pleural effusion or pneumothorax; small lung cancer.")
    assert [(m.name, m.negated) for m in ms] == [("pleural effusion", True), ("pneumothorax", True),
                                                 ("lung cancer", False)]
    assert annotator.annotate("") == []


def test_from_config_real_ontology(config):
    section = dict(config["extract"]["terms"])
    section["ontology"] = str(shared_file("disease_ontology/HumanDO.obo"))
    a = TermAnnotator.from_config(section)
    assert a.n_phrases_ > 15000
    ms = a.annotate("There is no acute cardiopulmonary disease. Possible pneumonia. No pneumothorax.")
    assert [(m.name, m.negated, m.uncertain) for m in ms] == [("pneumonia", False, True), ("pneumothorax", True, False)]
    # A second build reuses the parsed ontology.
    assert TermAnnotator.from_config(section).ontology_ is a.ontology_


def test_obsolete_terms_only_on_request():
    terms = {"DOID:1": Term("DOID:1", "liver metastasis", obsolete=True), "DOID:2": Term("DOID:2", "pneumothorax"),
             "DOID:3": Term("DOID:3", "pneumothorax", obsolete=True)}
    onto = Ontology(terms)
    assert [m.name for m in TermAnnotator(ontology=onto).fit().match("liver metastases")] == []
    a = TermAnnotator(ontology=onto, keep_obsolete=True).fit()
    assert [m.doid for m in a.match("liver metastases, pneumothorax")] == ["DOID:1", "DOID:2"]
