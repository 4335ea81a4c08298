"""``pacsmine evaluate``: score every stage present in a workspace against a ground truth.

The ground truth is a phantom export's ``truth/`` folder (docs/export.md), found
through the ingest manifest's ``export`` path unless ``--truth`` names one. This is
the only module that hands the truth to anything: mining stages never see it.

Each stage module contributes one scorer, ``evaluate_<stage>(ws, truth_dir) -> dict``;
``truth_dir`` is None for an export without ground truth, and the scorer then reports
what it can (counts, labels a real export carries). The result is written to
``WS/evaluation.json``, nested by stage, with ``"phantom"``: the difficulty of the phantom
the truth belongs to ("easy" or "hard", read from its export.json; None for an export
that is not a phantom), so that every score says what it was measured on.
"""

from __future__ import annotations

import importlib
import json
import traceback
from pathlib import Path
from typing import Any

from .progress import console
from .workspace import Workspace, write_json

__all__ = ["SCORERS", "find_truth", "phantom_difficulty", "run_evaluate", "print_table", "print_side_by_side",
           "flatten"]

# stage -> "module:function"; later stages (vectors, images, retrieval) add a line here.
SCORERS: dict[str, str] = {
    "ingest": "pacsmine.ingest:evaluate_ingest",
    "extract": "pacsmine.nlp:evaluate_extract",
    "topics": "pacsmine.topics:evaluate_topics",
    "vectors": "pacsmine.vectors:evaluate_vectors",
    "images": "pacsmine.images:evaluate_images",
    "retrieval": "pacsmine.retrieval:evaluate_retrieval",
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


def phantom_difficulty(truth_dir: Path | None) -> str | None:
    """"easy" or "hard" for a phantom's truth folder (its export.json beside it; a phantom
    written before the hard mode is easy), None when the truth is not a phantom's."""
    if truth_dir is None:
        return None
    try:
        info = json.loads((Path(truth_dir).parent / "export.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("generator") != "pacsmine.phantom":
        return None
    return info.get("difficulty", "easy")


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
    result: dict[str, Any] = {"workspace": str(ws.root), "truth": str(truth_dir) if truth_dir else None,
                              "phantom": phantom_difficulty(truth_dir)}
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


_META = ("workspace", "truth", "phantom")


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list) and len(value) > 8:
        return f"[{len(value)} values]"
    shown = str(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."  # descriptions stay whole in evaluation.json


def _title(result: dict[str, Any]) -> str:
    phantom = result.get("phantom")
    where = result.get("truth") or "no ground truth"
    return f"evaluation on the {phantom.upper()} phantom ({where})" if phantom else f"evaluation ({where})"


def print_table(result: dict[str, Any]) -> None:
    """Print the scores as a table, one row per metric (long lists abbreviated); the title
    says which phantom (easy or hard) the scores are on."""
    from rich.table import Table

    table = Table(title=_title(result))
    table.add_column("stage")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for stage, scores in result.items():
        if stage in _META:
            continue
        for name, value in flatten(scores):
            table.add_row(stage, name, _shown(value))
    console.print(table)


def print_side_by_side(results: dict[str, dict[str, Any]]) -> None:
    """One table of the metrics that several evaluations share, one column per evaluation
    (``{"easy phantom": result, "hard phantom": result}``); metrics only one of them has
    (the hard phantom's phenomena) show "-" in the others."""
    from rich.table import Table

    flat = {label: {f"{stage}.{name}": value for stage, scores in r.items() if stage not in _META
                    for name, value in flatten(scores)} for label, r in results.items()}
    names: list[str] = []
    for rows in flat.values():
        names.extend(n for n in rows if n not in names and not isinstance(rows[n], (list, str)))
    table = Table(title="scores side by side: " + ", ".join(results))
    table.add_column("metric")
    for label in results:
        table.add_column(label, justify="right")
    for name in names:
        table.add_row(name, *(_shown(flat[label][name]) if name in flat[label] else "-" for label in results))
    console.print(table)
