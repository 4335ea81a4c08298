"""The retrieval stage: ``pacsmine retrieval --workspace WS`` (and ``pacsmine run`` with
"retrieval" in ``run.stages``).

Reads extract (key_images, terms, sentences), topics (each level's top words), vectors (word
vectors, term tokens), images (split.parquet, the level-1 classifier of ``retrieval.arch``,
evaluation/predictions.parquet: the predicted topics of the test images) and ingest (PNGs).
Writes under WS/retrieval/ (docs/workspace.md, "retrieval"):

    targets.parquet           one row per (key image, bigram target)
    models/regression-<loss>/ model.safetensors model.json      (one per retrieval.regression.losses)
    models/contrastive/       model.safetensors model.json
    keywords.parquet          per test image and loss: the three keywords, scores, ranked words
    index.safetensors | index.faiss, index.parquet   the archive's key-image embeddings (contrastive)
    evaluation/retrieval.json, retrieval.md          R@K tables

Models train in the partial folder (checkpoints per epoch: a killed run resumes).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..progress import console
from ..workspace import StageContext, StageResult, Workspace

__all__ = ["run_retrieval", "LEVELS"]

LEVELS = ("level1", "level2", "level3")


def run_retrieval(ws: Workspace, config: dict[str, Any], force: bool = False) -> StageResult:
    """Run the retrieval stage on ``ws`` (``config`` is the full config; uses ``config["retrieval"]``
    and the extract tokenizer settings the sentences are tokenised with)."""
    from .losses import LOSSES
    from .targets import SINGLE

    cfg = config["retrieval"]
    for loss in cfg["regression"]["losses"]:
        if loss not in LOSSES:
            raise ValueError(f"retrieval.regression.losses: unknown loss {loss!r} (known: {', '.join(LOSSES)})")
    if cfg["regression"]["keywords_loss"] not in cfg["regression"]["losses"]:
        raise ValueError(f"retrieval.regression.keywords_loss ({cfg['regression']['keywords_loss']!r}) must be one of "
                         "retrieval.regression.losses")
    if cfg["targets"]["single"] not in SINGLE:
        raise ValueError(f"retrieval.targets.single must be one of {', '.join(SINGLE)}")
    stage_config = {**cfg, "extract_tokens": config["extract"]["tokens"]}
    inputs = {s: ws.fingerprint(s) for s in ("ingest", "extract", "topics", "vectors", "images")}
    return ws.run_stage("retrieval", stage_config, inputs, lambda ctx: _body(ctx, stage_config), force=force)


def _pngs(ws: Workspace, image_ids: list[str], resize: int) -> np.ndarray:
    """uint8 (N, 1, resize, resize) of the key images (decoded as the images stage does)."""
    from ..images.cache import decode_all

    t = pq.read_table(ws.require("ingest", "images.parquet"), columns=["image_id", "png"])
    png = dict(zip(t.column("image_id").to_pylist(), t.column("png").to_pylist()))
    images, _ = decode_all([ws.root / png[i] for i in image_ids], resize)
    return images


def _sentence_tokens(ws: Workspace, cfg: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The key_images rows (image_id, accession, sentence_index, sentence) and each referring
    sentence's tokens (extract's tokenizer, each term one token by ``contrastive.status_tokens``)."""
    from ..vectors.corpus import vector_tokenizer

    tok = vector_tokenizer(cfg["extract_tokens"], cfg["contrastive"]["status_tokens"])
    keys = pq.read_table(ws.require("extract", "key_images.parquet"),
                         columns=["image_id", "accession", "sentence_index", "sentence"]).to_pylist()
    terms = pq.read_table(ws.require("extract", "terms.parquet"),
                          columns=["accession", "sentence_index", "start", "end", "name", "status"]).to_pylist()
    spans: dict[tuple[str, int], list] = {}
    for t in terms:
        spans.setdefault((t["accession"], t["sentence_index"]), []).append((t["start"], t["end"], t["name"], t["status"]))
    tokens = [tok.tokenize_terms(k["sentence"] or "", spans.get((k["accession"], k["sentence_index"]), [])) for k in keys]
    return keys, tokens


