"""Term matching: longest match, plurals, layer precedence, stop phrases, stems,
abbreviations, the "cirrhotic" case, offsets, config."""

from __future__ import annotations

import pytest

from conftest import shared_file
from pacsmine.nlp.ontology import Ontology, Term
from pacsmine.nlp.terms import Mention, Normaliser, TermAnnotator, tokenize
from pacsmine.nlp.vocabulary import Concept, Layer


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
        Term("DOID:14", "cirrhosis"),
    ]
    return Ontology({t.doid: t for t in terms}, source="test")


def layer(source, *concepts, stops=(), prefixes=False):
    return Layer(source, {c.code: c for c in concepts}, stop_phrases=tuple(stops), prefixes=prefixes)


@pytest.fixture(scope="module")
def annotator():
    return TermAnnotator(ontology=_onto(), stoplist=["disease"]).fit()


def test_tokens_keep_offsets_and_swallow_possessive():
    assert tokenize("Crohn's, non-small") == [("crohn", 0, 7), ("non", 9, 12), ("small", 13, 18)]


@pytest.mark.parametrize("word,key", [("nodules", "nodule"), ("masses", "mass"), ("metastases", "metastasis"),
                                      ("lymphadenopathies", "lymphadenopathy"), ("pneumothoraces", "pneumothorax"),
                                      ("emboli", "embolus"), ("bullae", "bulla"), ("abscess", "abscess"),
                                      ("stenosis", "stenosis"), ("lung", "lung"),
                                      # inflections only: adjectives stay themselves
                                      ("metastatic", "metastatic"), ("cystic", "cystic"), ("cirrhotic", "cirrhotic")])
def test_variant_keys(word, key):
    assert Normaliser()(word) == key


def test_exact_words_keep_their_form():
    assert Normaliser()("mets") == "met"
    assert Normaliser(exact={"mets"})("mets") == "mets"


def test_plurals_can_be_switched_off():
    assert Normaliser(plurals=False)("metastases") == "metastases"
    a = TermAnnotator(ontology=_onto(), plurals=False).fit()
    assert [m.name for m in a.match("Liver metastases and cysts")] == []


def test_longest_match_and_offsets(annotator):
    text = "Known non-small cell lung carcinoma with liver metastases."
    ms = annotator.match(text)
    assert [(m.code, m.text) for m in ms] == [("DOID:2", "non-small cell lung carcinoma"), ("DOID:4", "liver metastases")]
    for m in ms:
        assert text[m.start:m.end] == m.text
        assert m.source == "do_2015" and m.status == "present"


def test_offsets_where_a_word_is_also_written_inside_an_earlier_one(annotator):
    # ASCII without an apostrophe: offsets come from the lower-cased runs of letters and
    # digits (terms.py, match); "cyst" inside "cystic" and "CYST" must land on the word itself.
    text = "Cystic-looking 2cyst, then CYST 12  and  pneumothorax\tcyst."
    ms = annotator.match(text)
    assert [(m.start, m.end, m.text) for m in ms] == [(27, 31, "CYST"), (41, 53, "pneumothorax"), (54, 58, "cyst")]
    # With a possessive (the other path) the offsets agree in form.
    ms = annotator.match("Crohn's disease, CYST")
    assert [(m.start, m.end, m.text) for m in ms] == [(0, 15, "Crohn's disease"), (17, 21, "CYST")]


def test_plural_variants(annotator):
    ms = annotator.match("Cysts; pneumothoraces; lymphadenopathies")
    assert [(m.text, m.name) for m in ms] == [("Cysts", "cyst"), ("pneumothoraces", "pneumothorax"),
                                              ("lymphadenopathies", "lymphadenopathy")]


def test_no_rule_turns_a_different_word_into_a_disease(annotator):
    # The old "-ic adjective" rule read this as liver cirrhosis, and "cystic" as a cyst.
    assert annotator.match("Cirrhotic calcification of the aorta.") == []
    assert annotator.match("Metastatic lesions and cystic changes.") == []
    assert [m.name for m in annotator.match("Cirrhosis of the liver.")] == ["cirrhosis"]


def test_stoplist_acronyms_and_preferred_name(annotator):
    names = [m.name for m in annotator.match("Disease of all segments. Crohn disease. NSCLC. lung cancer")]
    # "disease" is stop-listed, "ALL"/"NSCLC" are acronyms, a preferred name beats a synonym.
    assert names == ["Crohn's disease", "lung cancer"]
    with_acronyms = TermAnnotator(ontology=_onto(), acronyms=True).fit()
    assert "non-small cell lung carcinoma" in [m.name for m in with_acronyms.match("NSCLC")]


