"""OWL ontologies (RDF/XML, as RadLex is published) as a vocabulary layer, read by pronto.

In: an ``.owl`` path and the synonym scopes to keep. Out: a
:class:`~pacsmine.nlp.vocabulary.Layer`: each class with a label is a concept whose code is
the last segment of its IRI ("http://radlex.org/RID/RID4872" -> "RID4872") and whose
synonyms are the oboInOwl synonyms of the kept scopes. Obsolete (deprecated) classes are
left out.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterable

from . import Concept, Layer

__all__ = ["load_owl"]


def _short(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[1] or iri
    return iri


def load_owl(path: str | os.PathLike[str], source: str, synonym_types: Iterable[str]) -> Layer:
    """Read an OWL file with pronto as layer ``source``."""
    import pronto

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"OWL file not found: {path}")
    scopes = {s.upper() for s in synonym_types}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pronto warns about every unsupported annotation
        onto = pronto.Ontology(str(path))
    concepts: dict[str, Concept] = {}
    for term in onto.terms():
        if term.obsolete or not term.name:
            continue
        code = _short(term.id)
        synonyms = tuple(dict.fromkeys(s.description for s in term.synonyms if s.scope in scopes and s.description))
        concepts[code] = Concept(code, term.name, synonyms)
    return Layer(source, concepts, path=str(path))