def _body(ctx: StageContext, cfg: dict[str, Any]) -> dict[str, Any]:
    import torch

    from ..images.classifier import resolve_device
    from ..vectors import load_vectors
    from .tables import build_targets

    ws = ctx.workspace
    if int(cfg["threads"]) > 0:
        torch.set_num_threads(int(cfg["threads"]))
    device = resolve_device(cfg["device"])
    parent = ws.require("images", f"models/{cfg['arch']}/level1/model.json").parent
    targets, counts, truth = build_targets(ws, cfg["targets"])
    ctx.write_parquet("targets.parquet", targets)
    console.print(f"retrieval: {counts['targets']} bigram targets of {counts['images_with_targets']} key images "
                  f"(negation removed {counts['removed_by_negation']}; the paper kept negated mentions)")
    wv = load_vectors(ws)
    import json

    resize = int(json.loads((parent / "model.json").read_text("utf-8"))["resize"])
    split = pq.read_table(ws.require("images", "dataset/split.parquet")).to_pylist()
    split_of = {r["image_id"]: r["split"] for r in split}
    ids = [r["image_id"] for r in split]
    row_of = {i: n for n, i in enumerate(ids)}
    started = time.perf_counter()
    images = _pngs(ws, ids, resize)
    console.print(f"retrieval: decoded {len(ids)} key images at {resize} px in {time.perf_counter() - started:.1f} s")
    metrics: dict[str, Any] = {"targets": counts, "device": device, "regression": {}, "seconds": {}}

    # ---- bigram regression, one model per loss
    from .regression import BigramRegressor
    from .targets import target_vectors

    t = targets.to_pylist()
    t = [r for r in t if r["split"] is not None and r["image_id"] in row_of]
    first = [wv.index[r["first_token"]] for r in t]
    second = [wv.index[r["second_token"]] for r in t]
    vectors = target_vectors(first, second, wv.matrix)
    by_part = {p: np.array([n for n, r in enumerate(t) if r["split"] == p], dtype=np.int64)
               for p in ("train", "validation", "test")}
    rows_of = {p: np.array([row_of[t[n]["image_id"]] for n in by_part[p]], dtype=np.int64) for p in by_part}
    test_ids = sorted({r["image_id"] for r in split if r["split"] == "test"})
    outputs: dict[str, np.ndarray] = {}
    for loss in cfg["regression"]["losses"]:
        name = f"regression-{loss}"
        final = ctx.partial_dir / "models" / name
        started = time.perf_counter()
        if (final / "model.json").is_file():
            model = BigramRegressor.load(final, device=device)
        else:
            model = BigramRegressor.from_parent(parent, cfg["regression"], loss=loss, outputs=vectors.shape[1],
                                                device=device)
            model.fit(images[rows_of["train"]], vectors[by_part["train"]], images[rows_of["validation"]],
                      vectors[by_part["validation"]], checkpoint=ctx.partial_dir / "checkpoints" / name)
            model.save(final)
        metrics["seconds"][name] = round(time.perf_counter() - started, 1)
        metrics["regression"][loss] = {"best_epoch": model.best_epoch_, "best_val_cosine": model.best_val_cosine_,
                                       "history": model.history_}
        outputs[loss] = model.predict(images[[row_of[i] for i in test_ids]]) if test_ids else \
            np.zeros((0, vectors.shape[1]), np.float32)

    # ---- keywords and recall at K on the test split
    from .evaluation import keyword_rows, keyword_scores

    kw_rows = keyword_rows(ws, cfg, wv, test_ids, outputs, truth, split)
    kw_eval = keyword_scores(kw_rows, truth, split, ws, cfg, cfg["arch"])
    ctx.write_parquet("keywords.parquet", pa.Table.from_pylist(kw_rows, schema=_KEYWORD_SCHEMA))
    metrics["keywords"] = kw_eval
    _examples(ctx, cfg, kw_rows, images, row_of)

    # ---- contrastive model and the image-text retrieval table
    from .evaluation import retrieval_table, term_words

    table = None
    if cfg["contrastive"]["run"]:
        from .contrastive import ContrastiveModel, mean_vectors

        keys, tokens = _sentence_tokens(ws, cfg)
        pairs = [(n, k) for n, k in enumerate(keys) if k["image_id"] in row_of]
        texts = mean_vectors([tokens[n] for n, _ in pairs], wv.index, wv.matrix)
        part = np.array([split_of[k["image_id"]] for _, k in pairs])
        prow = np.array([row_of[k["image_id"]] for _, k in pairs], dtype=np.int64)
        final = ctx.partial_dir / "models" / "contrastive"
        started = time.perf_counter()
        if (final / "model.json").is_file():
            cmodel = ContrastiveModel.load(final, device=device)
        else:
            cmodel = ContrastiveModel.from_parent(parent, cfg["contrastive"], text_dim=wv.dim, device=device)
            tr, va = part == "train", part == "validation"
            cmodel.fit(images[prow[tr]], texts[tr], images[prow[va]], texts[va],
                       checkpoint=ctx.partial_dir / "checkpoints" / "contrastive")
            cmodel.save(final)
        metrics["seconds"]["contrastive"] = round(time.perf_counter() - started, 1)
        metrics["contrastive"] = {"best_epoch": cmodel.best_epoch_, "best_val_r1": cmodel.best_val_r1_,
                                  "history": cmodel.history_}
        te = [j for j in range(len(pairs)) if part[j] == "test"]
        test_pairs = [pairs[j][1] for j in te]
        table = retrieval_table(cfg, test_pairs, texts[te], [tokens[pairs[j][0]] for j in te], test_ids,
                                cmodel.encode_images(images[[row_of[i] for i in test_ids]]) if test_ids else None,
                                cmodel, outputs, wv, term_words(ws))
        # the archive's index: every key image of the data set
        from .search import NeighbourIndex

        emb = cmodel.encode_images(images)
        index = NeighbourIndex(cfg["index"]["exact_below"], cfg["index"]["hnsw_m"], cfg["index"]["ef_search"]).fit(emb)
        file = index.save(ctx.path("index.safetensors" if index.kind_ == "exact" else "index.faiss"))
        ctx.write_parquet("index.parquet", pa.table({"image_id": pa.array(ids, pa.string())}))
        metrics["index"] = {"kind": index.kind_, "images": len(ids), "file": file.name}
        metrics["retrieval"] = table
    from .evaluation import markdown

    ctx.write_json("evaluation/retrieval.json", {"keywords": kw_eval, "retrieval": table, "targets": counts})
    from ..workspace import atomic_path

    with atomic_path(ctx.path("evaluation/retrieval.md")) as tmp:
        tmp.write_text(markdown(kw_eval, table, counts), "utf-8")
    for name in [f"regression-{loss}" for loss in cfg["regression"]["losses"]] + \
            (["contrastive"] if cfg["contrastive"]["run"] else []):
        for file in ("model.safetensors", "model.json"):
            os.replace(ctx.partial_dir / "models" / name / file, ctx.path(f"models/{name}/{file}"))
    ctx.counts.update({"targets": counts["targets"], "test_images": len(test_ids)})
    return metrics