def test_min_length():
    a = TermAnnotator(ontology=_onto(), min_length=5).fit()
    assert [m.name for m in a.match("cyst and lung cancer")] == ["lung cancer"]


def test_annotate_sets_context_flags_and_status(annotator):
    ms = annotator.annotate("No evidence of pleural effusion or pneumothorax; small lung cancer.")
    assert [(m.name, m.negated, m.status) for m in ms] == [("pleural effusion", True, "absent"),
                                                           ("pneumothorax", True, "absent"),
                                                           ("lung cancer", False, "present")]
    assert annotator.annotate("") == []


def test_obsolete_terms_only_on_request():
    terms = {"DOID:1": Term("DOID:1", "liver metastasis", obsolete=True), "DOID:2": Term("DOID:2", "pneumothorax"),
             "DOID:3": Term("DOID:3", "pneumothorax", obsolete=True)}
    onto = Ontology(terms)
    assert [m.name for m in TermAnnotator(ontology=onto).fit().match("liver metastases")] == []
    a = TermAnnotator(ontology=onto, keep_obsolete=True).fit()
    assert [m.code for m in a.match("liver metastases, pneumothorax")] == ["DOID:1", "DOID:2"]


# -- layers ---------------------------------------------------------------------------

DO = layer("do_2015", Concept("DOID:1673", "pneumothorax"), Concept("DOID:118", "pericardial effusion"))
FM = layer("finding_models",
           Concept("OIFM_1", "pneumothorax", ("collapsed lung",)),  # DO has it: DO's concept wins
           Concept("OIFM_2", "cardiomegaly", ("enlarged heart",)),
           Concept("OIFM_3", "pulmonary nodule", ("lung nodule",)),
           Concept("OIFM_4", "atelectasis"))
CHEXPERT = layer("chexpert",
                 Concept("CHEXPERT:cardiomegaly", "cardiomegaly", ("cardiac enlargement",)),
                 Concept("CHEXPERT:pleural_effusion", "pleural effusion", ("effusion",)),
                 Concept("CHEXPERT:atelectasis", "atelectasis", ("atelecta",)),
                 Concept("CHEXPERT:lung_opacity", "lung opacity", ("opaci",)),
                 Concept("CHEXPERT:lung_lesion", "lung lesion", ("mass",)),
                 stops=("pericardial effusion", "massive"), prefixes=True)


def test_earlier_layer_wins_a_shared_phrase_and_every_mention_names_its_source():
    a = TermAnnotator(layers=[DO, FM]).fit()
    got = [(m.text, m.source, m.code, m.name) for m in a.match("Pneumothorax. Collapsed lung. Lung nodules.")]
    assert got == [("Pneumothorax", "do_2015", "DOID:1673", "pneumothorax"),
                   # FM's pneumothorax shares DO's name, so its synonym names DO's concept
                   ("Collapsed lung", "do_2015", "DOID:1673", "pneumothorax"),
                   ("Lung nodules", "finding_models", "OIFM_3", "pulmonary nodule")]
    # The other order: the finding models win.
    b = TermAnnotator(layers=[FM, DO]).fit()
    assert [(m.source, m.code) for m in b.match("pneumothorax")] == [("finding_models", "OIFM_1")]


def test_a_later_concept_of_the_same_name_joins_the_earlier_one():
    a = TermAnnotator(layers=[FM, CHEXPERT]).fit()
    got = [(m.text, m.code) for m in a.match("Cardiac enlargement and an enlarged heart; cardiomegaly")]
    assert got == [("Cardiac enlargement", "OIFM_2"), ("enlarged heart", "OIFM_2"), ("cardiomegaly", "OIFM_2")]


def test_stop_phrases_match_nothing_unless_an_earlier_layer_names_them():
    alone = TermAnnotator(layers=[CHEXPERT]).fit()
    assert [m.code for m in alone.match("Small pericardial effusion. Small pleural effusion.")] == \
        ["CHEXPERT:pleural_effusion"]
    assert [m.text for m in alone.match("Massive effusion; a mass")] == ["effusion", "mass"]
    with_do = TermAnnotator(layers=[DO, CHEXPERT]).fit()
    assert [m.code for m in with_do.match("Small pericardial effusion.")] == ["DOID:118"]


