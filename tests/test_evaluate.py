"""evaluate: truth discovery, one entry per finished stage, a failing scorer isolated."""

from __future__ import annotations

import json

import pytest

from pacsmine import evaluate as ev
from pacsmine.workspace import Workspace


def _finish(ws, stage, extra=None):
    ws.run_stage(stage, {}, {}, lambda ctx: {"ok": 1}, extra_manifest=extra)


def test_truth_found_through_ingest_manifest(tmp_path):
    export = tmp_path / "export"
    (export / "truth").mkdir(parents=True)
    ws = Workspace(tmp_path / "ws")
    _finish(ws, "ingest", {"export": str(export)})
    assert ev.find_truth(ws) == export / "truth"
    with pytest.raises(FileNotFoundError):
        ev.find_truth(ws, tmp_path / "nowhere")


def test_scores_each_finished_stage_and_isolates_failures(tmp_path, monkeypatch):
    seen = {}

    def good(ws, truth):
        seen["truth"] = truth
        return {"precision": 0.5, "nested": {"k": 3}}

    def bad(ws, truth):
        raise ValueError("broken scorer")

    monkeypatch.setitem(ev.SCORERS, "ingest", f"{__name__}:_good")
    monkeypatch.setitem(ev.SCORERS, "extract", f"{__name__}:_bad")
    monkeypatch.setitem(ev.SCORERS, "topics", f"{__name__}:_good")
    globals()["_good"], globals()["_bad"] = good, bad
    ws = Workspace(tmp_path)
    _finish(ws, "ingest")
    _finish(ws, "extract")  # topics never ran: no entry
    result = ev.run_evaluate(ws, {})
    assert result["truth"] is None and seen["truth"] is None
    assert result["ingest"] == {"precision": 0.5, "nested": {"k": 3}}
    assert "broken scorer" in result["extract"]["error"]
    assert "topics" not in result
    assert json.loads((tmp_path / "evaluation.json").read_text()) == result
    ev.print_table(result)


def test_flatten():
    assert ev.flatten({"a": {"b": 1, "c": [1, 2]}, "d": "x"}) == [("a.b", 1), ("a.c", [1, 2]), ("d", "x")]


def test_phantom_difficulty_is_read_from_the_export(tmp_path):
    truth = tmp_path / "export" / "truth"
    truth.mkdir(parents=True)
    assert ev.phantom_difficulty(None) is None
    assert ev.phantom_difficulty(truth) is None  # no export.json: not known to be a phantom
    meta = tmp_path / "export" / "export.json"
    meta.write_text(json.dumps({"generator": "pacsmine.phantom"}))
    assert ev.phantom_difficulty(truth) == "easy"  # written before the hard mode
    meta.write_text(json.dumps({"generator": "pacsmine.phantom", "difficulty": "hard"}))
    assert ev.phantom_difficulty(truth) == "hard"
    meta.write_text(json.dumps({"generator": "someone else", "difficulty": "hard"}))
    assert ev.phantom_difficulty(truth) is None


def test_tables_name_the_phantom():
    easy = {"workspace": "w", "truth": "t", "phantom": "easy", "extract": {"f1": 0.5, "n": 3}}
    hard = {"workspace": "w2", "truth": "t2", "phantom": "hard", "extract": {"f1": 0.25, "mixed": {"n": 2}}}
    with ev.console.capture() as captured:
        ev.print_table(hard)
        ev.print_side_by_side({"easy phantom": easy, "hard phantom": hard})
    out = captured.get()
    assert "HARD phantom" in out
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.splitlines() if line.startswith("│") and "extract." in line}
    assert rows == {"extract.f1": ["0.5000", "0.2500"], "extract.n": ["3", "-"], "extract.mixed.n": ["-", "2"]}
