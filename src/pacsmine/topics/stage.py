"""The topics stage: ``pacsmine topics --workspace WS``.

Reads extract/documents.parquet (whole reports) and extract/key_images.parquet
(referring sentence with its neighbours, per key image), fits the three levels and
writes, under WS/topics/ (docs/workspace.md):

    level1/ model.bin selection.json selection.png topics.parquet doc_topics.parquet
    level2/ <parent>/model.bin topics.parquet doc_topics.parquet selection.json selection.png
    level3/ model.bin selection.json selection.png topics.parquet doc_topics.parquet
    key_image_labels.parquet   cards/<level>_<topic>.png cards/cards.json   metrics.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..progress import console, track
from ..workspace import StageContext, StageResult, Workspace
from .cards import selection_figure, topic_card
from .lda import ParquetCorpus, TopicModel
from .levels import LevelFit, fit_level, group_rows, level_params

__all__ = ["run_topics", "theta_column", "topics_table"]


def run_topics(ws: Workspace, config: dict[str, Any], force: bool = False) -> StageResult:
    """Run the topics stage on ``ws`` (``config`` is the full config; uses ``config["topics"]``)."""
    from .selection import check_rules

    cfg = config["topics"]
    for level in ("level1", "level2", "level3"):
        check_rules(cfg[level], f"topics.{level}")
    inputs = {"extract": ws.fingerprint("extract")}
    return ws.run_stage("topics", cfg, inputs, lambda ctx: _body(ctx, cfg), force=force)


# --------------------------------------------------------------------------- tables


def theta_column(rows: Sequence[np.ndarray] | np.ndarray) -> pa.Array:
    """list<float32> column from a (n, K) array or a sequence of 1-D arrays of any length."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        n, k = rows.shape
        offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32) if n else np.zeros(1, np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.reshape(-1).astype(np.float32)))
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = np.concatenate([np.asarray(r, np.float32) for r in rows]) if len(rows) else np.zeros(0, np.float32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.float32()))


def topics_table(topic_ids: Sequence[str], top_words: Sequence[list[str]], doc_labels: Sequence[str],
                 image_labels: Sequence[str | None], flag_share_ratio: float) -> pa.Table:
    """topics.parquet: ``topic``, ``top_words``, ``doc_count``, ``image_count``, ``flagged``.

    A topic is flagged when its share of labelled key images exceeds
    ``flag_share_ratio`` times the mean share 1/K.
    """
    docs = _counts(doc_labels)
    images = _counts([x for x in image_labels if x is not None])
    n_images = sum(images.values())
    k = max(1, len(topic_ids))
    flagged = [bool(n_images and images.get(t, 0) / n_images > flag_share_ratio / k) for t in topic_ids]
    return pa.table({
        "topic": pa.array(list(topic_ids), pa.string()),
        "top_words": pa.array([list(w) for w in top_words], pa.list_(pa.string())),
        "doc_count": pa.array([docs.get(t, 0) for t in topic_ids], pa.int64()),
        "image_count": pa.array([images.get(t, 0) for t in topic_ids], pa.int64()),
        "flagged": pa.array(flagged, pa.bool_()),
    })


def _counts(labels: Sequence[str]) -> dict[str, int]:
    values, counts = np.unique(np.asarray(list(labels), dtype=object).astype(str), return_counts=True) \
        if len(labels) else (np.array([]), np.array([]))
    return {str(v): int(c) for v, c in zip(values, counts)}


# --------------------------------------------------------------------------- the stage


