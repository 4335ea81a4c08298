"""The stage runner: skip when up to date, rerun on change, atomic writes, resume."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.workspace import Workspace, atomic_path, fingerprint_files, write_json, write_parquet


def _body(calls, rows=3):
    def body(ctx):
        calls.append(ctx.fingerprint)
        ctx.write_parquet("table.parquet", pa.table({"x": list(range(rows))}))
        ctx.counts["rows"] = rows
        return {"rows": rows}

    return body


def test_stage_runs_once_then_is_up_to_date(tmp_path):
    ws = Workspace(tmp_path / "ws")
    calls = []
    first = ws.run_stage("demo", {"a": 1}, {"in": "x"}, _body(calls))
    second = ws.run_stage("demo", {"a": 1}, {"in": "x"}, _body(calls))
    assert first.ran and not second.ran
    assert len(calls) == 1
    manifest = ws.manifest("demo")
    assert manifest["fingerprint"] == first.fingerprint
    assert manifest["counts"] == {"rows": 3}
    assert "table.parquet" in manifest["outputs"] and "metrics.json" in manifest["outputs"]
    assert manifest["versions"]["pyarrow"]
    assert ws.metrics("demo") == {"rows": 3}


def test_changed_config_or_input_reruns(tmp_path):
    ws = Workspace(tmp_path)
    calls = []
    a = ws.run_stage("demo", {"a": 1}, {"in": "x"}, _body(calls))
    b = ws.run_stage("demo", {"a": 2}, {"in": "x"}, _body(calls))
    c = ws.run_stage("demo", {"a": 2}, {"in": "y"}, _body(calls))
    assert a.ran and b.ran and c.ran
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3


def test_missing_output_reruns_and_force_reruns(tmp_path):
    ws = Workspace(tmp_path)
    calls = []
    ws.run_stage("demo", {}, {}, _body(calls))
    (tmp_path / "demo" / "table.parquet").unlink()
    assert ws.run_stage("demo", {}, {}, _body(calls)).ran
    assert ws.run_stage("demo", {}, {}, _body(calls), force=True).ran
    assert len(calls) == 3


def test_downstream_fingerprint_follows_upstream(tmp_path):
    ws = Workspace(tmp_path)
    ws.run_stage("up", {"v": 1}, {}, _body([]))
    down = ws.run_stage("down", {}, {"up": ws.fingerprint("up")}, _body([]))
    ws.run_stage("up", {"v": 2}, {}, _body([]))
    again = ws.run_stage("down", {}, {"up": ws.fingerprint("up")}, _body([]))
    assert again.ran and again.fingerprint != down.fingerprint


def test_failed_stage_leaves_no_manifest_and_resumes_from_partial(tmp_path):
    ws = Workspace(tmp_path)
    done = []

    def body(ctx, fail_after=None):
        # Work in three chunks; a finished chunk is a file in the partial folder.
        for chunk in range(3):
            part = ctx.partial_dir / f"part-{chunk}.json"
            if part.exists():
                continue
            if fail_after is not None and chunk == fail_after:
                raise KeyboardInterrupt("killed")
            write_json(part, {"chunk": chunk})
            done.append(chunk)
        ctx.write_json("all.json", sorted(int(p.stem.split("-")[1]) for p in ctx.partial_dir.glob("part-*.json")))
        return {}

    with pytest.raises(KeyboardInterrupt):
        ws.run_stage("demo", {"x": 1}, {}, lambda ctx: body(ctx, fail_after=2))
    assert ws.manifest("demo") is None
    assert done == [0, 1]
    ws.run_stage("demo", {"x": 1}, {}, lambda ctx: body(ctx))
    assert done == [0, 1, 2]  # chunks 0 and 1 were not redone
    assert json.loads((tmp_path / "demo" / "all.json").read_text()) == [0, 1, 2]
    assert not list((tmp_path / "demo").glob(".partial-*"))


def test_rerun_of_finished_stage_that_fails_drops_the_stale_manifest(tmp_path):
    ws = Workspace(tmp_path)
    ws.run_stage("demo", {"x": 1}, {}, _body([]))

    def boom(ctx):
        raise RuntimeError("bad")

    with pytest.raises(RuntimeError):
        ws.run_stage("demo", {"x": 2}, {}, boom)
    assert ws.manifest("demo") is None


def test_atomic_path_keeps_old_content_on_error(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise ValueError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_write_parquet_and_json_round_trip(tmp_path):
    import numpy as np

    write_parquet(tmp_path / "t.parquet", pa.table({"a": [1, 2]}))
    assert pq.read_table(tmp_path / "t.parquet").column("a").to_pylist() == [1, 2]
    write_json(tmp_path / "m.json", {"n": np.int64(3), "v": np.array([1.5])})
    assert json.loads((tmp_path / "m.json").read_text()) == {"n": 3, "v": [1.5]}


def test_fingerprint_files_sees_changes(tmp_path):
    (tmp_path / "d").mkdir()
    f = tmp_path / "d" / "r.csv"
    f.write_text("a")
    first = fingerprint_files(tmp_path)
    assert fingerprint_files(tmp_path) == first
    f.write_text("ab")
    assert fingerprint_files(tmp_path) != first
    (tmp_path / "d" / "new.dcm").write_text("x")
    assert len({first, fingerprint_files(tmp_path), fingerprint_files(f)}) == 3


def test_require_names_the_missing_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match="pacsmine ingest"):
        Workspace(tmp_path).require("ingest", "reports.parquet")