def test_stems_complete_to_words():
    a = TermAnnotator(layers=[FM, CHEXPERT]).fit()
    # Last words of the prefix layer's phrases that no layer has as a whole word, of at least
    # five letters ("mass" is too short).
    assert {"atelecta", "opaci", "effusion", "massive"} <= a.stems_ and "mass" not in a.stems_
    assert "cardiomegaly" not in a.stems_ and "nodule" not in a.stems_  # finding models' whole words
    got = [(m.text, m.code) for m in a.match("Atelectatic change, atelectasis and patchy opacification")]
    # No layer has "atelectatic" or "opacification": the stems meet them. CheXpert's
    # atelectasis joined the finding models' one (same name), so its stem names that.
    assert got == [("Atelectatic", "OIFM_4"), ("atelectasis", "OIFM_4"), ("opacification", "CHEXPERT:lung_opacity")]
    assert a.match("Massachusetts") == []  # "mass" is a whole word, not a stem


GENERIC = dict(generic_layers=["finding_models", "chexpert"], generic_min_heads=2)
FM_MASS = layer("finding_models",
                Concept("OIFM_5", "pulmonary mass", ("mass", "lung mass")),
                Concept("OIFM_6", "renal mass"), Concept("OIFM_7", "adrenal mass"),
                Concept("OIFM_3", "pulmonary nodule", ("lung nodule",)), Concept("OIFM_8", "thyroid nodule"),
                Concept("OIFM_9", "airspace consolidation", ("consolidation",)),
                Concept("OIFM_10", "complex pelvic mass", ("pelvic mass",)),
                Concept("OIFM_11", "lobar consolidation"), Concept("OIFM_12", "joint effusion"))
CX_MASS = layer("chexpert",
                Concept("CHEXPERT:lung_lesion", "lung lesion", ("nodule",)),
                Concept("CHEXPERT:pleural_effusion", "pleural effusion", ("effusion",)),
                Concept("CHEXPERT:consolidation", "consolidation"), prefixes=True)


def test_generic_words_leave_organ_specific_concepts():
    a = TermAnnotator(layers=[FM_MASS, CX_MASS], **GENERIC).fit()
    got = [(m.text, m.source, m.code, m.name) for m in a.match(
        "Liver mass, lung mass. A nodule; effusion; pelvic mass; consolidation")]
    assert got == [
        # "Liver" is no phrase; "mass" ends three concepts' phrases (min_heads 2): generic
        ("mass", "generic", "GENERIC:mass", "mass"),
        ("lung mass", "finding_models", "OIFM_5", "pulmonary mass"),
        # "nodule" heads two concepts' phrases (pulmonary, thyroid): no longer CheXpert's lung lesion
        ("nodule", "generic", "GENERIC:nodule", "nodule"),
        ("effusion", "generic", "GENERIC:effusion", "effusion"),  # its concept name's last word
        ("pelvic mass", "finding_models", "OIFM_10", "complex pelvic mass"),  # only one-word synonyms
        # a word a layer names goes to that concept, not to the finding model that lists it
        ("consolidation", "chexpert", "CHEXPERT:consolidation", "consolidation")]
    # Off (no generic layers): the synonyms keep their concepts, as the files say.
    b = TermAnnotator(layers=[FM_MASS, CX_MASS]).fit()
    assert [m.code for m in b.match("a mass; a nodule")] == ["OIFM_5", "CHEXPERT:lung_lesion"]


def test_generic_needs_enough_heads_or_sharing():
    one = layer("finding_models", Concept("OIFM_1", "pulmonary cavity", ("cavity",)),
                Concept("OIFM_2", "lung abscess", ("abscess",)), Concept("OIFM_3", "liver abscess", ("abscess",)))
    a = TermAnnotator(layers=[one], generic_layers=["finding_models"], generic_min_heads=1).fit()
    # "cavity" is the last word of its concept's name; "abscess" is listed by two concepts.
    assert [(m.source, m.name) for m in a.match("cavity, abscess")] == [("generic", "cavity"), ("generic", "abscess")]
    two = layer("finding_models", Concept("OIFM_1", "pulmonary cavitation", ("cavity",)),
                Concept("OIFM_2", "pneumatosis intestinalis", ("pneumatosis",)))
    b = TermAnnotator(layers=[two], generic_layers=["finding_models"], generic_min_heads=3).fit()
    # too few phrases end in "cavity" (1 < 3); "pneumatosis" is the name's leading word
    assert [m.code for m in b.match("cavity, pneumatosis")] == ["OIFM_1", "OIFM_2"]


def test_a_synonym_several_concepts_share_goes_to_the_shortest_name():
    fm = layer("finding_models", Concept("A", "shadowing mass in renal collecting system", ("renal stone",)),
               Concept("B", "kidney stone", ("renal stone",)))
    assert [m.name for m in TermAnnotator(layers=[fm]).fit().match("renal stone")] == ["kidney stone"]


