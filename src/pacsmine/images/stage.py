"""The images stage: ``pacsmine train --workspace WS``.

Reads topics/key_image_labels.parquet, topics/<level>/topics.parquet and
ingest/images.parquet (the PNGs), and writes under WS/images/ (docs/workspace.md):

    dataset/    split.parquet classes.json rejects.parquet
    models/     <arch>/<level>/model.safetensors model.json   (<arch>-scratch/level1/ for the transfer run)
    evaluation/ predictions.parquet table3.json table3.md transfer.json transfer.md
                confusion/<arch>_<level>.png

Everything in progress (the decoded image cache, per-epoch checkpoints, finished models)
lives in the stage's ``.partial-<fingerprint>/`` until the manifest: a killed run resumes
after the last finished epoch of the model it was training, and finished models are not
trained again.
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
from .dataset import PARTS, class_counts, flagged_mask, kept_classes, split_by_patient

__all__ = ["run_images", "check_config", "LEVELS"]

LEVELS = ("level1", "level2", "level3")


def check_config(cfg: dict[str, Any]) -> None:
    """Settings checked before the stage starts (a ValueError naming the key)."""
    from .networks import ARCHITECTURES

    for arch in list(cfg["architectures"]) + list(cfg["pretrained"]) + [cfg["transfer"]["arch"]]:
        if arch not in ARCHITECTURES:
            raise ValueError(f"images: unknown architecture {arch!r} (known: {', '.join(ARCHITECTURES)})")
    for level in cfg["train"]["levels"]:
        if level not in LEVELS:
            raise ValueError(f"images.train.levels: unknown level {level!r}")
    if cfg["dataset"]["flagged"] not in ("keep", "drop", "subsample"):
        raise ValueError(f"images.dataset.flagged must be keep, drop or subsample, not {cfg['dataset']['flagged']!r}")
    if cfg["train"]["crop"] > cfg["dataset"]["resize"]:
        raise ValueError(f"images.train.crop ({cfg['train']['crop']}) exceeds images.dataset.resize "
                         f"({cfg['dataset']['resize']})")
    if cfg["train"]["crop"] < 32:
        raise ValueError("images.train.crop must be at least 32 (the networks' smallest input)")


def run_images(ws: Workspace, config: dict[str, Any], force: bool = False) -> StageResult:
    """Run the images stage on ``ws`` (``config`` is the full config; uses ``config["images"]``)."""
    cfg = config["images"]
    check_config(cfg)
    inputs = {"ingest": ws.fingerprint("ingest"), "topics": ws.fingerprint("topics")}
    return ws.run_stage("images", cfg, inputs, lambda ctx: _body(ctx, cfg), force=force)


# --------------------------------------------------------------------------- the data set


def build_dataset(ctx: StageContext, cfg: dict[str, Any]) -> dict[str, Any]:
    """Join labels to PNGs, decode them (cached), reject the bad ones, handle flagged topics,
    split, choose the classes; write dataset/{split.parquet, classes.json, rejects.parquet}.

    Returns ``{"split": {column: list}, "classes": {level: [topic]}, "images": uint8 (N, C, R, R)}``
    in split.parquet's row order.
    """
    from .cache import decode_all, load_cache, save_cache

    ws = ctx.workspace
    dcfg = cfg["dataset"]
    labels = pq.read_table(ws.require("topics", "key_image_labels.parquet")).to_pylist()
    ingest = pq.read_table(ws.require("ingest", "images.parquet"), columns=["image_id", "accession", "patient_id", "png"])
    png_of = dict(zip(ingest.column("image_id").to_pylist(), ingest.column("png").to_pylist()))
    # The patient of an image: its own DICOM PatientID, else its report's patient_id (an export
    # of JPEGs such as MedPix has none per image), else its accession (one patient per study).
    reports = pq.read_table(ws.require("ingest", "reports.parquet"), columns=["accession", "patient_id"])
    report_patient = dict(zip(reports.column("accession").to_pylist(), reports.column("patient_id").to_pylist()))
    patient_of = {}
    for image_id, accession, patient in zip(ingest.column("image_id").to_pylist(), ingest.column("accession").to_pylist(),
                                            ingest.column("patient_id").to_pylist()):
        patient_of[image_id] = patient or report_patient.get(accession) or f"accession:{accession}"
    topics1 = pq.read_table(ws.require("topics", "level1/topics.parquet"), columns=["topic", "flagged"])
    flagged = {t for t, f in zip(topics1.column("topic").to_pylist(), topics1.column("flagged").to_pylist()) if f}

    rejects: list[dict[str, Any]] = []
    candidates = []
    for row in labels:
        image_id = row["image_id"]
        if image_id not in png_of or png_of[image_id] is None:
            rejects.append({"image_id": image_id, "png": None, "reason": "no_image_row",
                            "detail": "not in ingest/images.parquet"})
        elif row["level1"] is None:
            rejects.append({"image_id": image_id, "png": png_of[image_id], "reason": "no_level1_topic",
                            "detail": "its report has no level-1 topic"})
        else:
            candidates.append(row)
    resize = int(dcfg["resize"])
    ids = [r["image_id"] for r in candidates]
    cache = ctx.partial_dir / f"cache-{resize}.safetensors"
    cached = load_cache(cache, ids)
    if cached is None:
        started = time.perf_counter()
        images, reasons = decode_all([ws.root / png_of[i] for i in ids], resize)
        save_cache(cache, images, ids, reasons)
        console.print(f"images: decoded {len(ids)} PNGs at {resize} px in {time.perf_counter() - started:.1f} s")
    else:
        images, reasons = cached
    good = np.array([r is None for r in reasons], dtype=bool)
    for row, reason in zip(candidates, reasons):
        if reason is not None:
            rejects.append({"image_id": row["image_id"], "png": png_of[row["image_id"]], "reason": reason,
                            "detail": "file absent" if reason == "missing_png" else "PIL cannot decode it"})
    rows = [r for r, g in zip(candidates, good) if g]
    images = images[good]
    patients = [str(patient_of[r["image_id"]]) for r in rows]
    level1 = [str(r["level1"]) for r in rows]
    keep = flagged_mask(level1, patients, flagged, dcfg["flagged"], float(dcfg["subsample_ratio"]), int(cfg["seed"]))
    left_out_flagged = int((~keep).sum())
    rows = [r for r, k in zip(rows, keep) if k]
    patients = [p for p, k in zip(patients, keep) if k]
    images = images[keep]
    parts = split_by_patient(patients, [str(r["level1"]) for r in rows], dcfg["fractions"], int(cfg["seed"]))
    split = {"image_id": [r["image_id"] for r in rows], "patient_id": patients, "split": list(parts)}
    for level in LEVELS:
        split[level] = [None if r[level] is None else str(r[level]) for r in rows]
    classes = {level: kept_classes(split[level], parts, int(dcfg["min_per_split"])) for level in LEVELS}

    ctx.write_parquet("dataset/split.parquet", pa.table({k: pa.array(v, pa.string()) for k, v in split.items()}))
    doc: dict[str, Any] = {"rule": f"a topic is kept when it has at least {dcfg['min_per_split']} image(s) in each of "
                                   "train, validation and test",
                           "flagged": {"mode": dcfg["flagged"], "topics": sorted(flagged), "images_left_out": left_out_flagged}}
    for level in LEVELS:
        counts = class_counts(split[level], parts)
        doc[level] = {
            "classes": {t: i for i, t in enumerate(classes[level])},
            "counts": {t: counts[t] for t in classes[level]},
            "left_out": {t: c for t, c in sorted(counts.items()) if t not in set(classes[level])},
        }
    ctx.write_json("dataset/classes.json", doc)
    ctx.write_parquet("dataset/rejects.parquet", pa.table({
        "image_id": pa.array([r["image_id"] for r in rejects], pa.string()),
        "png": pa.array([r["png"] for r in rejects], pa.string()),
        "reason": pa.array([r["reason"] for r in rejects], pa.string()),
        "detail": pa.array([r["detail"] for r in rejects], pa.string()),
    }))
    if rejects:
        by = {}
        for r in rejects:
            by[r["reason"]] = by.get(r["reason"], 0) + 1
        console.print(f"[yellow]images[/]: {len(rejects)} key images rejected: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
    n = {p: int(np.sum(parts == p)) for p in PARTS}
    console.print(f"images: {len(rows)} key images of {len(set(patients))} patients: train {n['train']}, "
                  f"validation {n['validation']}, test {n['test']}; classes "
                  + ", ".join(f"{lv} {len(classes[lv])}" for lv in LEVELS))
    return {"split": split, "classes": classes, "images": images, "rejects": len(rejects),
            "flagged_left_out": left_out_flagged}


# --------------------------------------------------------------------------- training


def _train_one(ctx: StageContext, cfg: dict[str, Any], data: dict[str, Any], name: str, arch: str, level: str,
               pretrained: bool, parent: Path | None, device: str) -> tuple[Path, dict[str, Any]]:
    """Train (or resume, or reuse) one classifier; returns (its finished folder in the partial
    scratch, a summary)."""
    from .classifier import TopicClassifier

    final = ctx.partial_dir / "models" / name / level / "final"
    classes = data["classes"][level]
    if (final / "model.json").is_file():
        console.print(f"[green]{name} {level}[/]: finished in an earlier run; reused")
        model = TopicClassifier.load(final, device=device)
        return final, {"best_epoch": model.best_epoch_, "best_val_top1": model.best_val_top1_, "seconds": None,
                       "resumed_from_epoch": None}
    index = {t: i for i, t in enumerate(classes)}
    split = data["split"]
    rows = {p: np.array([i for i, (s, t) in enumerate(zip(split["split"], split[level])) if s == p and t in index],
                        dtype=np.int64) for p in PARTS}
    targets = {p: np.array([index[split[level][i]] for i in rows[p]], dtype=np.int64) for p in PARTS}
    model = TopicClassifier.from_config(cfg, arch, level, classes, pretrained=pretrained, init_from=parent,
                                        device=device)
    started = time.perf_counter()
    model.fit(data["images"][rows["train"]], targets["train"], data["images"][rows["validation"]],
              targets["validation"], checkpoint=ctx.partial_dir / "models" / name / level / "checkpoints")
    seconds = time.perf_counter() - started
    model.save(final)
    console.print(f"{name} {level}: best epoch {model.best_epoch_} of {model.epochs}, validation top-1 "
                  f"{model.best_val_top1_:.3f} ({seconds:.0f} s)")
    return final, {"best_epoch": model.best_epoch_, "best_val_top1": model.best_val_top1_,
                   "seconds": round(seconds, 1), "resumed_from_epoch": model.resumed_from_}


def _predict(folder: Path, data: dict[str, Any], name: str, level: str, device: str, top: int) -> list[dict[str, Any]]:
    """Prediction rows for the validation and test images of one finished classifier, each
    with its ``top`` most probable topics (the largest of images.evaluate.top_k)."""
    from .classifier import TopicClassifier
    from .metrics import top_k_classes

    model = TopicClassifier.load(folder, device=device)
    split = data["split"]
    kept = set(model.classes)
    rows = np.array([i for i, s in enumerate(split["split"]) if s in ("validation", "test")], dtype=np.int64)
    scores = model.predict_scores(data["images"][rows]) if len(rows) else np.zeros((0, len(model.classes)))
    top = top_k_classes(scores, top)
    out = []
    for j, i in enumerate(rows):
        truth = split[level][i]
        out.append({"image_id": split["image_id"][i], "arch": name, "level": level, "split": split["split"][i],
                    "topic": truth if truth in kept else None,
                    "predicted": [model.classes[c] for c in top[j]],
                    "p": [float(scores[j, c]) for c in top[j]]})
    return out


# --------------------------------------------------------------------------- the stage


def _body(ctx: StageContext, cfg: dict[str, Any]) -> dict[str, Any]:
    import torch

    from .classifier import resolve_device
    from .tables import table3, table3_markdown, transfer_markdown

    if int(cfg["threads"]) > 0:
        torch.set_num_threads(int(cfg["threads"]))
    device = resolve_device(cfg["device"])
    data = build_dataset(ctx, cfg)
    top_k = [int(k) for k in cfg["evaluate"]["top_k"]]
    trained: dict[tuple[str, str], Path] = {}
    summary: dict[str, Any] = {}
    predictions: list[dict[str, Any]] = []
    console.print(f"images: training on {device}")
    for arch in cfg["architectures"]:
        parent: Path | None = None
        for level in cfg["train"]["levels"]:
            if len(data["classes"][level]) < 2:
                console.print(f"[yellow]{arch} {level}[/]: {len(data['classes'][level])} kept topic(s); not trained")
                continue
            pretrained = parent is None and arch in cfg["pretrained"] and level == "level1"
            folder, info = _train_one(ctx, cfg, data, arch, arch, level, pretrained, parent, device)
            trained[(arch, level)] = folder
            summary[f"{arch}/{level}"] = info
            predictions += _predict(folder, data, arch, level, device, max(top_k))
            parent = folder

    transfer = None
    if cfg["transfer"]["run"] and len(data["classes"]["level1"]) >= 2:
        transfer = _transfer(ctx, cfg, data, trained, device, summary)

    # ---- evaluation artefacts
    ctx.write_parquet("evaluation/predictions.parquet", pa.table({
        "image_id": pa.array([r["image_id"] for r in predictions], pa.string()),
        "arch": pa.array([r["arch"] for r in predictions], pa.string()),
        "level": pa.array([r["level"] for r in predictions], pa.string()),
        "split": pa.array([r["split"] for r in predictions], pa.string()),
        "topic": pa.array([r["topic"] for r in predictions], pa.string()),
        "predicted": pa.array([r["predicted"] for r in predictions], pa.list_(pa.string())),
        "p": pa.array([r["p"] for r in predictions], pa.list_(pa.float32())),
    }))
    table = table3(predictions, data["split"], data["classes"], top_k)
    ctx.write_json("evaluation/table3.json", table)
    _write_text(ctx, "evaluation/table3.md", table3_markdown(table, top_k, "Table 3: key image to topic"))
    if transfer is not None:
        ctx.write_json("evaluation/transfer.json", transfer)
        _write_text(ctx, "evaluation/transfer.md", transfer_markdown(transfer, top_k))
    _confusions(ctx, cfg, data, predictions)

    # ---- finished models into place
    for (name, level), folder in trained.items():
        for file in ("model.safetensors", "model.json"):
            os.replace(folder / file, ctx.path(f"models/{name}/{level}/{file}"))
    ctx.counts.update({"key_images": len(data["split"]["image_id"]), "rejects": data["rejects"],
                       "models": len(trained)})
    return {"key_images": len(data["split"]["image_id"]), "rejects": data["rejects"],
            "flagged_left_out": data["flagged_left_out"],
            "classes": {lv: len(c) for lv, c in data["classes"].items()},
            "device": device, "models": summary, "table3": table,
            "transfer": None if transfer is None else {k: transfer[k] for k in ("imagenet", "scratch")}}


def _write_text(ctx: StageContext, relative: str, text: str) -> None:
    from ..workspace import atomic_path

    with atomic_path(ctx.path(relative)) as tmp:
        tmp.write_text(text, "utf-8")


def _transfer(ctx: StageContext, cfg: dict[str, Any], data: dict[str, Any], trained: dict[tuple[str, str], Path],
              device: str, summary: dict[str, Any]) -> dict[str, Any]:
    """Level 1 of ``transfer.arch`` from ImageNet weights against from random initialisation."""
    from .tables import accuracy_of, table3

    arch = cfg["transfer"]["arch"]
    top_k = [int(k) for k in cfg["evaluate"]["top_k"]]
    if (arch, "level1") in trained and arch in cfg["pretrained"]:
        imagenet = trained[(arch, "level1")]
    else:
        imagenet, info = _train_one(ctx, cfg, data, f"{arch}-imagenet", arch, "level1", True, None, device)
        trained[(f"{arch}-imagenet", "level1")] = imagenet
        summary[f"{arch}-imagenet/level1"] = info
    scratch, info = _train_one(ctx, cfg, data, f"{arch}-scratch", arch, "level1", False, None, device)
    trained[(f"{arch}-scratch", "level1")] = scratch
    summary[f"{arch}-scratch/level1"] = info
    from .classifier import TopicClassifier

    result: dict[str, Any] = {"arch": arch, "level": "level1", "epochs": int(cfg["train"]["epochs"]),
                              "crop": int(cfg["train"]["crop"]),
                              "train_images": int(sum(1 for s, t in zip(data["split"]["split"], data["split"]["level1"])
                                                      if s == "train" and t in set(data["classes"]["level1"])))}
    for name, folder in (("imagenet", imagenet), ("scratch", scratch)):
        rows = _predict(folder, data, name, "level1", device, max(top_k))
        result[name] = {p: {f"top{k}": accuracy_of([r for r in rows if r["split"] == p], k) for k in top_k}
                        for p in ("validation", "test")}
        result[name]["best_epoch"] = TopicClassifier.load(folder).best_epoch_
    base = table3([], data["split"], {"level1": data["classes"]["level1"]}, top_k)["level1"]["baseline"]
    result["baseline"] = base
    console.print(f"transfer ({arch}, level 1): test top-1 ImageNet {result['imagenet']['test']['top1']:.3f}, "
                  f"scratch {result['scratch']['test']['top1']:.3f}, baseline {base['test']['top1']:.3f}")
    return result


def _confusions(ctx: StageContext, cfg: dict[str, Any], data: dict[str, Any], predictions: list[dict[str, Any]]) -> None:
    """evaluation/confusion/<arch>_<level>.png on the test split, clustered, labelled by top words."""
    from .figures import confusion_figure
    from .metrics import cluster_order, confusion_matrix

    n_words = int(cfg["evaluate"]["label_words"])
    words: dict[str, dict[str, list[str]]] = {}
    for level in LEVELS:
        path = ctx.workspace.stage_dir("topics") / level / "topics.parquet"
        if path.exists():
            t = pq.read_table(path, columns=["topic", "top_words"])
            words[level] = dict(zip(t.column("topic").to_pylist(), t.column("top_words").to_pylist()))
    for arch, level in sorted({(r["arch"], r["level"]) for r in predictions}):
        classes = data["classes"][level]
        index = {t: i for i, t in enumerate(classes)}
        rows = [r for r in predictions if r["arch"] == arch and r["level"] == level and r["split"] == "test"
                and r["topic"] is not None]
        matrix = confusion_matrix([index[r["topic"]] for r in rows], [index[r["predicted"][0]] for r in rows],
                                  len(classes))
        labels = [f"{t}: " + " ".join((words.get(level, {}).get(t) or [])[:n_words]) for t in classes]
        confusion_figure(ctx.path(f"evaluation/confusion/{arch}_{level}.png"), matrix, labels, cluster_order(matrix),
                         f"{arch} {level}: test confusion ({len(rows)} images)")
