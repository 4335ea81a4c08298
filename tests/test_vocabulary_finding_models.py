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


def test_only_findings_are_kept(tmp_path):
    presence = [{"name": "Presence", "values": []}]
    write(tmp_path, "a.fm.json", {"oifm_id": "A", "name": "gout*", "attributes": presence})
    write(tmp_path, "b.fm.json", {"oifm_id": "B", "name": "Thymus", "attributes": [{"name": "presence of thymic tissue"}]})
    write(tmp_path, "c.fm.json", {"oifm_id": "C", "name": "bone island", "tags": ["MSK", "Finding"]})
    write(tmp_path, "d.fm.json", {"oifm_id": "D", "name": "BI-RADS", "attributes": [{"name": "assessment category"}]})
    write(tmp_path, "e.fm.json", {"oifm_id": "E", "name": "Arterial Stent", "attributes": [{"name": "presence_of_arterial stent"}]})
    layer = load_finding_models(tmp_path, "fm", "presence", ["finding", "diagnosis"])
    # A presence attribute or a finding tag makes a finding; the authors' trailing mark goes.
    assert {c: x.name for c, x in layer.concepts.items()} == {"A": "gout", "C": "bone island", "E": "Arterial Stent"}
    assert layer.extra["left_out"] == ["Thymus", "BI-RADS"]
    assert len(load_finding_models(tmp_path, "fm")) == 5  # no presence name: every model


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
    findings = load_finding_models(shared_file("vocabularies/finding_models"), "fm", "presence", ["finding", "diagnosis"])
    left_out = findings.extra["left_out"]
    assert len(findings) + len(left_out) == 2382 and {"Thymus", "Cervical Lymph Nodes", "BI-RADS"} <= set(left_out)
    assert not {"Pleural Effusion", "Mastectomy", "Coronary Stent"} & set(left_out)