def test_same_code_or_xref_is_the_same_concept():
    do = layer("do_2015", Concept("DOID:3068", "glioblastoma multiforme", xrefs=("MSH:D005909",)),
               Concept("DOID:3074", "giant cell glioblastoma", xrefs=("MSH:D005909",)))
    mesh = layer("mesh", Concept("MESH:D005909", "Glioblastoma"))
    current = layer("do_current", Concept("DOID:3068", "grade IV astrocytoma"))
    a = TermAnnotator(layers=[do, mesh, current], xref_prefixes={"MSH": "MESH"}).fit()
    got = [(m.text, m.code, m.name) for m in a.match("Glioblastoma, grade IV astrocytoma, giant cell glioblastoma")]
    # Both DO terms list MeSH's code: the one sharing its word and with the shorter name wins.
    assert got == [("Glioblastoma", "DOID:3068", "glioblastoma multiforme"),
                   ("grade IV astrocytoma", "DOID:3068", "glioblastoma multiforme"),
                   ("giant cell glioblastoma", "DOID:3074", "giant cell glioblastoma")]
    # Bare codes of two lists ("1") are no shared code.
    first, second = layer("a", Concept("1", "cyst")), layer("b", Concept("1", "fracture"))
    assert [m.source for m in TermAnnotator(layers=[first, second]).fit().match("fracture")] == ["b"]
    # Without the prefix alias MSH is not MESH: MeSH keeps its own concept.
    b = TermAnnotator(layers=[do, mesh]).fit()
    assert [m.code for m in b.match("Glioblastoma")] == ["MESH:D005909"]


def test_an_inverted_name_is_the_concept_of_its_natural_order():
    first = layer("first", Concept("X:1", "abdominal pain"))
    later = layer("later", Concept("Y:1", "Pain, Abdominal", ("belly ache",)))
    a = TermAnnotator(layers=[first, later]).fit()
    assert [(m.code, m.name) for m in a.match("Belly ache.")] == [("X:1", "abdominal pain")]


def test_a_stem_name_becomes_a_word_or_an_earlier_concept():
    do = layer("do_2015", Concept("DOID:1936", "atherosclerosis"))
    fm = layer("finding_models", Concept("F1", "vascular calcification"), Concept("F2", "calcification cluster"),
               Concept("F3", "calcified granuloma"))
    cx = layer("chexpert", Concept("CHEXPERT:no_finding:calcifi", "calcifi"),
               Concept("CHEXPERT:no_finding:atherosclero", "atherosclero"), prefixes=True)
    a = TermAnnotator(layers=[do, fm, cx]).fit()
    got = [(m.text, m.code, m.name) for m in a.match("Calcified nodes, calcifications, atherosclerotic aorta")]
    # "calcification" is the completion the phrases use most (twice; "calcified" once).
    assert got == [("Calcified", "CHEXPERT:no_finding:calcifi", "calcification"),
                   ("calcifications", "CHEXPERT:no_finding:calcifi", "calcification"),
                   ("atherosclerotic", "DOID:1936", "atherosclerosis")]


def test_abbreviations_name_their_expansion_concept():
    pairs = [("PTX", "pneumothorax"), ("mets", "liver metastasis"), ("XYZ", "not a known phrase")]
    a = TermAnnotator(ontology=_onto(), abbreviations=pairs).fit()
    got = [(m.text, m.code, m.name) for m in a.match("No PTX; ptx resolved. Liver mets. XYZ. Criteria met.")]
    assert got == [("PTX", "DOID:5", "pneumothorax"), ("ptx", "DOID:5", "pneumothorax"),
                   ("mets", "DOID:4", "liver metastasis")]


def test_concepts_in_reads_nested_phrases():
    a = TermAnnotator(layers=[FM, CHEXPERT]).fit()
    assert a.concepts_in("Pulmonary nodule with atelectasis") == {
        ("finding_models", "OIFM_3"), ("finding_models", "OIFM_4")}
    assert a.concepts_in("lung") == set()


def test_mention_fields():
    m = Mention(0, 3, "PTX", "do_2015", "DOID:1673", "pneumothorax")
    assert (m.negated, m.uncertain, m.historical, m.status) == (False, False, False, "present")


# -- config and real data -------------------------------------------------------------