def _body(ctx: StageContext, cfg: dict[str, Any]) -> dict[str, Any]:
    ws = ctx.workspace
    docs_path = ws.require("extract", "documents.parquet")
    images_path = ws.require("extract", "key_images.parquet")
    meta = pq.read_table(docs_path, columns=["accession", "patient_id"])
    accessions = np.asarray(meta.column("accession").to_pylist(), dtype=object)
    patients = [str(p) for p in meta.column("patient_id").to_pylist()]
    corpus = ParquetCorpus(docs_path)
    n_top = int(cfg["top_words"])
    ratio = float(cfg["flag_share_ratio"])
    console.print(f"topics: {len(accessions)} reports")

    # ---- level 1: whole reports
    fit1 = fit_level(corpus, patients, level_params(cfg, cfg["level1"]), "level1",
                     checkpoint=ctx.partial_dir / "level1")
    fit1.model.save(ctx.path("level1/model.bin"))
    ctx.write_json("level1/selection.json", fit1.selection)
    selection_figure(ctx.path("level1/selection.png"), [fit1.selection], "level 1: whole reports")
    labels1 = fit1.labels
    level1_ids = [str(t) for t in range(fit1.model.k_)]
    doc_level1 = np.array([level1_ids[t] for t in labels1], dtype=object)
    ctx.write_parquet("level1/doc_topics.parquet", pa.table({
        "accession": pa.array(list(accessions), pa.string()),
        "topic": pa.array(list(doc_level1), pa.string()),
        "theta": theta_column(fit1.theta),
    }))

    # ---- level 2: within each level-1 topic
    level2 = _fit_level2(ctx, cfg, corpus, patients, fit1, n_top)
    doc_level2 = level2["doc_labels"]
    ctx.write_parquet("level2/doc_topics.parquet", pa.table({
        "accession": pa.array(list(accessions), pa.string()),
        "parent": pa.array(list(doc_level1), pa.string()),
        "topic": pa.array(list(doc_level2), pa.string()),
        "theta": theta_column(level2["theta"]),
    }))
    ctx.write_json("level2/selection.json", level2["selection"])
    curves = [dict(s, label=p) for p, s in level2["selection"].items() if s.get("searched")]
    edged = [p for p, s in level2["selection"].items() if s.get("at_grid_edge")]
    if edged:
        console.print(f"[yellow]level2[/]: parents {', '.join(edged)}: the optimum K sits at a bound of the "
                      "search (level2.min_k or the cap); their best K may lie beyond it")
    selection_figure(ctx.path("level2/selection.png"), curves, f"level 2: within each level-1 topic ({len(curves)} searched)")

    # ---- level 3: key-image sentences
    images = pq.read_table(images_path, columns=["image_id", "accession", "patient_id", "sentence_index", "png"])
    fit3: LevelFit | None = None
    if images.num_rows >= 4:
        fit3 = fit_level(ParquetCorpus(images_path), [str(p) for p in images.column("patient_id").to_pylist()],
                         level_params(cfg, cfg["level3"]), "level3", checkpoint=ctx.partial_dir / "level3")
    else:
        console.print(f"[yellow]level3[/]: {images.num_rows} key-image sentences are too few; skipped")

    # ---- key-image labels: levels 1 and 2 from the report, level 3 from the sentences
    by_accession = {a: i for i, a in enumerate(accessions)}
    image_ids = images.column("image_id").to_pylist()
    image_acc = images.column("accession").to_pylist()
    image_png = images.column("png").to_pylist()
    unique_ids: list[str] = []
    first_row: dict[str, int] = {}
    for row, image_id in enumerate(image_ids):
        if image_id not in first_row:
            first_row[image_id] = row
            unique_ids.append(image_id)
    lab1, lab2 = [], []
    for image_id in unique_ids:
        doc = by_accession.get(image_acc[first_row[image_id]])
        lab1.append(None if doc is None else doc_level1[doc])
        lab2.append(None if doc is None else doc_level2[doc])
    lab3: list[str | None] = [None] * len(unique_ids)
    sentence_labels3: list[str] = []
    if fit3 is not None:
        # An image cited by several sentences: the topic of its summed sentence mixtures.
        slot = {image_id: i for i, image_id in enumerate(unique_ids)}
        summed = np.zeros((len(unique_ids), fit3.model.k_))
        np.add.at(summed, np.array([slot[i] for i in image_ids]), fit3.theta)
        lab3 = [str(int(t)) for t in np.argmax(summed, axis=1)]
        sentence_labels3 = [str(int(t)) for t in fit3.labels]
    ctx.write_parquet("key_image_labels.parquet", pa.table({
        "image_id": pa.array(unique_ids, pa.string()),
        "accession": pa.array([image_acc[first_row[i]] for i in unique_ids], pa.string()),
        "level1": pa.array(lab1, pa.string()),
        "level2": pa.array(lab2, pa.string()),
        "level3": pa.array(lab3, pa.string()),
    }))

    # ---- per-topic tables
    table1 = topics_table(level1_ids, [[w for w, _ in fit1.model.top_words(t, n_top)] for t in range(fit1.model.k_)],
                          list(doc_level1), lab1, ratio)
    ctx.write_parquet("level1/topics.parquet", table1)
    table2 = topics_table(level2["topic_ids"], level2["top_words"], list(doc_level2), lab2, ratio)
    ctx.write_parquet("level2/topics.parquet", table2)
    tables = {"level1": table1, "level2": table2}
    weights = {"level1": {t: fit1.model.top_words(int(t), n_top) for t in level1_ids}, "level2": level2["weights"]}
    if fit3 is not None:
        fit3.model.save(ctx.path("level3/model.bin"))
        ctx.write_json("level3/selection.json", fit3.selection)
        selection_figure(ctx.path("level3/selection.png"), [fit3.selection], "level 3: key-image sentences")
        level3_ids = [str(t) for t in range(fit3.model.k_)]
        ctx.write_parquet("level3/doc_topics.parquet", pa.table({
            "image_id": images.column("image_id"),
            "accession": images.column("accession"),
            "sentence_index": images.column("sentence_index"),
            "topic": pa.array(sentence_labels3, pa.string()),
            "theta": theta_column(fit3.theta),
        }))
        table3 = topics_table(level3_ids, [[w for w, _ in fit3.model.top_words(t, n_top)] for t in range(fit3.model.k_)],
                              sentence_labels3, lab3, ratio)
        ctx.write_parquet("level3/topics.parquet", table3)
        tables["level3"] = table3
        weights["level3"] = {t: fit3.model.top_words(int(t), n_top) for t in level3_ids}

    # ---- review cards
    png_of = {i: image_png[first_row[i]] for i in unique_ids}
    labels_by_level = {"level1": lab1, "level2": lab2, "level3": lab3}
    cards = _write_cards(ctx, cfg, tables, weights, unique_ids, labels_by_level, png_of)

    flagged = {level: [t for t, f in zip(tab.column("topic").to_pylist(), tab.column("flagged").to_pylist()) if f]
               for level, tab in tables.items()}
    ctx.counts.update({"documents": len(accessions), "key_images": len(unique_ids),
                       "key_image_sentences": images.num_rows, "cards": len(cards)})
    for level, topics in flagged.items():
        if topics:
            console.print(f"[yellow]{level}[/]: topics holding a disproportionate share of key images: {', '.join(topics)}")
    return {
        "documents": len(accessions),
        "key_images": len(unique_ids),
        "level1": _curve(fit1.selection),
        "level2": {"n_topics": len(level2["topic_ids"]),
                   "chosen_k": {p: s["chosen_k"] for p, s in level2["selection"].items()},
                   "at_grid_edge": {p: bool(s.get("at_grid_edge")) for p, s in level2["selection"].items()},
                   "split_parents": sum(1 for s in level2["selection"].values() if s.get("split"))},
        "level3": _curve(fit3.selection) if fit3 is not None else None,
        "flagged": flagged,
    }


