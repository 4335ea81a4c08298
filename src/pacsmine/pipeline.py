"""``pacsmine run`` and ``pacsmine demo``: chain the stages.

Each stage skips itself when it is up to date (see workspace.py), so ``run`` on a
finished workspace costs only the fingerprinting, and an interrupted ``run``
resumes where it stopped.
"""

from __future__ import annotations

import importlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from .progress import console
from .workspace import StageResult, Workspace

__all__ = ["STAGES", "run_pipeline", "run_demo"]

# stage -> "module:function". Every runner takes (ws, config, force=...); ingest also the export.
# Later stages (vectors, images, retrieval, report) add a line here and a name in run.stages.
STAGES: dict[str, str] = {
    "ingest": "pacsmine.ingest:run_ingest",
    "extract": "pacsmine.nlp:run_extract",
    "topics": "pacsmine.topics:run_topics",
    "vectors": "pacsmine.vectors:run_vectors",
    "images": "pacsmine.images:run_images",
    "retrieval": "pacsmine.retrieval:run_retrieval",
}


def _runner(stage: str):
    if stage not in STAGES:
        raise KeyError(f"unknown stage '{stage}' in run.stages (known: {', '.join(STAGES)})")
    module, _, name = STAGES[stage].partition(":")
    return getattr(importlib.import_module(module), name)


def run_pipeline(export: Path, ws: Workspace, config: dict[str, Any], force: bool = False) -> list[StageResult]:
    """Run ``config["run"]["stages"]`` in order on ``export`` into ``ws``, holding the
    workspace lock throughout (no other run gets in between two stages)."""
    results = []
    with ws.lock("run"):
        for stage in config["run"]["stages"]:
            runner = _runner(stage)
            if stage == "ingest":
                results.append(runner(Path(export), ws, config, force=force))
            else:
                results.append(runner(ws, config, force=force))
    return results


def _phantom_is_current(export: Path, reports: int, seed: int, phantom_config: dict[str, Any],
                        images: bool = True) -> bool:
    """True when ``export`` is a finished phantom of this size, seed, images flag and [phantom] config."""
    meta = export / "export.json"
    if not meta.exists():
        return False
    try:
        info = json.loads(meta.read_text("utf-8"))
    except json.JSONDecodeError:
        return False
    return (
        info.get("generator") == "pacsmine.phantom"
        and info.get("reports") == reports
        and info.get("seed") == seed
        and info.get("images") is images
        and info.get("config") == json.loads(json.dumps(phantom_config))
    )


