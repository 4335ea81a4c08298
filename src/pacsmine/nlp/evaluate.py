"""Scoring ``extract`` against a phantom's ground truth (``truth/references.parquet``,
``truth/mentions.parquet``; docs/export.md).

References are scored as sets, at three levels:

* ``cited`` - the (accession, series, instance) images the text cites; where the text
  gives no series, the series of the image it was linked to (an unresolved
  image-only reference counts as a false positive);
* ``linked`` - only the references linked to an archived image: are the key images right;
* ``sentences`` - (accession, sentence text, series, instance): is each image
  attributed to the right sentence (white space normalised).

Negation/uncertainty are scored by part B's
:func:`pacsmine.nlp.negation.score_mentions`.

Whether or not there is a truth folder, reports whose ``labels`` (ingest/reports.parquet:
hand-coded terms a real export carries, e.g. the OpenI MeSH/Problems) are set are scored
per report and concept by :func:`pacsmine.nlp.assertion_eval.evaluate_iu_reports` (``"labels"``;
docs/terms.md, "Scoring against an export's labels").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..workspace import Workspace

__all__ = ["evaluate_extract", "score_labels", "set_scores"]

# Sections that state the clinical question or the technique, not what the report finds:
# hand-coded labels describe the findings, so mentions there are not scored against them.
UNLABELLED_SECTIONS = ("HISTORY", "INDICATION", "TECHNIQUE", "COMPARISON")

# Named in the result so that a reader knows what the figures mean (docs/terms.md tells more).
LABELS_METHOD = ("report x DO concept (assertion_eval.evaluate_iu_reports): the stage's mentions outside "
                 + "/".join(UNLABELLED_SECTIONS) + " vs the labels' DOIDs through the stage's matcher")


def set_scores(predicted: set, truth: set) -> dict[str, Any]:
    """Precision, recall, F1 and counts of a predicted set against a true set."""
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else None
    r = tp / len(truth) if truth else None
    f1 = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
    return {"precision": _round(p), "recall": _round(r), "f1": _round(f1), "tp": tp,
            "fp": len(predicted) - tp, "fn": len(truth) - tp}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _series_of(image_id: str | None) -> int | None:
    if not image_id:
        return None
    try:
        return int(image_id.rsplit("/", 2)[1])
    except (IndexError, ValueError):
        return None


def evaluate_extract(ws: Workspace, truth: Path | None) -> dict[str, Any]:
    """Scores of the workspace's ``extract`` stage (``{"truth": None, ...counts}``
    without a truth folder)."""
    metrics = ws.metrics("extract") or {}
    counts = {
        "references_total": (metrics.get("references") or {}).get("total"),
        "link_rate": metrics.get("link_rate"),
        "key_images": metrics.get("key_images"),
        "terms": metrics.get("terms"),
    }
    labels = score_labels(ws)
    extra = {"labels": labels} if labels is not None else {}
    if truth is None:
        return {"truth": None, **counts, **extra}
    truth = Path(truth)
    out: dict[str, Any] = {"truth": str(truth), **counts, **extra}
    ext = ws.stage_dir("extract")
    refs = pq.read_table(ext / "references.parquet").to_pylist()
    truth_refs_path = truth / "references.parquet"
    if truth_refs_path.exists():
        truth_refs = pq.read_table(truth_refs_path).to_pylist()
        # Only the citing sentences' texts are needed: stream the sentences table.
        wanted = {(r["accession"], r["sentence_index"]) for r in refs}
        text_of: dict[tuple[str, int], str] = {}
        for batch in pq.ParquetFile(ext / "sentences.parquet").iter_batches(columns=["accession", "sentence_index", "text"]):
            for a, i, t in zip(*(batch.column(c).to_pylist() for c in ("accession", "sentence_index", "text"))):
                if (a, i) in wanted:
                    text_of[(a, i)] = _norm(t)
        cited, linked, attributed = set(), set(), set()
        for r in refs:
            series = r["series"] if r["series"] is not None else _series_of(r["image_id"])
            key = (r["accession"], series, r["instance"])
            cited.add(key)
            if r["status"] == "linked":
                linked.add((r["accession"], _series_of(r["image_id"]), r["instance"]))
            attributed.add((r["accession"], text_of.get((r["accession"], r["sentence_index"]), ""), series, r["instance"]))
        t_cited = {(t["accession"], t["series"], t["instance"]) for t in truth_refs}
        t_attr = {(t["accession"], _norm(t["sentence"]), t["series"], t["instance"]) for t in truth_refs}
        t_no_series = {(t["accession"], t["series"], t["instance"]) for t in truth_refs if not t.get("series_written", True)}
        out["references"] = {
            "cited": set_scores(cited, t_cited),
            "linked": set_scores(linked, t_cited),
            "sentences": set_scores(attributed, t_attr),
            "image_only_recall": _round(len(t_no_series & cited) / len(t_no_series)) if t_no_series else None,
        }
    mentions_path = truth / "mentions.parquet"
    if mentions_path.exists():
        try:
            from .negation import score_mentions
        except ImportError as exc:  # part B's scorer not installed: say so, score the rest
            out["negation"] = {"error": f"score_mentions unavailable: {exc}"}
        else:
            terms = pq.read_table(ext / "terms.parquet")
            out["negation"] = score_mentions(terms, pq.read_table(ext / "sentences.parquet"), pq.read_table(mentions_path))
    return out


def score_labels(ws: Workspace) -> dict[str, Any] | None:
    """The stage's disease mentions against the reports' hand-coded ``labels``, or None
    when no report carries labels.

    The labels are mapped to DOIDs by the matcher the stage itself used (rebuilt from the
    extract manifest's ``terms`` settings), so a missing ontology file is reported as
    ``{"error": ...}`` rather than scored with another vocabulary.
    """
    reports_path = ws.stage_dir("ingest") / "reports.parquet"
    if not reports_path.exists() or "labels" not in pq.read_schema(reports_path).names:
        return None
    reports = pq.read_table(reports_path, columns=["accession", "text", "labels"])
    n_labelled = reports.num_rows - reports.column("labels").null_count
    if n_labelled == 0:
        return None
    out: dict[str, Any] = {"method": LABELS_METHOD, "reports_labelled": n_labelled}
    from .assertion_eval import evaluate_iu_reports, iu_reports_from_tables
    from .terms import TermAnnotator

    section = ((ws.manifest("extract") or {}).get("config") or {}).get("terms")
    if section is None:  # a manifest without its settings: the defaults the stage would have used
        from ..config import load_config

        section = load_config()["extract"]["terms"]
    try:
        annotator = TermAnnotator.from_config(section)
    except (OSError, ValueError) as exc:
        return out | {"error": f"the stage's term matcher could not be rebuilt: {exc}"}
    ext = ws.stage_dir("extract")
    sentences = pq.read_table(ext / "sentences.parquet", columns=["accession", "sentence_index", "text", "section"])
    terms = pq.read_table(ext / "terms.parquet", columns=["accession", "sentence_index", "doid", "negated", "uncertain"])
    labelled = iu_reports_from_tables(reports, sentences, skip_sections=UNLABELLED_SECTIONS)
    res = evaluate_iu_reports(labelled, annotator.context_, annotator, mentions=terms)
    scored = res["ontology"]
    out.update({
        "reports_normal": sum(1 for x in reports.column("labels").to_pylist()
                              if x and {v.split("/")[0].strip().lower() for v in x} == {"normal"}),
        "present": scored["present"], "negation": scored["negation"], "concepts_scored": scored["n"],
        "labelled_concepts": scored["labelled"],
        "oracle": res["oracle"],
    })
    return out