def _curve(selection: dict[str, Any]) -> dict[str, Any]:
    keys = ("chosen_k", "rule", "at_cap", "rule_k", "cap_fallback", "at_grid_edge", "grid", "k", "perplexity", "npmi", "n_train", "n_heldout")
    return {key: selection.get(key) for key in keys}


def _fit_level2(ctx: StageContext, cfg: dict[str, Any], corpus: ParquetCorpus, patients: list[str],
                fit1: LevelFit, n_top: int) -> dict[str, Any]:
    """Second hierarchy: one LDA per level-1 topic with enough reports."""
    params = level_params(cfg, cfg["level2"])
    labels1 = fit1.labels
    n_docs = len(labels1)
    doc_labels = np.empty(n_docs, dtype=object)
    theta: list[np.ndarray] = [np.ones(1, np.float32)] * n_docs
    topic_ids: list[str] = []
    top_words: list[list[str]] = []
    weights: dict[str, list[tuple[str, float]]] = {}
    selection: dict[str, Any] = {}
    groups = group_rows(labels1)
    for parent in track(range(fit1.model.k_), "level2 (per level-1 topic)"):
        rows = groups.get(parent, np.zeros(0, np.int64))
        pid = str(parent)
        if len(rows) < int(params["min_docs"]):
            # Too few reports to split: the parent carries on as one level-2 topic.
            tid = f"{pid}.0"
            doc_labels[rows] = tid
            topic_ids.append(tid)
            words = fit1.model.top_words(parent, n_top)
            top_words.append([w for w, _ in words])
            weights[tid] = words
            selection[pid] = {"n_docs": int(len(rows)), "split": False, "searched": False, "chosen_k": 1,
                              "at_grid_edge": False}
            continue
        fit = fit_level(corpus.subset(rows), [patients[i] for i in rows], params, f"level2/{pid}",
                        show_progress=False, checkpoint=ctx.partial_dir / "level2" / pid)
        fit.model.save(ctx.path(f"level2/{pid}/model.bin"))
        for j in range(fit.model.k_):
            tid = f"{pid}.{j}"
            topic_ids.append(tid)
            words = fit.model.top_words(j, n_top)
            top_words.append([w for w, _ in words])
            weights[tid] = words
        sub = fit.labels
        for local, row in enumerate(rows):
            doc_labels[row] = f"{pid}.{int(sub[local])}"
            theta[row] = fit.theta[local]
        selection[pid] = dict(fit.selection, split=True)
    return {"doc_labels": doc_labels, "theta": theta, "topic_ids": topic_ids, "top_words": top_words,
            "weights": weights, "selection": selection}


