"""OWL (RDF/XML) files as a vocabulary layer, read by pronto."""

from __future__ import annotations

import pytest

from pacsmine.nlp.vocabulary.owl import load_owl

OWL = """<?xml version="1.0"?>
<rdf:RDF xmlns="http://example.org/t#" xml:base="http://example.org/t"
  xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:owl="http://www.w3.org/2002/07/owl#"
  xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
  xmlns:oboInOwl="http://www.geneontology.org/formats/oboInOwl#">
  <owl:Ontology rdf:about="http://example.org/t"/>
  <owl:Class rdf:about="http://radlex.org/RID/RID4872">
    <rdfs:label>pleural effusion</rdfs:label>
    <oboInOwl:hasExactSynonym>hydrothorax</oboInOwl:hasExactSynonym>
    <oboInOwl:hasBroadSynonym>chest fluid</oboInOwl:hasBroadSynonym>
  </owl:Class>
  <owl:Class rdf:about="http://radlex.org/RID/RID5352">
    <rdfs:label>pneumothorax</rdfs:label>
  </owl:Class>
  <owl:Class rdf:about="http://radlex.org/RID/RID0001">
    <rdfs:label>retired term</rdfs:label>
    <owl:deprecated rdf:datatype="http://www.w3.org/2001/XMLSchema#boolean">true</owl:deprecated>
  </owl:Class>
</rdf:RDF>
"""


def test_owl_classes_labels_and_synonyms(tmp_path):
    path = tmp_path / "radlex.owl"
    path.write_text(OWL, encoding="utf-8")
    layer = load_owl(path, "radlex", ("EXACT", "RELATED"))
    assert layer.source == "radlex"
    assert sorted(layer.concepts) == ["RID4872", "RID5352"]  # IRI's last segment; deprecated left out
    assert layer.concepts["RID4872"].name == "pleural effusion"
    assert layer.concepts["RID4872"].synonyms == ("hydrothorax",)


def test_missing_owl_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_owl(tmp_path / "none.owl", "x", ())
