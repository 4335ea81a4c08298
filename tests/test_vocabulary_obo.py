"""OBO files as a vocabulary layer."""

from __future__ import annotations

from conftest import shared_file
from pacsmine.nlp.ontology import Ontology, Term
from pacsmine.nlp.vocabulary.obo import layer_from_ontology, load_obo

OBO = """format-version: 1.2
data-version: test/1

[Term]
id: HOSP:1
name: pleural effusion
synonym: "hydrothorax" EXACT []
synonym: "fluid in the chest" BROAD []
xref: MSH:D010996
xref: UMLS_CUI:C0032227 {source="x"}

[Term]
id: HOSP:2
name: old name
is_obsolete: true
"""


def test_obo_layer_codes_names_synonyms(tmp_path):
    path = tmp_path / "h.obo"
    path.write_text(OBO, encoding="utf-8")
    layer = load_obo(path, "hospital", ("EXACT", "RELATED"))
    assert layer.source == "hospital" and layer.version == "test/1" and layer.path == str(path)
    assert list(layer.concepts) == ["HOSP:1"]
    assert layer.concepts["HOSP:1"].synonyms == ("hydrothorax",)
    assert layer.concepts["HOSP:1"].xrefs == ("MSH:D010996", "UMLS_CUI:C0032227")
    assert list(layer.phrases()) == [("pleural effusion", layer.concepts["HOSP:1"], True),
                                     ("hydrothorax", layer.concepts["HOSP:1"], False)]
    assert set(load_obo(path, "h", ("EXACT",), keep_obsolete=True).concepts) == {"HOSP:1", "HOSP:2"}


def test_layer_from_a_loaded_ontology():
    onto = Ontology({"DOID:1": Term("DOID:1", "cyst", ("cysts of x",), obsolete=True)}, source="s", version="v")
    layer = layer_from_ontology(onto, "do_2015")
    c = layer.concepts["DOID:1"]
    assert (c.code, c.name, c.synonyms, c.obsolete, layer.version) == ("DOID:1", "cyst", ("cysts of x",), True, "v")


def test_real_do_2015_layer():
    layer = load_obo(shared_file("disease_ontology/HumanDO.obo"), "do_2015", ("EXACT", "RELATED"))
    assert len(layer) == 6570
    assert layer.concepts["DOID:1673"].name == "pneumothorax"
    assert "MSH:D005909" in layer.concepts["DOID:3068"].xrefs  # glioblastoma multiforme -> MeSH Glioblastoma