def _write_cards(ctx: StageContext, cfg: dict[str, Any], tables: dict[str, pa.Table],
                 weights: dict[str, dict[str, list[tuple[str, float]]]], image_ids: list[str],
                 labels: dict[str, list[str | None]], png_of: dict[str, str]) -> list[dict[str, Any]]:
    card_cfg = cfg["cards"]
    rng = np.random.default_rng(int(cfg["seed"]))
    root = ctx.workspace.root
    shown = int(card_cfg["words_shown"])
    cards: list[dict[str, Any]] = []
    jobs = []
    for level in card_cfg["levels"]:
        if level not in tables:
            continue
        members: dict[str, list[str]] = {}
        for image_id, label in zip(image_ids, labels[level]):
            if label is not None:
                members.setdefault(label, []).append(image_id)
        tab = tables[level].to_pylist()
        for row in tab:
            pool = members.get(row["topic"], [])
            take = min(len(pool), int(card_cfg["montage"]))
            sample = sorted(rng.choice(len(pool), take, replace=False).tolist()) if take else []
            jobs.append((level, row, [pool[i] for i in sample]))
    for level, row, sample in track(jobs, "review cards"):
        topic = row["topic"]
        words = weights[level][topic][:shown]
        name = f"cards/{level}_{topic}.png"
        topic_card(ctx.path(name), f"{level} topic {topic}", [w for w, _ in words], [p for _, p in words],
                   row["doc_count"], row["image_count"], row["flagged"], [root / png_of[i] for i in sample])
        cards.append({"level": level, "topic": topic, "png": name,
                      "top_words": [{"word": w, "weight": round(p, 6)} for w, p in words],
                      "doc_count": row["doc_count"], "image_count": row["image_count"], "flagged": row["flagged"],
                      "sample_images": sample})
    ctx.write_json("cards/cards.json", cards)
    return cards
