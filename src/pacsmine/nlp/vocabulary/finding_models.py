"""The Open Imaging Finding Models (openimagingdata/findingmodels) as a vocabulary layer.

In: the folder that holds ``defs/*.fm.json`` (or the ``defs`` folder itself). Each file is
one radiology finding: ``oifm_id`` (the code), ``name``, ``synonyms`` and the finding's
own ``index_codes`` (RadLex, SNOMED CT, ... kept as xrefs "RADLEX:RID34539"). The
attributes' codes (presence, size values) are not the finding's and are ignored. Out: a
:class:`~pacsmine.nlp.vocabulary.Layer`. A file that is not valid JSON or has no id and
name is a clear error naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import Concept, Layer

__all__ = ["load_finding_models"]


def load_finding_models(folder: str | os.PathLike[str], source: str) -> Layer:
    """Read every ``*.fm.json`` under ``folder``/defs (or ``folder``) as layer ``source``."""
    folder = Path(folder)
    defs = folder / "defs" if (folder / "defs").is_dir() else folder
    files = sorted(defs.glob("*.fm.json"))
    if not files:
        raise FileNotFoundError(f"no finding models (*.fm.json) in {defs}")
    concepts: dict[str, Concept] = {}
    for path in files:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a finding model JSON file ({exc})") from None
        code, name = data.get("oifm_id"), data.get("name")
        if not isinstance(code, str) or not isinstance(name, str) or not name.strip():
            raise ValueError(f"{path}: a finding model needs an 'oifm_id' and a 'name'")
        synonyms = tuple(s for s in data.get("synonyms") or () if isinstance(s, str) and s.strip())
        xrefs = tuple(f"{c.get('system', '').upper()}:{c.get('code', '')}" for c in data.get("index_codes") or ()
                      if isinstance(c, dict) and c.get("code"))
        concepts[code] = Concept(code, name.strip(), synonyms, xrefs)
    return Layer(source, concepts, path=str(defs))
