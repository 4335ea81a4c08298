"""Scoring ``extract`` against a phantom's ground truth (``truth/references.parquet``,
``truth/mentions.parquet``; docs/export.md).

References are scored as sets, at three levels:

* ``cited`` - the (accession, series, instance) images the text cites; where the text
  gives no series, the series of the image it was linked to (an unresolved
  image-only reference counts as a false positive);
* ``linked`` - only the references linked to an archived image: are the key images right;
* ``sentences`` - (accession, sentence text, series, instance): is each image
  attributed to the right sentence (white space normalised).

Mentions are scored by :func:`score_mentions`: a predicted mention counts only when its
concept (the stage's ``name``) is, compared by :func:`concept_key` (case, plural, word
order), the truth's concept (a Disease Ontology name, phantom/diseases.toml, or a finding or
symptom of phantom/findings.toml), one of the other names the truth accepts for it
(``names``) or the one its written term names, in the same sentence; its assertion is then
scored. Detection is also given per concept family (disease / finding / symptom), with the
unmatched predictions attributed to the family of the concept they name. Where the truth
marks a ``phenomenon`` (every phantom since the hard mode; docs/phantom.md), mentions and
references are also scored per phenomenon, and the hard phantom's distractor sentences
(``truth/distractors.parquet``: "Dr.", clock times, ratios, citations, prior-exam
references) count the references read in them.

Whether or not there is a truth folder, reports whose ``labels`` (ingest/reports.parquet:
hand-coded terms a real export carries, e.g. the OpenI MeSH/Problems) are set are scored
per report and concept by :func:`pacsmine.nlp.assertion_eval.evaluate_iu_reports` (``"labels"``;
docs/terms.md, "Scoring against an export's labels").
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..workspace import Workspace

__all__ = ["evaluate_extract", "score_labels", "set_scores", "binary_scores", "score_mentions",
           "norm_concept", "concept_key", "predicted_status", "score_distractors"]

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


def binary_scores(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    """Precision, recall and F1 with their counts (0.0 where undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def _norm_sentence(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())


_NON_WORD = re.compile(r"[^a-z0-9]+")


def norm_concept(name: str | None) -> str:
    """A concept name compared case-, accent- and punctuation-blind: "Liver  Cirrhosis," ->
    "liver cirrhosis"."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", name or "").lower()).strip()


def _singular(word: str) -> str:
    """A plural word's singular by the English endings concept names use ("metastases" ->
    "metastasis", "nodules" -> "nodule", "masses" -> "mass", "cavities" -> "cavity",
    "calculi" -> "calculus"); other words unchanged."""
    if len(word) <= 3:
        return word
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ases", "oses", "ises")):
        return word[:-2] + "is"
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("uli", "oli")):
        return word[:-1] + "us"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def concept_key(name: str | None) -> str:
    """A concept name compared case-, punctuation-, plural- and word-order-blind:
    "Pain, Abdominal" and "abdominal pains" -> "abdominal pain"; "Metastases, Osseous" ->
    "metastasis osseous"."""
    return " ".join(sorted(_singular(w) for w in norm_concept(name).split()))


def _same_sentence(predicted: str, truth: str) -> bool:
    """The stage's sentence and the truth's are the same sentence: equal, or one holds the
    other (a wrapped or run-on sentence the splitter cut or joined differently)."""
    return predicted == truth or bool(predicted and truth and (predicted in truth or truth in predicted))


def predicted_status(row: dict) -> str:
    """A predicted mention's status: its ``status`` where the stage writes one, else from
    the flags (negated -> absent, uncertain -> uncertain, historical -> historical)."""
    if row.get("status"):
        return row["status"]
    if row.get("negated"):
        return "absent"
    if row.get("uncertain"):
        return "uncertain"
    if row.get("historical"):
        return "historical"
    return "present"


def score_mentions(terms, sentences, truth_mentions) -> dict[str, Any]:
    """Score predicted mentions against a phantom's truth.

    ``terms``: extract/terms.parquet (accession, sentence_index, start, name, negated,
    uncertain, historical, optionally status); ``sentences``: extract/sentences.parquet
    (accession, sentence_index, text); ``truth_mentions``: truth/mentions.parquet
    (accession, sentence, term, concept, status, optionally phenomenon). All pyarrow Tables.

    A prediction and a true mention align when they are in the same accession, in the same
    sentence (white space and case normalised; one may hold the other) and the
    prediction's ``name`` is, by :func:`concept_key`, the true ``concept``, one of its
    accepted ``names`` (optional list column) or the concept that the written ``term``
    itself names (the phantom writes "lung cancer", a DO name of its own, for lung
    carcinoma); a shared word is not enough. Each is used once, true mentions in table
    order taking the first free prediction in text order. Predictions in accessions the
    truth does not cover are left out.

    Returns ``{"detection": {precision, recall, f1, tp, fp, fn}, "negation": ...,
    "uncertainty": ..., "historical": ..., "aligned": n, "status_accuracy": share of
    aligned pairs with the true status}``; negation counts aligned pairs only, positive =
    absent (uncertainty: uncertain; historical: historical). With a ``family`` column,
    ``"detection_by_family"`` gives detection per family (tp and fn by the true mention's
    family; an unmatched prediction is a false positive of ``"inside_true_term"`` when its
    text lies inside a longer true term of its sentence (a part of a longer phrase:
    "metastasis" in "adrenal metastasis"), else of the family of the truth concept it names
    anywhere in the truth, else of ``"no_phantom_concept"``), and ``"unmatched_names"`` the ten
    most frequent unmatched predicted names -> their counts. With a ``phenomenon``
    column, ``"by_phenomenon"`` maps each to ``{"mentions", "detected" (recall),
    "status_correct" (share of the detected with the true status), "end_to_end" (share
    of all with a detection of the true status)}``.
    """
    sentence_text = {
        (r["accession"], r["sentence_index"]): _norm_sentence(r["text"])
        for r in sentences.select(["accession", "sentence_index", "text"]).to_pylist()
    }
    truth_rows = truth_mentions.to_pylist()
    truth_by_acc: dict[str, list[dict]] = {}
    for row in truth_rows:
        truth_by_acc.setdefault(row["accession"], []).append(row)
    pred_by_acc: dict[str, list[dict]] = {}
    n_pred = 0
    for row in terms.to_pylist():
        if row["accession"] not in truth_by_acc:
            continue  # a report the truth does not cover cannot be scored
        n_pred += 1
        row["_sentence"] = sentence_text.get((row["accession"], row["sentence_index"]), "")
        row["_concept"] = concept_key(row.get("name"))
        pred_by_acc.setdefault(row["accession"], []).append(row)

    pairs: list[tuple[dict, dict]] = []
    unmatched: list[dict] = []
    for acc, truths in truth_by_acc.items():
        preds = sorted(pred_by_acc.get(acc, []), key=lambda r: (r["sentence_index"], r.get("start") or 0))
        used = [False] * len(preds)
        for truth in truths:
            names = _accepted(truth)
            sentence = _norm_sentence(truth["sentence"])
            truth["_sentence"] = sentence
            truth["_pred"] = None
            for i, pred in enumerate(preds):
                if not used[i] and pred["_concept"] in names and _same_sentence(pred["_sentence"], sentence):
                    used[i] = True
                    truth["_pred"] = pred
                    pairs.append((pred, truth))
                    break
        unmatched += [p for i, p in enumerate(preds) if not used[i]]
    matched = len(pairs)
    out: dict[str, Any] = {"detection": binary_scores(matched, n_pred - matched, len(truth_rows) - matched),
                           "aligned": matched}
    if "family" in truth_mentions.column_names:
        out["detection_by_family"] = _by_family(truth_rows, truth_by_acc, unmatched)
        counts: dict[str, int] = {}
        for p in unmatched:
            counts[p.get("name") or ""] = counts.get(p.get("name") or "", 0) + 1
        out["unmatched_names"] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
    for name, flag, status in (("negation", "negated", "absent"), ("uncertainty", "uncertain", "uncertain"),
                               ("historical", "historical", "historical")):
        tp = sum(1 for p, t in pairs if p[flag] and t["status"] == status)
        fp = sum(1 for p, t in pairs if p[flag] and t["status"] != status)
        fn = sum(1 for p, t in pairs if not p[flag] and t["status"] == status)
        out[name] = binary_scores(tp, fp, fn)
    right = sum(1 for p, t in pairs if predicted_status(p) == t["status"])
    out["status_accuracy"] = _round(right / matched) if matched else None
    if "phenomenon" in truth_mentions.column_names:
        groups: dict[str, list[dict]] = {}
        for t in truth_rows:
            groups.setdefault(t["phenomenon"] or "", []).append(t)
        by: dict[str, Any] = {}
        for phenomenon in sorted(groups):
            rows = groups[phenomenon]
            found = [t for t in rows if t["_pred"] is not None]
            correct = sum(1 for t in found if predicted_status(t["_pred"]) == t["status"])
            by[phenomenon] = {"mentions": len(rows), "detected": _round(len(found) / len(rows)),
                              "status_correct": _round(correct / len(found)) if found else None,
                              "end_to_end": _round(correct / len(rows))}
        out["by_phenomenon"] = by
    return out


def _accepted(truth: dict) -> set[str]:
    """The concept keys a prediction may name to match one true mention."""
    names = {concept_key(truth["concept"]), concept_key(truth["term"])}
    names.update(concept_key(n) for n in truth.get("names") or ())
    return names


INSIDE_TRUE_TERM = "inside_true_term"
NOT_A_PHANTOM_CONCEPT = "no_phantom_concept"


def _by_family(truth_rows: list[dict], truth_by_acc: dict[str, list[dict]], unmatched: list[dict]) -> dict[str, Any]:
    """Detection per concept family (see :func:`score_mentions`): true mentions counted by
    their family, unmatched predictions as inside a longer true term or by the family of
    the concept they name."""
    family_of: dict[str, str] = {}
    for t in truth_rows:
        for key in _accepted(t):
            family_of.setdefault(key, t.get("family") or "")
    tp: dict[str, int] = {}
    fn: dict[str, int] = {}
    fp: dict[str, int] = {}
    for t in truth_rows:
        bucket = tp if t["_pred"] is not None else fn
        fam = t.get("family") or ""
        bucket[fam] = bucket.get(fam, 0) + 1
    for p in unmatched:
        text = _norm_sentence(p.get("text"))
        inside = bool(text) and any(
            text in _norm_sentence(t["term"]) and _norm_sentence(t["term"]) != text
            and _same_sentence(p["_sentence"], t["_sentence"]) for t in truth_by_acc.get(p["accession"], ()))
        fam = INSIDE_TRUE_TERM if inside else family_of.get(p["_concept"], NOT_A_PHANTOM_CONCEPT)
        fp[fam] = fp.get(fam, 0) + 1
    families = sorted(set(tp) | set(fn)) + sorted(set(fp) - set(tp) - set(fn))
    return {f: binary_scores(tp.get(f, 0), fp.get(f, 0), fn.get(f, 0)) for f in families}


def score_distractors(distractors, predicted: list[tuple[str, str]]) -> dict[str, Any]:
    """References read in sentences that cite no current image.

    ``distractors``: truth/distractors.parquet rows (accession, sentence, phenomenon);
    ``predicted``: (accession, normalised sentence text) of every predicted reference that
    cites no true image (a false one).
    Returns per phenomenon ``{"sentences": n, "with_false_reference": k, "false_references": m}``.
    """
    refs_by_acc: dict[str, list[str]] = {}
    for acc, sentence in predicted:
        refs_by_acc.setdefault(acc, []).append(sentence)
    out: dict[str, Any] = {}
    for row in distractors:
        entry = out.setdefault(row["phenomenon"], {"sentences": 0, "with_false_reference": 0, "false_references": 0})
        sentence = _norm_sentence(row["sentence"])
        hits = sum(1 for s in refs_by_acc.get(row["accession"], ()) if _same_sentence(s, sentence))
        entry["sentences"] += 1
        entry["with_false_reference"] += bool(hits)
        entry["false_references"] += hits
    return dict(sorted(out.items()))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _text_only(truth: Path) -> bool:
    """True for a phantom written without images (its truth/images.parquet is empty)."""
    images = truth / "images.parquet"
    return images.exists() and pq.read_metadata(images).num_rows == 0


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
        # an image the archive does not hold (hard phantom: "unarchived") cannot be linked
        t_archived = {(t["accession"], t["series"], t["instance"]) for t in truth_refs
                      if t.get("phenomenon") != "unarchived"}
        t_attr = {(t["accession"], _norm(t["sentence"]), t["series"], t["instance"]) for t in truth_refs}
        t_no_series = {(t["accession"], t["series"], t["instance"]) for t in truth_refs if not t.get("series_written", True)}
        out["references"] = {
            "cited": set_scores(cited, t_cited),
            "linked": set_scores(linked, t_archived),
            "sentences": set_scores(attributed, t_attr),
            "image_only_recall": _round(len(t_no_series & cited) / len(t_no_series)) if t_no_series else None,
        }
        if _text_only(truth):  # nothing to link to: linking is not measured, not failed
            for key in ("linked", "image_only_recall"):
                del out["references"][key]
            out["references"]["note"] = "text-only export (no images): linking and image-only references not scored"
        phenomena = sorted({t.get("phenomenon") for t in truth_refs if t.get("phenomenon")})
        if len(phenomena) > 1:
            out["references"]["by_phenomenon"] = {
                ph: {"references": len(keys), "cited_recall": _round(len(keys & cited) / len(keys))}
                for ph in phenomena
                for keys in [{(t["accession"], t["series"], t["instance"]) for t in truth_refs if t.get("phenomenon") == ph}]
            }
        distractors_path = truth / "distractors.parquet"
        if distractors_path.exists():
            false_refs = []
            for r in refs:
                series = r["series"] if r["series"] is not None else _series_of(r["image_id"])
                if (r["accession"], series, r["instance"]) not in t_cited:
                    false_refs.append((r["accession"], _norm_sentence(text_of.get((r["accession"], r["sentence_index"]), ""))))
            distractors = pq.read_table(distractors_path).to_pylist()
            if distractors:
                out["references"]["distractors"] = score_distractors(distractors, false_refs)
    mentions_path = truth / "mentions.parquet"
    if mentions_path.exists():
        terms = pq.read_table(ext / "terms.parquet")
        out["negation"] = score_mentions(terms, pq.read_table(ext / "sentences.parquet"), pq.read_table(mentions_path))
    return out


def score_labels(ws: Workspace) -> dict[str, Any] | None:
    """The stage's disease mentions against the reports' hand-coded ``labels``, or None
    when no report carries labels.

    Only labels that name a concept are scored: ``label_names_mapped`` of ``label_names``
    distinct label heads ("normal" aside) map to a concept through the stage's matcher.
    When none does (MedPix location categories such as "Thorax"), the result holds a
    ``note`` instead of scores (topics.labels scores the topics against such categories);
    the IU chest-heading ``oracle`` is given only when some label is an IU heading.

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
    heads = sorted({x.split("/")[0].strip() for lab in reports.column("labels").to_pylist() if lab
                    for x in lab if x and x.strip()})
    named = [h for h in heads if h.lower() != "normal"]
    mapped = [h for h in named if _label_concepts(h, annotator)]
    out.update({"label_names": len(named), "label_names_mapped": len(mapped)})
    if not mapped:
        examples = ", ".join(repr(h) for h in named[:4])
        return out | {"note": (f"no label names a concept of the stage's vocabulary ({examples}"
                               f"{', ...' if len(named) > 4 else ''}): the labels are categories, not findings, "
                               "so mentions are not scored against them; topics.labels scores the topics against them")}
    ext = ws.stage_dir("extract")
    sentences = pq.read_table(ext / "sentences.parquet", columns=["accession", "sentence_index", "text", "section"])
    terms = pq.read_table(ext / "terms.parquet", columns=["accession", "sentence_index", "code", "negated", "uncertain"])
    labelled = iu_reports_from_tables(reports, sentences, skip_sections=UNLABELLED_SECTIONS)
    res = evaluate_iu_reports(labelled, annotator.context_, annotator, mentions=terms)
    scored = res["ontology"]
    out.update({
        "reports_normal": sum(1 for x in reports.column("labels").to_pylist()
                              if x and {v.split("/")[0].strip().lower() for v in x} == {"normal"}),
        "present": scored["present"], "negation": scored["negation"], "concepts_scored": scored["n"],
        "labelled_concepts": scored["labelled"],
    })
    # The oracle reads the IU X-ray chest headings (rules/terms_eval_iu.toml): only for labels that use them.
    iu_headings = {h.lower() for h in _iu_headings()}
    if iu_headings & {h.lower() for h in named}:
        out["oracle"] = res["oracle"]
    else:
        out["oracle_note"] = "no label is an IU X-ray heading: the chest-heading oracle is not applied"
    return out


def _label_concepts(head: str, annotator) -> set[str]:
    """Concept codes one label head names through the stage's matcher, also read inverted
    ("Hernia, Hiatal" -> "Hiatal Hernia")."""
    variants = {head, " ".join(reversed([p.strip() for p in head.split(",")]))}
    return {m.code for v in variants for m in annotator.match(v)}


def _iu_headings() -> list[str]:
    import tomllib
    from importlib import resources

    text = resources.files("pacsmine.nlp").joinpath("rules", "terms_eval_iu.toml").read_text("utf-8")
    return list(tomllib.loads(text)["headings"])
