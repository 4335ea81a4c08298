"""``pacsmine evaluate``: score every stage present in a workspace against a ground truth.

The ground truth is a phantom export's ``truth/`` folder (docs/export.md), found
through the ingest manifest's ``export`` path unless ``--truth`` names one. This is
the only module that hands the truth to anything: mining stages never see it.

Each stage module contributes one scorer, ``evaluate_<stage>(ws, truth_dir) -> dict``;
``truth_dir`` is None for an export without ground truth, and the scorer then reports
what it can (counts, labels a real export carries). The result is written to
``WS/evaluation.json``, nested by stage.
"""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path
from typing import Any

from .progress import console
from .workspace import Workspace, write_json

__all__ = ["SCORERS", "find_truth", "run_evaluate", "print_table", "flatten"]

# stage -> "module:function"; later stages (vectors, images, retrieval) add a line here.
SCORERS: dict[str, str] = {
    "ingest": "pacsmine.ingest:evaluate_ingest",
    "extract": "pacsmine.nlp:evaluate_extract",
    "topics": "pacsmine.topics:evaluate_topics",
}


def find_truth(ws: Workspace, truth: str | Path | None = None) -> Path | None:
    """The ground-truth folder to score against, or None when there is none.

    An explicit ``truth`` must exist; otherwise ``<export>/truth`` of the ingested
    export is used if present.
    """
    if truth is not None:
        truth = Path(truth)
        if not truth.is_dir():
            raise FileNotFoundError(f"ground-truth folder {truth} does not exist")
        return truth.resolve()
    manifest = ws.manifest("ingest")
    if manifest and manifest.get("export"):
        candidate = Path(manifest["export"]) / "truth"
        if candidate.is_dir():
            return candidate
    return None


def _scorer(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def run_evaluate(ws: Workspace, config: dict[str, Any], truth: str | Path | None = None) -> dict[str, Any]:
    """Score every finished stage; write and return ``evaluation.json``'s content.

    A scorer that fails does not hide the others: its entry holds ``{"error": ...}``
    and the console shows the traceback.
    """
    if not ws.root.is_dir():
        raise FileNotFoundError(f"workspace {ws.root} does not exist")
    truth_dir = find_truth(ws, truth)
    result: dict[str, Any] = {"workspace": str(ws.root), "truth": str(truth_dir) if truth_dir else None}
    if truth_dir is None:
        console.print("[yellow]no ground truth found[/]: scoring what the workspace itself carries")
    scored = 0
    for stage, target in SCORERS.items():
        if not ws.has(stage):
            continue
        try:
            result[stage] = _scorer(target)(ws, truth_dir)
        except Exception as exc:  # one broken scorer must not hide the others
            console.print(f"[red]evaluate {stage} failed[/]: {exc}")
            console.print(traceback.format_exc())
            result[stage] = {"error": f"{type(exc).__name__}: {exc}"}
        scored += 1
    if scored == 0:
        console.print(f"[yellow]no finished stage in {ws.root}[/]: nothing to evaluate")
    write_json(ws.root / "evaluation.json", result)
    return result


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dict -> [("a.b.c", leaf)], lists of scalars kept whole."""
    rows: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            rows.extend(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
    else:
        rows.append((prefix, value))
    return rows


def print_table(result: dict[str, Any]) -> None:
    """Print the scores as a table, one row per metric (long lists abbreviated)."""
    from rich.table import Table

    table = Table(title=f"evaluation ({result.get('truth') or 'no ground truth'})")
    table.add_column("stage")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for stage, scores in result.items():
        if stage in ("workspace", "truth"):
            continue
        for name, value in flatten(scores):
            if isinstance(value, float):
                shown = f"{value:.4f}"
            elif isinstance(value, list) and len(value) > 8:
                shown = f"[{len(value)} values]"
            else:
                shown = str(value)
                if len(shown) > 60:  # descriptions stay whole in evaluation.json
                    shown = shown[:57] + "..."
            table.add_row(stage, name, shown)
    console.print(table)
