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
}


def _runner(stage: str):
    if stage not in STAGES:
        raise KeyError(f"unknown stage '{stage}' in run.stages (known: {', '.join(STAGES)})")
    module, _, name = STAGES[stage].partition(":")
    return getattr(importlib.import_module(module), name)


def run_pipeline(export: Path, ws: Workspace, config: dict[str, Any], force: bool = False) -> list[StageResult]:
    """Run ``config["run"]["stages"]`` in order on ``export`` into ``ws``."""
    results = []
    for stage in config["run"]["stages"]:
        runner = _runner(stage)
        if stage == "ingest":
            results.append(runner(Path(export), ws, config, force=force))
        else:
            results.append(runner(ws, config, force=force))
    return results


def _phantom_is_current(export: Path, reports: int, seed: int, phantom_config: dict[str, Any]) -> bool:
    """True when ``export`` is a finished phantom of this size, seed and [phantom] config."""
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
        and info.get("images") is True
        and info.get("config") == json.loads(json.dumps(phantom_config))
    )


def run_demo(config: dict[str, Any], reports: int | None = None) -> dict[str, Any]:
    """Phantom export -> every stage -> evaluation, in the current folder; returns the evaluation.

    The phantom is regenerated only when its size or seed changed; it is written to a
    temporary folder and renamed, so an interrupted generation is never mistaken for a
    finished one.
    """
    from .evaluate import print_table, run_evaluate
    from .phantom import generate

    demo = config["run"]["demo"]
    reports = int(reports if reports is not None else demo["reports"])
    seed = int(demo["seed"])
    export = Path(demo["export"]).resolve()
    ws = Workspace(demo["workspace"])
    started = time.perf_counter()

    if _phantom_is_current(export, reports, seed, config["phantom"]):
        console.print(f"[green]phantom[/]: {export} is current ({reports} reports, seed {seed})")
    else:
        console.rule(f"phantom: {reports} reports, seed {seed}")
        tmp = export.with_name(export.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        generate(tmp, reports=reports, seed=seed, config=config["phantom"], images=True)
        shutil.rmtree(export, ignore_errors=True)
        tmp.rename(export)

    for stage in config["run"]["stages"]:
        console.rule(stage)
        runner = _runner(stage)
        if stage == "ingest":
            runner(export, ws, config)
        else:
            runner(ws, config)

    console.rule("evaluate")
    evaluation = run_evaluate(ws, config)
    print_table(evaluation)
    seconds = time.perf_counter() - started
    console.rule("results")
    console.print(f"phantom export (with ground truth in truth/): {export}")
    console.print(f"workspace: {ws.root}")
    for stage in config["run"]["stages"]:
        console.print(f"  {stage:<8} {ws.stage_dir(stage)}  (metrics.json, manifest.json)")
    console.print(f"  evaluation {ws.root / 'evaluation.json'}")
    console.print("  layout and columns: docs/workspace.md")
    console.print(f"demo finished in {seconds:.0f} s")
    return evaluation
