"""Tab-separated term lists as a vocabulary layer."""

from __future__ import annotations

import pytest

from conftest import shared_file
from pacsmine.nlp.vocabulary.tsv import load_tsv


def test_columns_quotes_synonyms_and_repeated_codes(tmp_path):
    path = tmp_path / "list.tsv"
    path.write_text('code\tname\tsyn\n"H1"\t"pleural effusion"\thydrothorax|fluid\nH2\tnodule\t\n'
                    "\tno code\t\nH1\teffusion\t\n", encoding="utf-8")
    layer = load_tsv(path, "hospital", "code", "name", "syn", "|")
    assert sorted(layer.concepts) == ["H1", "H2"]
    assert layer.concepts["H1"].name == "pleural effusion"
    assert layer.concepts["H1"].synonyms == ("hydrothorax", "fluid", "effusion")
    assert load_tsv(path, "h", "code", "name").concepts["H1"].synonyms == ("effusion",)


def test_missing_column_names_the_columns(tmp_path):
    path = tmp_path / "list.tsv"
    path.write_text("id\tlabel\nX\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match="columns: id, label"):
        load_tsv(path, "h", "code", "label")


def test_real_current_do_labels():
    layer = load_tsv(shared_file("vocabularies/disease_ontology_current/HumanDO.tsv"), "do_current", "id", "label")
    assert len(layer) == 12246 and all(code.startswith("DOID:") for code in layer.concepts)
