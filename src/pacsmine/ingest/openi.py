"""Readers of the OpenI / Indiana University chest X-ray reports.

Two forms of the same collection:

* the XML files, one ``<eCitation>`` document per study, with
  ``MedlineCitation/Article/Abstract/AbstractText Label="FINDINGS"`` (and INDICATION,
  COMPARISON, IMPRESSION), the hand-coded ``MeSH/major`` and ``MeSH/minor`` terms and
  one ``parentImage id=...`` per image;
* the CSV form ``indiana_reports.csv`` (``uid, MeSH, Problems, image, indication,
  comparison, findings, impression``).

Both yield the canonical report rows of :mod:`pacsmine.ingest.reports`: accession and
patient id are the study's uid (the collection is de-identified per study), the text is
composed as ``"INDICATION: ...\\nFINDINGS: ..."`` from the sections written, modality and
body part come from ``config["openi"]``, and the MeSH/Problems terms become ``labels``.
Neither form holds a study date (the XML's ``PubDate``, 2013-08-01 for every file, is
the collection's publication date), so ``study_date`` is null.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

__all__ = ["compose_text", "iter_openi_csv", "iter_openi_xml", "parse_ecitation"]


def compose_text(sections: dict[str, str | None], order: list[str], required: list[str]) -> str | None:
    """``"LABEL: text"`` lines of the non-empty ``sections`` in ``order``.

    None when none of the ``required`` sections is written (a request without a report).
    """
    clean = {k.upper(): (v or "").strip() for k, v in sections.items()}
    if required and not any(clean.get(name) for name in required):
        return None
    lines = [f"{name}: {clean[name]}" for name in order if clean.get(name)]
    return "\n".join(lines) or None


def _split_labels(values: list[str | None], separator: str = ";") -> list[str] | None:
    labels: list[str] = []
    for value in values:
        for item in (value or "").split(separator):
            item = item.strip()
            if item and item not in labels:
                labels.append(item)
    return labels or None


def iter_openi_csv(path: Path, config: dict[str, Any], decoder=None) -> Iterator[dict[str, Any]]:
    """Report rows of ``indiana_reports.csv`` (``config`` is the ingest section; ``decoder``
    a :class:`~pacsmine.ingest.decode.TextDecoder`, default UTF-8 with U+FFFD)."""
    from .reports import iter_csv_rows

    openi = config["openi"]
    for raw in iter_csv_rows(path, decoder=decoder):
        if "reject" in raw:
            yield raw
            continue
        uid = (raw.get("uid") or "").strip() or None
        sections = {name: raw.get(name.lower()) for name in openi["sections"]}
        yield {
            "accession": uid,
            "patient_id": uid,
            "modality": openi["modality"],
            "body_part": openi["body_part"],
            "study_date": None,
            "text": compose_text(sections, openi["sections"], openi["required_sections"]),
            "labels": _split_labels([raw.get(field) for field in openi["label_fields"]]),
            "source": raw["source"],
            "key": uid or raw["key"],
        }


def parse_ecitation(xml: bytes | str) -> dict[str, Any]:
    """The fields of one OpenI ``<eCitation>`` document.

    Returns ``uid`` (IUXRId, else uId without its "CXR" prefix), ``sections``
    (label -> text), ``mesh`` (major then minor terms), ``images`` (parentImage ids)
    and ``published`` (PubDate as YYYY-MM-DD where given: the collection's publication
    date, not the study's). Raises ``ValueError`` on XML that is not an eCitation.
    """
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    if root.tag != "eCitation":
        raise ValueError(f"root element is <{root.tag}>, not <eCitation>")
    uid = None
    node = root.find("IUXRId")
    if node is not None and node.get("id"):
        uid = node.get("id").strip()
    else:
        node = root.find("uId")
        if node is not None and node.get("id"):
            uid = node.get("id").strip().removeprefix("CXR")
    sections: dict[str, str] = {}
    for text in root.iter("AbstractText"):
        label = (text.get("Label") or "").strip().upper()
        if label:
            sections[label] = "".join(text.itertext()).strip()
    mesh = [(m.text or "").strip() for tag in ("major", "minor") for m in root.iter(tag)]
    images = [img.get("id") for img in root.iter("parentImage") if img.get("id")]
    published = None
    pub = root.find(".//PubDate")
    if pub is not None and pub.findtext("Year"):
        parts = [pub.findtext("Year"), pub.findtext("Month"), pub.findtext("Day")]
        published = "-".join(p.strip().zfill(2) for p in parts if p and p.strip().isdigit()) or None
    return {"uid": uid, "sections": sections, "mesh": [m for m in mesh if m], "images": images,
            "published": published}


def iter_openi_xml(folder: Path, config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Report rows of every eCitation ``*.xml`` below ``folder`` (sorted, streamed).

    A file that does not parse is yielded as an ``unreadable_file`` reject; a link that
    leaves ``folder``, dangles or names a folder as the reject of :mod:`pacsmine.ingest.paths`.
    """
    from .images import walk_files
    from .paths import confinement

    folder = Path(folder)
    root = folder.resolve()
    openi = config["openi"]
    for path in walk_files(folder):
        if path.suffix.lower() != ".xml":
            continue
        source = str(path.relative_to(folder))
        problem = confinement(root, path) if path.is_symlink() else None
        if problem is not None:
            yield {"reject": problem, "source": source, "key": path.stem}
            continue
        try:
            doc = parse_ecitation(path.read_bytes())
        except Exception as exc:  # any parse failure is a reject, never a crash
            yield {"reject": ("unreadable_file", f"{type(exc).__name__}: {exc}"), "source": source, "key": path.stem}
            continue
        uid = doc["uid"] or path.stem
        yield {
            "accession": uid,
            "patient_id": uid,
            "modality": openi["modality"],
            "body_part": openi["body_part"],
            "study_date": None,  # the XML has none (PubDate is the collection's)
            "text": compose_text(doc["sections"], openi["sections"], openi["required_sections"]),
            "labels": doc["mesh"] or None,
            "source": source,
            "key": uid,
        }
