"""CheXpert labeler phrase lists as a vocabulary layer."""

from __future__ import annotations

import pytest

from conftest import shared_file
from pacsmine.nlp.vocabulary.chexpert import load_chexpert


def test_mention_and_unmention_files(tmp_path):
    mention, unmention = tmp_path / "phrases" / "mention", tmp_path / "phrases" / "unmention"
    mention.mkdir(parents=True)
    unmention.mkdir(parents=True)
    (mention / "pleural_effusion.txt").write_text("pleural fluid\neffusion\n\n", encoding="utf-8")
    (mention / "support_devices.txt").write_text("_line_\ndrain_\n", encoding="utf-8")
    (mention / "no_finding.txt").write_text("emphysema\ncalcifi\n", encoding="utf-8")
    (unmention / "pleural_effusion.txt").write_text("pericardial effusion\n", encoding="utf-8")
    layer = load_chexpert(tmp_path, "chexpert")
    assert layer.prefixes and layer.stop_phrases == ("pericardial effusion",)
    effusion = layer.concepts["CHEXPERT:pleural_effusion"]
    assert (effusion.name, effusion.synonyms) == ("pleural effusion", ("pleural fluid", "effusion"))
    assert layer.concepts["CHEXPERT:support_devices"].synonyms == ("line", "drain")  # underscores dropped
    assert layer.concepts["CHEXPERT:no_finding:emphysema"].name == "emphysema"  # one concept per phrase
    assert "CHEXPERT:no_finding" not in layer.concepts


def test_no_phrases_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_chexpert(tmp_path, "chexpert")


def test_real_chexpert_phrases():
    layer = load_chexpert(shared_file("vocabularies/chexpert_phrases"), "chexpert")
    assert "effusion" in layer.concepts["CHEXPERT:pleural_effusion"].synonyms
    assert "pericardial effusion" in layer.stop_phrases
