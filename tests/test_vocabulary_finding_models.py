"""Open Imaging Finding Models as a vocabulary layer."""

from __future__ import annotations

import json

import pytest

from conftest import shared_file
from pacsmine.nlp.vocabulary.finding_models import load_finding_models


def write(folder, name, data):
    (folder / "defs").mkdir(parents=True, exist_ok=True)
    (folder / "defs" / name).write_text(json.dumps(data), encoding="utf-8")


def test_finding_model_files(tmp_path):
    write(tmp_path, "a.fm.json", {
        "oifm_id": "OIFM_X_1", "name": "pleural effusion", "synonyms": ["hydrothorax", ""],
        "index_codes": [{"system": "RADLEX", "code": "RID34539"}, {"system": "SNOMED", "code": "60046008"}],
        "attributes": [{"name": "presence", "values": [{"index_codes": [{"system": "RADLEX", "code": "RID28473"}]}]}]})
    write(tmp_path, "b.fm.json", {"oifm_id": "OIFM_X_2", "name": "cardiomegaly"})
    layer = load_finding_models(tmp_path, "finding_models")
    a = layer.concepts["OIFM_X_1"]
    assert (a.name, a.synonyms, a.xrefs) == ("pleural effusion", ("hydrothorax",), ("RADLEX:RID34539", "SNOMED:60046008"))
    assert layer.concepts["OIFM_X_2"].synonyms == ()
    assert load_finding_models(tmp_path / "defs", "fm").concepts.keys() == layer.concepts.keys()


def test_bad_finding_model_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_finding_models(tmp_path, "fm")
    write(tmp_path, "bad.fm.json", {"name": "no id"})
    with pytest.raises(ValueError, match="bad.fm.json"):
        load_finding_models(tmp_path, "fm")


def test_real_finding_models():
    layer = load_finding_models(shared_file("vocabularies/finding_models"), "finding_models")
    assert len(layer) == 2382
    assert sum(len(c.synonyms) for c in layer.concepts.values()) == 2698  # the data README's count
