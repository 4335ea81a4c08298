"""Readers of the public radiology data sets used to measure assertion on real text.

* :func:`read_ct_findings`: ``ct_findings/reports/*.md`` (openimagingdata/CDEStaging): chest CT
  FINDINGS sections, each followed by hand-made extractions (finding, ``presence``).
* :func:`read_iu_reports`: ``iu_xray/indiana_reports.csv`` (NLM OpenI): chest X-ray reports with
  hand-coded ``MeSH`` and ``Problems``.
* :func:`read_finding_synonyms`: ``vocabularies/finding_models/defs/*.fm.json`` (Open Imaging
  Finding Models): each finding's name with its synonyms, used to locate a labelled finding
  that the report writes in other words.

Readers only read: they yield plain dicts and lists, and score nothing (that is
:mod:`pacsmine.nlp.assertion_eval`).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Iterator

__all__ = ["read_ct_findings", "read_iu_reports", "read_finding_synonyms"]

_LINK = re.compile(r"^\s*- \[([^\]]+)\]")  # a linked finding, also where mis-indented
_BARE = re.compile(r"^- ([^\[\\(]+)")
# The presence key as the extractions write it, misspellings included ("Presence", "present:",
# "presece", "resence", "presence absent", "presence; absent"), or a bare "- absent" sub-item;
# a "severity: absent" line also says the finding is absent.
_PRESENCE = re.compile(r"^\s*-?\s*(?:presence|present|presece|resence)\b\s*[:;]?\s*(\w+)", re.IGNORECASE)
_BARE_VALUE = re.compile(r"^\s+-\s*(absent|present)\s*$", re.IGNORECASE)
_SEVERITY_ABSENT = re.compile(r"^\s*-?\s*severity\s*:\s*absent\b", re.IGNORECASE)


_KEY_IMAGES = re.compile(r"\s*- (?:series image|image series|seies image):\s*(.*)")
_PAIR = re.compile(r"(\d+)\s?:\s?(\d+)")


def read_ct_findings(folder: str | Path) -> Iterator[dict]:
    """Yield ``{"report", "text", "findings": [(finding name, "absent"|"present"), ...],
    "key_images": {(series, image), ...}}`` per
    ``*.md`` file of ``folder``, in file-name order. ``text`` is the report's fenced
    ``text`` block; the findings are the list under "## Extracted Findings". A finding
    listed without a presence line is described (location, size), so it counts as present;
    misspelt values ("absnet", "prsent") are read by their start; any other value leaves
    the finding out. The presence key is read in any case and in its misspellings of the
    data ("Presence", "present", "presece", "resence"), with a colon, a semicolon or neither,
    and a bare "- absent" sub-item; "severity: absent" marks the finding absent too. The key
    images are the extractions' "series image: 13:141" lines (also "image series", "seies
    image"), the hand-made truth of the key-image references."""
    for path in sorted(Path(folder).glob("*.md")):
        raw = path.read_text("utf-8")
        if "```text" not in raw:
            continue
        text = raw.split("```text", 1)[1].split("```", 1)[0]
        section = re.split(r"^## Extracted Findings\s*$", raw, flags=re.IGNORECASE | re.MULTILINE)
        body = section[1] if len(section) > 1 else ""
        body = re.split(r"^## ", body, flags=re.MULTILINE)[0]
        findings: list[list[str]] = []
        for line in body.splitlines():
            m = _LINK.match(line) or _BARE.match(line)
            if m:
                findings.append([m.group(1).strip(), "present"])
                continue
            if _SEVERITY_ABSENT.match(line) and findings:
                findings[-1][1] = "absent"
                continue
            p = _PRESENCE.match(line) or _BARE_VALUE.match(line)
            if p and findings:
                value = p.group(1).lower()
                if value.startswith("ab"):
                    findings[-1][1] = "absent"
                elif value.startswith("pr"):
                    findings[-1][1] = "present"
                else:
                    findings[-1][1] = ""
        key_images = {(int(a), int(b)) for line in body.splitlines() if (k := _KEY_IMAGES.match(line))
                      for a, b in _PAIR.findall(k.group(1))}
        yield {"report": path.stem, "text": text, "findings": [(f, s) for f, s in findings if s],
               "key_images": key_images}


def read_iu_reports(csv_path: str | Path) -> Iterator[dict]:
    """Yield ``{"report", "text" (findings + impression), "problems": set of lower-case
    Problems headings, "mesh": list of MeSH strings, "normal": bool}`` per CSV row with text
    ("normal" is left out of ``problems`` and ``mesh`` and sets ``normal``)."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = " ".join(x for x in (row.get("findings", ""), row.get("impression", "")) if x)
            if not text.strip():
                continue
            problems = {p.strip().lower() for p in (row.get("Problems") or "").split(";") if p.strip()}
            yield {
                "report": row.get("uid", ""),
                "text": text,
                "problems": problems - {"normal"},
                "mesh": [m.strip() for m in (row.get("MeSH") or "").split(";")
                         if m.strip() and m.strip().lower() != "normal"],
                "normal": problems == {"normal"},
            }


def read_finding_synonyms(folder: str | Path) -> list[list[str]]:
    """``[[name, synonym, ...], ...]``: one list per ``*.fm.json`` finding model in
    ``folder`` (name first, then its ``synonyms``), in file-name order; files without a
    name are skipped."""
    out = []
    for path in sorted(Path(folder).glob("*.fm.json")):
        data = json.loads(path.read_text("utf-8"))
        name = (data.get("name") or "").strip()
        if name:
            out.append([name] + [s.strip() for s in data.get("synonyms") or () if s and s.strip()])
    return out
