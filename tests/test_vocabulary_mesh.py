"""MeSH descriptors of chosen trees as a vocabulary layer."""

from __future__ import annotations

import pytest

from conftest import shared_file
from pacsmine.nlp.vocabulary.mesh import load_mesh, uninvert


def test_tree_prefixes_and_natural_order(tmp_path):
    (tmp_path / "terms.tsv").write_text(
        "mesh_id\tmesh_name\nD1\tHernia, Hiatal\nD2\tLung\nD3\tCardiomegaly\n", encoding="utf-8")
    (tmp_path / "tree-numbers.tsv").write_text(
        "mesh_id\tmesh_name\tmesh_tree_number\nD1\tHernia, Hiatal\tC06.405.117\n"
        "D2\tLung\tA04.411\nD3\tCardiomegaly\tC14.280.195\nD3\tCardiomegaly\tC23.300.775\n", encoding="utf-8")
    layer = load_mesh(tmp_path, "mesh", ["C"])
    assert sorted(layer.concepts) == ["MESH:D1", "MESH:D3"]  # anatomy (A) left out
    # named in natural order, as the other layers write it; the inverted form is a synonym
    assert (layer.concepts["MESH:D1"].name, layer.concepts["MESH:D1"].synonyms) == ("Hiatal Hernia", ("Hernia, Hiatal",))
    assert sorted(load_mesh(tmp_path, "mesh", ["C23"]).concepts) == ["MESH:D3"]


def test_uninvert():
    assert uninvert("Pulmonary Disease, Chronic Obstructive") == "Chronic Obstructive Pulmonary Disease"
    assert uninvert("Cardiomegaly") == "Cardiomegaly"


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_mesh(tmp_path, "mesh", ["C"])


def test_real_mesh_tree_c():
    layer = load_mesh(shared_file("vocabularies/mesh_2015"), "mesh", ["C"])
    names = {c.name for c in layer.concepts.values()}
    assert {"Cardiomegaly", "Pleural Effusion", "Pulmonary Atelectasis"} <= names and "Lung" not in names
