"""Scoring the retrieval stage: keywords against the sentences' disease words (recall at K,
Section 5.4), the image-text retrieval table (R@K both ways, beside a random baseline), and
:func:`evaluate_retrieval` for ``pacsmine evaluate`` (adds, on a phantom, recall at K against
the truth's findings of each test image).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow.parquet as pq

from ..workspace import Workspace
from .keywords import (candidates, frequent_words, level_keywords, mean_cosine_distance, ranked_words, recall_at_k,
                       unit_rows)
from .search import random_recall, recall_at_k_sets

__all__ = ["term_words", "keyword_rows", "keyword_scores", "retrieval_table", "markdown", "evaluate_retrieval"]

LEVELS = ("level1", "level2", "level3")


def term_words(ws: Workspace) -> set[str]:
    t = pq.read_table(ws.require("vectors", "vocabulary.parquet"), columns=["word", "is_term"])
    return {w for w, term in zip(t.column("word").to_pylist(), t.column("is_term").to_pylist()) if term}


def _predicted_topics(ws: Workspace, arch: str) -> dict[str, dict[str, str]]:
    """image_id -> level -> predicted topic (best), from images/evaluation/predictions.parquet."""
    t = pq.read_table(ws.require("images", "evaluation/predictions.parquet"),
                      columns=["image_id", "arch", "level", "predicted"]).to_pylist()
    out: dict[str, dict[str, str]] = {}
    for r in t:
        if r["arch"] == arch and r["predicted"]:
            out.setdefault(r["image_id"], {})[r["level"]] = r["predicted"][0]
    return out


def keyword_rows(ws: Workspace, cfg: dict[str, Any], wv, test_ids: Sequence[str], outputs: dict[str, np.ndarray],
                 truth: dict[str, list[str]], split: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per test image and loss: predicted topics, keywords and their scores, the ranked
    words, the baseline's words, the true words (keywords.parquet)."""
    kcfg = cfg["keywords"]
    terms = term_words(ws) if kcfg["terms_only"] else None
    top_words: dict[str, dict[str, list[str]]] = {}
    for level in LEVELS:
        t = pq.read_table(ws.require("topics", f"{level}/topics.parquet"), columns=["topic", "top_words"])
        top_words[level] = dict(zip(t.column("topic").to_pylist(), t.column("top_words").to_pylist()))
    predicted = _predicted_topics(ws, cfg["arch"])
    train = [r for r in split if r["split"] == "train"]
    baseline = frequent_words([r["level1"] for r in train], [truth.get(r["image_id"], []) for r in train])
    rows = []
    for loss, out in outputs.items():
        for n, image_id in enumerate(test_ids):
            topics = [predicted.get(image_id, {}).get(level) for level in LEVELS]
            cands = [candidates(top_words[lv].get(t) or [], wv.index, int(kcfg["top_words"]), terms)
                     if t is not None else [] for lv, t in zip(LEVELS, topics)]
            keys = level_keywords(out[n], cands, wv.index, wv.matrix)
            rows.append({"image_id": image_id, "loss": loss, "topics": [t or "" for t in topics],
                         "keywords": [w or "" for w, _ in keys], "scores": [s for _, s in keys],
                         "ranked": ranked_words(out[n], cands, wv.index, wv.matrix),
                         "baseline": baseline.get(topics[0], []) if topics[0] is not None else [],
                         "truth": truth.get(image_id, [])})
    return rows


def keyword_scores(rows: list[dict[str, Any]], truth, split, ws, cfg, arch) -> dict[str, Any]:
    """Per loss: recall at K of the ranked words, Figure 8's average cosine distance; and the baseline's recall."""
    ks = [int(k) for k in cfg["keywords"]["recall_k"]]
    out: dict[str, Any] = {"losses": {}}
    for loss in sorted({r["loss"] for r in rows}):
        mine = [r for r in rows if r["loss"] == loss]
        out["losses"][loss] = {**recall_at_k([r["ranked"] for r in mine], [r["truth"] for r in mine], ks),
                               "mean_cosine_distance": mean_cosine_distance([s for r in mine for s in r["scores"]])}
        if "baseline" not in out:
            out["baseline"] = recall_at_k([r["baseline"] for r in mine], [r["truth"] for r in mine], ks)
    return out


