"""MeSH descriptor names of chosen tree branches as a vocabulary layer.

In: the folder with ``terms.tsv`` (``mesh_id``, ``mesh_name``) and ``tree-numbers.tsv``
(``mesh_id``, ``mesh_name``, ``mesh_tree_number``), and the tree prefixes to keep ("C":
diseases, which holds C23, pathological conditions and signs). A descriptor is kept when
any of its tree numbers starts with a kept prefix. Out: a
:class:`~pacsmine.nlp.vocabulary.Layer` with codes "MESH:D010996" and the descriptor names
(no entry terms: the files have none). A name written inverted ("Pain, Abdominal") is named
in its natural order ("Abdominal Pain"), as the other layers write it, and keeps the
inverted form as a synonym: the matcher then merges it with an earlier layer's concept of
that name.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable

from . import Concept, Layer

__all__ = ["load_mesh", "uninvert"]


def uninvert(name: str) -> str:
    """``"Hernia, Hiatal"`` -> ``"Hiatal Hernia"``; a name without a comma is returned as is."""
    parts = [p.strip() for p in name.split(",")]
    return " ".join(reversed(parts)) if len(parts) == 2 and all(parts) else name


def _rows(path: Path) -> Iterable[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh, delimiter="\t")


def load_mesh(folder: str | os.PathLike[str], source: str, trees: Iterable[str]) -> Layer:
    """Read the MeSH descriptors under ``folder`` whose tree numbers start with one of ``trees``."""
    folder = Path(folder)
    terms, numbers = folder / "terms.tsv", folder / "tree-numbers.tsv"
    for path in (terms, numbers):
        if not path.is_file():
            raise FileNotFoundError(f"MeSH file not found: {path}")
    prefixes = tuple(trees)
    keep = {r["mesh_id"] for r in _rows(numbers) if (r.get("mesh_tree_number") or "").startswith(prefixes)}
    concepts: dict[str, Concept] = {}
    for r in _rows(terms):
        mesh_id, name = r.get("mesh_id"), (r.get("mesh_name") or "").strip()
        if mesh_id in keep and name:
            code = f"MESH:{mesh_id}"
            natural = uninvert(name)
            concepts[code] = Concept(code, natural, (name,) if natural != name else ())
    return Layer(source, concepts, path=str(folder))
