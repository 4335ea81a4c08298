"""The Open Imaging Finding Models (openimagingdata/findingmodels) as a vocabulary layer.

In: the folder that holds ``defs/*.fm.json`` (or the ``defs`` folder itself). Each file is
one radiology finding: ``oifm_id`` (the code), ``name``, ``synonyms`` and the finding's
own ``index_codes`` (RadLex, SNOMED CT, ... kept as xrefs "RADLEX:RID34539"). The
attributes' codes (presence, size values) are not the finding's and are ignored.

Not every file is a finding: some are anatomy modules ("Thymus", "Cervical Lymph Nodes"),
reporting templates ("BI-RADS", "CT Perfusion") or measurements ("Carina Angle"). The
models' own convention tells them apart: a finding has a ``presence`` attribute (absent /
present / indeterminate; or "presence of" the model's own name: "presence of mastectomy")
or a finding tag (``finding_tags``: "finding", "diagnosis"). A
model with neither is left out (``Layer.extra["left_out"]`` lists their names). Out: a
:class:`~pacsmine.nlp.vocabulary.Layer`. A file that is not valid JSON or has no id and
name is a clear error naming the file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable

from . import Concept, Layer

__all__ = ["load_finding_models", "is_finding"]

# Marks after a name's last word ("gout*", "tail*": the authors' flag) are no part of it.
_TRAILING_MARKS = re.compile(r"[^\w)\]]+$")
_WORD = re.compile(r"[a-z0-9]+")


def is_finding(data: dict, presence: str, finding_tags: Iterable[str]) -> bool:
    """Is a finding model (parsed JSON) a finding: has it an attribute named ``presence``, or
    "presence of X" where X is the model's own name ("presence of mastectomy" in
    "Mastectomy"; not "presence of thymic tissue" in "Thymus"), or a tag among
    ``finding_tags``? Case, underscores and marks are ignored. An empty ``presence``
    switches the test off (every model is a finding)."""
    if not presence:
        return True
    own = set(_WORD.findall(str(data.get("name", "")).lower()))
    for attribute in data.get("attributes") or ():
        words = _WORD.findall(str(attribute.get("name", "")).lower()) if isinstance(attribute, dict) else []
        if words == [presence.lower()] or (words[:2] == [presence.lower(), "of"] and 2 < len(words)
                                           and set(words[2:]) <= own):
            return True
    tags = {str(t).lower() for t in data.get("tags") or ()}
    return bool(tags & {t.lower() for t in finding_tags})


def load_finding_models(folder: str | os.PathLike[str], source: str, presence: str = "",
                        finding_tags: Iterable[str] = ()) -> Layer:
    """Read every ``*.fm.json`` under ``folder``/defs (or ``folder``) as layer ``source``,
    keeping the findings (:func:`is_finding`; ``presence`` "" keeps every model)."""
    folder = Path(folder)
    defs = folder / "defs" if (folder / "defs").is_dir() else folder
    files = sorted(defs.glob("*.fm.json"))
    if not files:
        raise FileNotFoundError(f"no finding models (*.fm.json) in {defs}")
    concepts: dict[str, Concept] = {}
    left_out: list[str] = []
    for path in files:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a finding model JSON file ({exc})") from None
        code, name = data.get("oifm_id"), data.get("name")
        if not isinstance(code, str) or not isinstance(name, str) or not name.strip():
            raise ValueError(f"{path}: a finding model needs an 'oifm_id' and a 'name'")
        if not is_finding(data, presence, finding_tags):
            left_out.append(name.strip())
            continue
        synonyms = tuple(s for s in data.get("synonyms") or () if isinstance(s, str) and s.strip())
        xrefs = tuple(f"{c.get('system', '').upper()}:{c.get('code', '')}" for c in data.get("index_codes") or ()
                      if isinstance(c, dict) and c.get("code"))
        concepts[code] = Concept(code, _TRAILING_MARKS.sub("", name.strip()) or name.strip(), synonyms, xrefs)
    return Layer(source, concepts, path=str(defs), extra={"left_out": left_out})
