"""Abbreviation tables."""

from __future__ import annotations

from importlib import resources

import pytest

from pacsmine.nlp.vocabulary.abbreviations import read_abbreviations

TABLE = "# comment\nabbreviation\texpansion\tdefault\nPTX\tpneumothorax\tyes\nPE\tpulmonary embolism\tno\nmets\tmetastasis\tyes\n"


def test_defaults_include_and_exclude():
    assert read_abbreviations(TABLE) == [("PTX", "pneumothorax"), ("mets", "metastasis")]
    assert read_abbreviations(TABLE, include=["pe"], exclude=["METS"]) == [("PTX", "pneumothorax"),
                                                                          ("PE", "pulmonary embolism")]


@pytest.mark.parametrize("bad", ["a\tb\n", "abbreviation\texpansion\tdefault\nPTX\tpneumothorax\tmaybe\n"])
def test_malformed_tables(bad):
    with pytest.raises(ValueError, match="line"):
        read_abbreviations(bad)


def test_packaged_table_has_the_issue_examples_on_by_default():
    text = resources.files("pacsmine.nlp").joinpath("rules", "terms_abbreviations.tsv").read_text("utf-8")
    on = {a.lower() for a, _ in read_abbreviations(text)}
    assert {"uti", "ptx", "hcc", "mets"} <= on and "pe" not in on and "mi" not in on