def _demo_phantom(export: Path, reports: int, seed: int, phantom_config: dict[str, Any], images: bool) -> None:
    """(Re)generate the demo's phantom in ``export`` unless it is current; written to a
    temporary folder and renamed, so an interrupted generation is never taken for a finished one."""
    from .phantom import generate

    label = f"{phantom_config['difficulty']} phantom"
    if _phantom_is_current(export, reports, seed, phantom_config, images):
        console.print(f"[green]{label}[/]: {export} is current ({reports} reports, seed {seed})")
        return
    console.rule(f"{label}: {reports} reports, seed {seed}" + ("" if images else ", text only"))
    tmp = export.with_name(export.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    generate(tmp, reports=reports, seed=seed, config=phantom_config, images=images)
    shutil.rmtree(export, ignore_errors=True)
    tmp.rename(export)


def _demo_stages(export: Path, ws: Workspace, config: dict[str, Any], stages: list[str], label: str) -> None:
    for stage in stages:
        console.rule(f"{stage} ({label})")
        runner = _runner(stage)
        if stage == "ingest":
            runner(export, ws, config)
        else:
            runner(ws, config)


def _demo_predict(ws: Workspace, export: Path, config: dict[str, Any], n: int) -> None:
    """``pacsmine predict`` on the DICOM files of ``n`` test-split key images of ``export``, as
    a user calls it on new images; prints each answer and the time per image."""
    import pyarrow.parquet as pq

    from .retrieval.predict import predict

    split = pq.read_table(ws.require("images", "dataset/split.parquet"), columns=["image_id", "split"])
    test = [i for i, part in zip(split.column("image_id").to_pylist(), split.column("split").to_pylist())
            if part == "test"][:n]
    images = pq.read_table(ws.require("ingest", "images.parquet"), columns=["image_id", "source"])
    source = dict(zip(images.column("image_id").to_pylist(), images.column("source").to_pylist()))
    paths = [export / source[i] for i in test]
    console.rule(f"predict ({len(paths)} test key images of the easy phantom, as new DICOM files)")
    started = time.perf_counter()
    answers = predict(paths, ws, config)
    seconds = time.perf_counter() - started
    for answer in answers:
        console.print(f"[bold]{Path(answer['image']).relative_to(export)}[/] (export {export.name})")
        if "error" in answer:
            console.print(f"  error: {answer['error']}")
            continue
        for level, rows in answer["topics"].items():
            best = rows[0]
            console.print(f"  {level}: topic {best['topic']} (p {best['p']:.2f}: {' '.join(best['top_words'][:5])})")
        console.print(f"  keywords: {', '.join(answer['keywords'])}")
        # The archive holds the image itself (score 1.00): the second neighbour shows another.
        for near in answer["neighbours"][:2]:
            console.print(f"  near key image {near['image_id']} ({near['score']:.2f}): {near['sentence']}")
    console.print(f"predict: {len(paths)} images in {seconds:.1f} s, models loaded once "
                  "(`pacsmine predict IMAGE... --workspace WS [--json]`)")


def run_demo(config: dict[str, Any], reports: int | None = None) -> dict[str, Any]:
    """Two phantom exports -> the stages -> evaluation, in the current folder; returns
    ``{"easy": evaluation, "hard": evaluation}``.

    The easy phantom (``run.demo``: with images, every stage of ``run.stages``) tests the
    plumbing; the hard phantom (``run.demo.hard``: phantom.difficulty = "hard", by default
    text only and the text stages only, to keep the demo short) tests the NLP on what real
    reports do (docs/phantom.md). Each phantom is regenerated only when its size, seed or
    config changed. ``reports`` overrides both sizes.
    """
    from .evaluate import print_side_by_side, print_table, run_evaluate

    demo = config["run"]["demo"]
    hard = demo["hard"]
    seed = int(demo["seed"])
    started = time.perf_counter()
    runs = (
        ("easy", int(reports if reports is not None else demo["reports"]), Path(demo["export"]).resolve(),
         Workspace(demo["workspace"]), True, list(config["run"]["stages"])),
        ("hard", int(reports if reports is not None else hard["reports"]), Path(hard["export"]).resolve(),
         Workspace(hard["workspace"]), bool(hard["images"]), list(hard["stages"])),
    )
    evaluations: dict[str, Any] = {}
    for difficulty, n, export, ws, images, stages in runs:
        phantom_config = {**config["phantom"], "difficulty": difficulty}
        _demo_phantom(export, n, seed, phantom_config, images)
        _demo_stages(export, ws, config, stages, f"{difficulty} phantom")
        console.rule(f"evaluate ({difficulty} phantom)")
        evaluations[difficulty] = run_evaluate(ws, config)
        print_table(evaluations[difficulty])
        if "retrieval" in stages and images and int(demo["predict_images"]) > 0:
            _demo_predict(ws, export, config, int(demo["predict_images"]))
    print_side_by_side({f"{d} phantom": e for d, e in evaluations.items()})
    seconds = time.perf_counter() - started
    console.rule("results")
    for difficulty, n, export, ws, images, stages in runs:
        console.print(f"{difficulty} phantom export ({n} reports{'' if images else ', text only'}; "
                      f"ground truth in truth/): {export}")
        console.print(f"  workspace: {ws.root}")
        for stage in stages:
            console.print(f"    {stage:<8} {ws.stage_dir(stage)}  (metrics.json, manifest.json)")
        console.print(f"    evaluation {ws.root / 'evaluation.json'}")
    console.print("layout and columns: docs/workspace.md; easy and hard phantoms: docs/phantom.md")
    console.print(f"demo finished in {seconds:.0f} s")
    return evaluations