def test_from_config_without_shared_layers(config, tmp_path, capsys):
    from pacsmine.nlp.vocabulary import layers as layers_module

    layers_module._SAID.clear()
    section = dict(config["extract"]["terms"], vocabularies=str(tmp_path / "nowhere"))
    section["ontology"] = str(shared_file("disease_ontology/HumanDO.obo"))
    a = TermAnnotator.from_config(section)
    assert [layer.source for layer in a.layers_] == ["do_2015"]
    err = capsys.readouterr().err
    assert err.count("skipped") == 4 and "finding_models" in err
    # The abbreviation table is on by default.
    assert [(m.text, m.name) for m in a.match("No PTX.")] == [("PTX", "pneumothorax")]


def test_from_config_real_ontology(config):
    section = dict(config["extract"]["terms"], layers=["do_2015"])
    section["ontology"] = str(shared_file("disease_ontology/HumanDO.obo"))
    a = TermAnnotator.from_config(section)
    assert a.n_phrases_ > 15000
    ms = a.annotate("There is no acute cardiopulmonary disease. Possible pneumonia. No pneumothorax.")
    assert [(m.name, m.negated, m.uncertain) for m in ms] == [("pneumonia", False, True), ("pneumothorax", True, False)]
    # A second build reuses the parsed layers.
    assert TermAnnotator.from_config(section).layers_[0] is a.layers_[0]


def test_combined_real_vocabulary_finds_radiology_findings(config):
    section = dict(config["extract"]["terms"])
    section["ontology"] = str(shared_file("disease_ontology/HumanDO.obo"))
    section["vocabularies"] = str(shared_file("vocabularies"))
    a = TermAnnotator.from_config(section)
    assert [layer.source for layer in a.layers_] == ["do_2015", "finding_models", "chexpert", "mesh", "do_current"]
    text = ("Small left pleural effusion with bibasilar atelectasis. Mild cardiomegaly. "
            "Mediastinal lymphadenopathy, pulmonary nodules and emphysema. Calcified granuloma.")
    names = [m.name.lower() for m in a.match(text)]
    for finding in ("pleural effusion", "atelectasis", "cardiomegaly", "pulmonary nodule", "emphysema",
                    "calcified granuloma"):
        assert finding in names, (finding, names)
    assert any("lymph node" in n for n in names)
    # Finding models' own codes, and "cirrhotic" is still no cirrhosis.
    assert all(m.code.startswith("OIFM_") for m in a.match("bibasilar atelectasis"))
    assert not any("cirrhosis" in m.name for m in a.match("Cirrhotic calcification of the aorta."))
    assert [m.name for m in a.match("History of UTI.")] == ["acute cystitis"]  # DO 2015 lists UTI under it


def test_combined_real_vocabulary_names_are_readable_and_concepts_right(config):
    section = dict(config["extract"]["terms"])
    section["ontology"] = str(shared_file("disease_ontology/HumanDO.obo"))
    section["vocabularies"] = str(shared_file("vocabularies"))
    a = TermAnnotator.from_config(section)
    got = {m.text.lower(): (m.source, m.name) for m in a.match(
        "Calcified node. Atherosclerotic aorta. There is a mass. Nodule. Thymus. Cervical lymph nodes. "
        "Glioblastoma.")}
    assert got["calcified"] == ("chexpert", "calcification")  # not the stem "calcifi"
    assert got["atherosclerotic"] == ("do_2015", "atherosclerosis")
    assert got["mass"] == ("generic", "mass") and got["nodule"] == ("generic", "nodule")
    assert "thymus" not in got and "cervical lymph nodes" not in got  # anatomy modules left out
    assert got["glioblastoma"] == ("do_2015", "glioblastoma multiforme")  # DO lists MeSH's code


def test_longest_match_only_among_phrases_the_next_word_continues():
    # Phrases "a b c d", "a b" and "a x" open with "a"; "a" alone is one too. At each "a" the
    # longest phrase that the text continues wins, else "a" alone (by hand).
    concepts = [Concept("C1", "alpha beta gamma delta"), Concept("C2", "alpha beta"),
                Concept("C3", "alpha xray"), Concept("C4", "alpha")]
    ann = TermAnnotator(layers=[layer("t", *concepts)]).fit()
    found = [(m.text, m.code) for m in ann.match("alpha beta gamma delta, alpha beta gamma, alpha xray, alpha zulu")]
    assert found == [("alpha beta gamma delta", "C1"), ("alpha beta", "C2"), ("alpha xray", "C3"), ("alpha", "C4")]
    # A phrase's last word ends the sentence; one word short of a phrase is no match of it.
    assert [m.code for m in ann.match("alpha beta gamma")] == ["C2"]
    assert [m.code for m in ann.match("gamma delta alpha")] == ["C4"]
