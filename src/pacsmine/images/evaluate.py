"""Scoring the images stage for ``pacsmine evaluate`` (:func:`evaluate_images`).

Always: the test top-1/top-5 accuracy per level and architecture (evaluation/table3.json),
each level's majority baseline, and the transfer comparison when it ran.

Against labels the training never saw (:mod:`.metrics`, "carries"): each level-1 topic gets
the majority label of the **train** images whose (mined) level-1 topic it is; a test image's
predicted level-1 topic carries its true label when that majority equals it. Beside it, the
same for the image's true (mined) level-1 topic (the ceiling: what a perfect classifier of
these topics would carry) and for the train split's most frequent label (the baseline).
Test images whose level-1 topic is kept are scored (Table 3's images).

- A phantom (``truth_dir``): the image's **region** (truth/reports.parquet of its
  accession) and its **finding** (truth/images.parquet ``findings`` of its DICOM file: a topic
  carries a finding when its majority finding is among the image's findings; images
  without a finding are left out of that score).
- An export with ``labels.csv`` beside its reports (medpix_train: ``path``,
  ``location_category`` per image), found through the ingest manifest's export path as
  :func:`pacsmine.evaluate.find_truth` finds ``truth/``: the **location category**.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..workspace import Workspace
from .metrics import carry_rate, majority_labels

__all__ = ["evaluate_images", "load_split", "load_classes", "carry_scores"]


def load_split(ws: Workspace) -> dict[str, list]:
    """images/dataset/split.parquet as ``{column: list}``."""
    return pq.read_table(ws.require("images", "dataset/split.parquet")).to_pydict()


def load_classes(ws: Workspace) -> dict[str, Any]:
    """images/dataset/classes.json (per level: ``classes`` topic id -> class index, ``counts``)."""
    return json.loads(ws.require("images", "dataset/classes.json").read_text("utf-8"))


def carry_scores(split: dict[str, list], predictions: list[dict[str, Any]], truth_of: dict[str, Any],
                 level: str = "level1") -> dict[str, Any]:
    """Carry rates of one label (``truth_of``: image_id -> value or list of values; images
    absent from it are left out) per architecture, for the true topic and for the baseline;
    ``images`` scored and each topic's ``majority`` label. ``predictions`` are those of ``level``."""
    train = [(t, truth_of[i]) for i, s, t in zip(split["image_id"], split["split"], split[level])
             if s == "train" and i in truth_of and truth_of[i] not in (None, [])]
    majority = majority_labels([t for t, _ in train], [v for _, v in train])
    overall = majority_labels(["all"] * len(train), [v for _, v in train]).get("all")
    level1_of = dict(zip(split["image_id"], split[level]))
    out: dict[str, Any] = {}
    images = None
    for arch in sorted({r["arch"] for r in predictions}):
        rows = [r for r in predictions if r["arch"] == arch and r["split"] == "test" and r["topic"] is not None
                and r["image_id"] in truth_of and truth_of[r["image_id"]] not in (None, [])]
        truths = [truth_of[r["image_id"]] for r in rows]
        out[arch] = carry_rate([r["predicted"][0] for r in rows], truths, majority)
        if images is None:
            images = len(rows)
            out["true_topic"] = carry_rate([level1_of[r["image_id"]] for r in rows], truths, majority)
            out["baseline"] = carry_rate(["all"] * len(rows), truths, {"all": overall} if overall else {})
    out["images"] = images or 0
    out["majority"] = {str(t): v for t, v in sorted(majority.items(), key=lambda kv: str(kv[0]))}
    return out


def _medpix_labels(ws: Workspace) -> dict[str, str] | None:
    """image_id -> location_category from the export's labels.csv, or None without one."""
    manifest = ws.manifest("ingest") or {}
    export = manifest.get("export")
    if not export or not (Path(export) / "labels.csv").is_file():
        return None
    with open(Path(export) / "labels.csv", newline="", encoding="utf-8") as fh:
        category = {row["path"]: row["location_category"] for row in csv.DictReader(fh)
                    if row.get("location_category")}
    images = pq.read_table(ws.require("ingest", "images.parquet"), columns=["image_id", "source"])
    return {i: category[s] for i, s in zip(images.column("image_id").to_pylist(), images.column("source").to_pylist())
            if s in category}


def _phantom_labels(ws: Workspace, truth_dir: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(image_id -> true region, image_id -> true findings) of a phantom."""
    images = pq.read_table(ws.require("ingest", "images.parquet"), columns=["image_id", "accession", "source"])
    truth_images = pq.read_table(Path(truth_dir) / "images.parquet", columns=["path", "findings"])
    findings_of = dict(zip(truth_images.column("path").to_pylist(), truth_images.column("findings").to_pylist()))
    reports = pq.read_table(Path(truth_dir) / "reports.parquet", columns=["accession", "region"])
    region_of = dict(zip(reports.column("accession").to_pylist(), reports.column("region").to_pylist()))
    regions, findings = {}, {}
    for image_id, accession, source in zip(images.column("image_id").to_pylist(), images.column("accession").to_pylist(),
                                           images.column("source").to_pylist()):
        if accession in region_of:
            regions[image_id] = region_of[accession]
        if source in findings_of and findings_of[source]:
            findings[image_id] = list(findings_of[source])
    return regions, findings


def evaluate_images(ws: Workspace, truth_dir: Path | None) -> dict[str, Any]:
    """``{"classes", "test": {level: {arch: {"top1", "top5"}}}, "baseline": {level: {...}},
    "transfer"?, "region"/"finding" (phantom) or "location_category" (labels.csv)}``, the
    region and location category also for the level-2 CNN (``"level2"`` inside them)."""
    root = ws.stage_dir("images")
    table = json.loads(ws.require("images", "evaluation/table3.json").read_text("utf-8"))
    out: dict[str, Any] = {
        "classes": {level: entry["classes"] for level, entry in table.items()},
        "test": {level: {arch: s["test"] for arch, s in entry["architectures"].items()} for level, entry in table.items()},
        "baseline": {level: entry["baseline"]["test"] for level, entry in table.items()},
    }
    if (root / "evaluation/transfer.json").is_file():
        transfer = json.loads((root / "evaluation/transfer.json").read_text("utf-8"))
        out["transfer"] = {"arch": transfer["arch"], "imagenet": transfer["imagenet"]["test"],
                           "scratch": transfer["scratch"]["test"], "baseline": transfer["baseline"]["test"]}
    split = load_split(ws)
    every = pq.read_table(root / "evaluation/predictions.parquet").to_pylist()
    predictions = [r for r in every if r["level"] == "level1"]
    # Level 2 beside level 1: where level 1 has few topics (MedPix: K = 4) the finer level
    # shows whether the CNN's topics separate the labels at all.
    level2 = [r for r in every if r["level"] == "level2"]
    if truth_dir is not None and (Path(truth_dir) / "images.parquet").is_file():
        regions, findings = _phantom_labels(ws, Path(truth_dir))
        out["region"] = carry_scores(split, predictions, regions)
        out["finding"] = carry_scores(split, predictions, findings)
        if level2:
            out["region"]["level2"] = carry_scores(split, level2, regions, "level2")
    else:
        categories = _medpix_labels(ws)
        if categories is not None:
            out["location_category"] = carry_scores(split, predictions, categories)
            out["location_category"]["categories"] = dict(Counter(categories.values()))
            if level2:
                out["location_category"]["level2"] = carry_scores(split, level2, categories, "level2")
    return out