def _half_cosine(outputs: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """(N, M): mean over the halves of cos(output half, rep); reps (M, dim)."""
    d = reps.shape[1]
    u = unit_rows(reps)
    return (unit_rows(outputs[:, :d]) @ u.T + unit_rows(outputs[:, d:]) @ u.T) / 2


def retrieval_table(cfg, test_pairs: list[dict[str, Any]], texts: np.ndarray, tokens: list[list[str]],
                    test_ids: list[str], image_emb, cmodel, outputs: dict[str, np.ndarray], wv,
                    terms: set[str]) -> dict[str, Any]:
    """R@K image->text and text->image over the test split's images and referring sentences:
    the contrastive model, each bigram regression model (a sentence = the mean vector of its
    term tokens, scored against both output halves), and a random ranking."""
    ks = [int(k) for k in cfg["contrastive"]["recall_k"]]
    sentence_of: dict[tuple[str, int], int] = {}
    first_row: list[int] = []
    for n, k in enumerate(test_pairs):
        key = (k["accession"], int(k["sentence_index"]))
        if key not in sentence_of:
            sentence_of[key] = len(first_row)
            first_row.append(n)
    image_of = {i: n for n, i in enumerate(test_ids)}
    i2t = [set() for _ in test_ids]
    t2i = [set() for _ in first_row]
    for k in test_pairs:
        s = sentence_of[(k["accession"], int(k["sentence_index"]))]
        if k["image_id"] in image_of:
            i2t[image_of[k["image_id"]]].add(s)
            t2i[s].add(image_of[k["image_id"]])
    out: dict[str, Any] = {"images": len(test_ids), "sentences": len(first_row), "k": ks, "methods": {}}
    if not test_ids or not first_row:
        return out
    out["methods"]["random"] = {"image_to_text": random_recall(len(first_row), [len(c) for c in i2t], ks),
                                "text_to_image": random_recall(len(test_ids), [len(c) for c in t2i], ks)}
    sims = cmodel.similarity(image_emb, cmodel.encode_texts(texts[first_row]))
    out["methods"]["contrastive"] = {"image_to_text": recall_at_k_sets(sims, i2t, ks),
                                     "text_to_image": recall_at_k_sets(sims.T, t2i, ks)}
    term_reps = np.stack([_term_mean([t for t in tokens[n] if t in terms], wv)
                          for n in first_row])
    for loss, o in outputs.items():
        s = _half_cosine(o, term_reps)
        out["methods"][f"regression-{loss}"] = {"image_to_text": recall_at_k_sets(s, i2t, ks),
                                                "text_to_image": recall_at_k_sets(s.T, t2i, ks)}
    return out


def _term_mean(words: list[str], wv) -> np.ndarray:
    rows = [wv.index[w] for w in words]
    return wv.matrix[rows].mean(axis=0) if rows else np.zeros(wv.dim, np.float32)


def markdown(kw: dict[str, Any], table: dict[str, Any] | None, counts: dict[str, Any]) -> str:
    lines = ["# Retrieval (test split)", "",
             f"Bigram targets: {counts['targets']} of {counts['images_with_targets']} key images; "
             f"{counts['targets_keeping_negated']} with negated mentions kept (negation removed "
             f"{counts['removed_by_negation']}).", "", "## Keywords: recall at K against the sentences' disease words", ""]
    ks = sorted({int(k) for v in kw["losses"].values() for k in v["k"]})
    lines.append("| method | images | " + " | ".join(f"R@{k} (hit / recall)" for k in ks) + " | mean cosine distance |")
    lines.append("|---|---|" + "---|" * len(ks) + "---|")

    def cells(r):
        return " | ".join(f"{r['k'][k]['hit']:.3f} / {r['k'][k]['recall']:.3f}" if r["k"][k]["hit"] is not None
                          else "-" for k in ks)

    for loss, r in kw["losses"].items():
        lines.append(f"| regression ({loss}) | {r['images']} | {cells(r)} | {r['mean_cosine_distance']:.3f} |")
    if "baseline" in kw:
        lines.append(f"| baseline: frequent words of the predicted level-1 topic | {kw['baseline']['images']} | "
                     f"{cells(kw['baseline'])} | |")
    if table and table.get("methods"):
        tk = table["k"]
        lines += ["", f"## Image-text retrieval: {table['images']} images, {table['sentences']} sentences", "",
                  "| method | " + " | ".join(f"image->text R@{k}" for k in tk) + " | "
                  + " | ".join(f"text->image R@{k}" for k in tk) + " |",
                  "|---|" + "---|" * (2 * len(tk))]
        for name, m in table["methods"].items():
            lines.append(f"| {name} | " + " | ".join(f"{m['image_to_text'][k]:.3f}" for k in tk) + " | "
                         + " | ".join(f"{m['text_to_image'][k]:.3f}" for k in tk) + " |")
    return "\n".join(lines) + "\n"


def evaluate_retrieval(ws: Workspace, truth_dir: Path | None) -> dict[str, Any]:
    """retrieval.json's figures; with a phantom's truth also recall at K of the keywords against
    each test image's true findings (truth/images.parquet ``findings``, as term tokens)."""
    from ..vectors.keyed import lookup_key

    out = json.loads(ws.require("retrieval", "evaluation/retrieval.json").read_text("utf-8"))
    if truth_dir is None or not (Path(truth_dir) / "images.parquet").is_file():
        return out
    images = pq.read_table(ws.require("ingest", "images.parquet"), columns=["image_id", "source"])
    source = dict(zip(images.column("image_id").to_pylist(), images.column("source").to_pylist()))
    t = pq.read_table(Path(truth_dir) / "images.parquet", columns=["path", "findings"])
    findings = dict(zip(t.column("path").to_pylist(), t.column("findings").to_pylist()))
    rows = pq.read_table(ws.require("retrieval", "keywords.parquet")).to_pylist()
    manifest = ws.manifest("retrieval") or {}
    ks = [int(k) for k in manifest.get("config", {}).get("keywords", {}).get("recall_k", [1, 3, 5])]
    truth_of = {r["image_id"]: [lookup_key(f) for f in (findings.get(source.get(r["image_id"])) or [])] for r in rows}
    scores: dict[str, Any] = {"losses": {}}
    for loss in sorted({r["loss"] for r in rows}):
        mine = [r for r in rows if r["loss"] == loss]
        scores["losses"][loss] = recall_at_k([r["ranked"] for r in mine], [truth_of[r["image_id"]] for r in mine], ks)
        scores["baseline"] = recall_at_k([r["baseline"] for r in mine], [truth_of[r["image_id"]] for r in mine], ks)
    # As evaluation.json will hold them (K as a string key), like the figures read back above.
    out["truth_findings"] = json.loads(json.dumps(scores))
    return out