def _examples(ctx: StageContext, cfg: dict[str, Any], rows: list[dict[str, Any]], images: np.ndarray,
              row_of: dict[str, int]) -> None:
    """evaluation/examples.png: the first ``keywords.examples`` test images (in image_id order)
    with their referring sentence and the keywords of ``regression.keywords_loss``."""
    from .figures import examples_figure

    keys = pq.read_table(ctx.workspace.require("extract", "key_images.parquet"), columns=["image_id", "sentence"])
    sentence: dict[str, str] = {}
    for image_id, text in zip(keys.column("image_id").to_pylist(), keys.column("sentence").to_pylist()):
        sentence.setdefault(image_id, text)
    loss = cfg["regression"]["keywords_loss"]
    chosen = [r for r in rows if r["loss"] == loss][: int(cfg["keywords"]["examples"])]
    examples_figure(ctx.path("evaluation/examples.png"),
                    [{"image": images[row_of[r["image_id"]], 0], "image_id": r["image_id"],
                      "sentence": sentence.get(r["image_id"], ""), "keywords": r["keywords"], "truth": r["truth"]}
                     for r in chosen], f"test key images, keywords by the bigram regression CNN ({loss} loss)")


_KEYWORD_SCHEMA = pa.schema([
    ("image_id", pa.string()), ("loss", pa.string()),
    ("topics", pa.list_(pa.string())), ("keywords", pa.list_(pa.string())), ("scores", pa.list_(pa.float32())),
    ("ranked", pa.list_(pa.string())), ("baseline", pa.list_(pa.string())), ("truth", pa.list_(pa.string())),
])
