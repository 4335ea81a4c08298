"""Any tab-separated term list as a vocabulary layer (the current DO labels, a hospital's list).

In: a ``.tsv`` path with a header row; ``code_column`` and ``name_column`` name the columns
of the code and the preferred name; ``synonym_column`` (optional, "" for none) holds
synonyms separated by ``separator``. Quoted fields ("DOID:0040058") are unquoted. Rows
without a code or a name are skipped. Out: a :class:`~pacsmine.nlp.vocabulary.Layer`. A
missing column is a clear error that names the columns the file has.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from . import Concept, Layer

__all__ = ["load_tsv"]


def load_tsv(path: str | os.PathLike[str], source: str, code_column: str, name_column: str,
             synonym_column: str = "", separator: str = "|") -> Layer:
    """Read a TSV term list as layer ``source``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"term list not found: {path}")
    concepts: dict[str, Concept] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        header = reader.fieldnames or []
        for column in (code_column, name_column) + ((synonym_column,) if synonym_column else ()):
            if column not in header:
                raise ValueError(f"{path}: no column {column!r} (columns: {', '.join(header)})")
        for row in reader:
            code, name = (row.get(code_column) or "").strip(), (row.get(name_column) or "").strip()
            if not code or not name:
                continue
            synonyms: tuple[str, ...] = ()
            if synonym_column:
                synonyms = tuple(s.strip() for s in (row.get(synonym_column) or "").split(separator) if s.strip())
            old = concepts.get(code)
            if old is not None:  # a code listed twice: later names become synonyms
                concepts[code] = Concept(code, old.name, tuple(dict.fromkeys(old.synonyms + (name,) + synonyms)))
            else:
                concepts[code] = Concept(code, name, synonyms)
    return Layer(source, concepts, path=str(path))
