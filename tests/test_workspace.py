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


# --------------------------------------------------------------------------- issue 8: lock, fingerprint, cleanup

import os
import subprocess
import sys
import time
from pathlib import Path

import pacsmine.workspace as workspace_mod
from pacsmine.workspace import StageIncomplete, WorkspaceBusy

_SRC = str(Path(__file__).resolve().parents[1] / "src")


def _hold_lock(root):
    """A child process that holds the workspace lock until its stdin closes; returns it once it holds."""
    code = ("import sys; from pacsmine.workspace import Workspace\n"
            f"with Workspace({str(root)!r}).lock('extract'):\n"
            "    print('held', flush=True); sys.stdin.read()\n")
    env = dict(os.environ, PYTHONPATH=_SRC)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env)
    assert child.stdout.readline().strip() == "held"
    return child


def test_second_run_refuses_naming_the_holder_then_runs_once_it_is_gone(tmp_path):
    ws = Workspace(tmp_path)
    child = _hold_lock(tmp_path)
    try:
        calls = []
        with pytest.raises(WorkspaceBusy) as info:
            ws.run_stage("demo", {}, {}, _body(calls))
        message = str(info.value)
        assert f"pid {child.pid}" in message and "\n" not in message
        assert calls == [] and ws.manifest("demo") is None
    finally:
        child.stdin.close()
        child.wait()
    assert ws.run_stage("demo", {}, {}, _body(calls)).ran


def test_stale_lock_of_a_dead_pid_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(json.dumps({"pid": dead.pid, "stage": "extract"}))
    assert Workspace(tmp_path).run_stage("demo", {}, {}, _body([])).ran


def test_lock_is_reentrant_within_one_process(tmp_path):
    ws = Workspace(tmp_path)
    with ws.lock("run"):
        assert Workspace(tmp_path).run_stage("demo", {}, {}, _body([])).ran


def test_manifest_not_written_when_a_planned_part_is_missing(tmp_path):
    ws = Workspace(tmp_path)

    def body(ctx):
        for i in range(3):
            write_json(ctx.partial_dir / f"part-{i}.json", {})
        (ctx.partial_dir / "part-1.json").unlink()  # as another run removing our scratch would
        ctx.check_complete("parts", range(3), [int(p.stem[5:]) for p in ctx.partial_dir.glob("part-*.json")])
        return {}

    with pytest.raises(StageIncomplete, match="1 of 3 planned parts"):
        ws.run_stage("demo", {}, {}, body)
    assert ws.manifest("demo") is None


def test_manifest_not_written_when_a_recorded_output_vanished(tmp_path):
    ws = Workspace(tmp_path)

    def body(ctx):
        ctx.write_json("a.json", {})
        ctx.path("a.json").unlink()
        return {}

    with pytest.raises(StageIncomplete, match="a.json"):
        ws.run_stage("demo", {}, {}, body)
    assert ws.manifest("demo") is None


def test_data_file_content_is_in_the_fingerprint(tmp_path):
    ws = Workspace(tmp_path / "ws")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "negation.txt").write_text("no\nwithout\n")
    single = tmp_path / "stoplist.txt"
    single.write_text("alpha\n")
    calls = []
    first = ws.run_stage("demo", {}, {}, _body(calls), files=[rules, single])
    assert not ws.run_stage("demo", {}, {}, _body(calls), files=[rules, single]).ran
    (rules / "negation.txt").write_text("without\n")
    second = ws.run_stage("demo", {}, {}, _body(calls), files=[rules, single])
    assert second.ran and second.fingerprint != first.fingerprint
    single.write_text("beta\n")
    assert ws.run_stage("demo", {}, {}, _body(calls), files=[rules, single]).ran
    assert len(calls) == 3
    recorded = ws.manifest("demo")["files"]
    assert set(recorded) == {str(rules.resolve()), str(single.resolve())}


def test_same_content_touched_again_is_still_up_to_date(tmp_path):
    ws = Workspace(tmp_path / "ws")
    f = tmp_path / "vocab.tsv"
    f.write_text("a\tb\n")
    ws.run_stage("demo", {}, {}, _body([]), files=[f])
    f.write_text("a\tb\n")
    os.utime(f, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert not ws.run_stage("demo", {}, {}, _body([]), files=[f]).ran


def test_file_hashes_are_cached_by_path_size_and_mtime(tmp_path, monkeypatch):
    f = tmp_path / "big.obo"
    f.write_bytes(b"x" * 1000)
    cache = tmp_path / "cache.json"
    first = workspace_mod.content_fingerprint([f], cache)
    reads = []
    real = workspace_mod._sha256_file
    monkeypatch.setattr(workspace_mod, "_sha256_file", lambda p: reads.append(p) or real(p))
    assert workspace_mod.content_fingerprint([f], cache) == first
    assert reads == []  # unchanged size and mtime: the cached hash
    f.write_bytes(b"y" * 1001)
    assert workspace_mod.content_fingerprint([f], cache) != first
    assert reads == [f]


def test_package_source_and_rule_files_are_in_the_fingerprint(tmp_path, monkeypatch):
    import shutil

    package = tmp_path / "pkg"
    shutil.copytree(Path(workspace_mod.__file__).parent / "nlp" / "rules", package / "nlp" / "rules")
    (package / "stage.py").write_text("X = 1\n")
    monkeypatch.setattr(workspace_mod, "PACKAGE_ROOT", package)
    workspace_mod._source_fingerprint.cache_clear()
    ws = Workspace(tmp_path / "ws")
    ws.run_stage("demo", {}, {}, _body([]))
    context = package / "nlp" / "rules" / "context.toml"
    text = context.read_text()
    assert '"no"' in text
    context.write_text(text.replace('"no",', "").replace('"no"', '""'))
    workspace_mod._source_fingerprint.cache_clear()
    assert ws.run_stage("demo", {}, {}, _body([])).ran
    (package / "stage.py").write_text("X = 2\n")
    workspace_mod._source_fingerprint.cache_clear()
    assert ws.run_stage("demo", {}, {}, _body([])).ran


def test_rerun_removes_outputs_it_no_longer_writes_and_killed_temporaries(tmp_path):
    ws = Workspace(tmp_path)

    def body(parents):
        def run(ctx):
            for p in parents:
                ctx.write_json(f"level2/{p}/model.json", {"parent": p})
            ctx.path("images").mkdir(exist_ok=True)
            (ctx.path("images") / "x.png").write_bytes(b"png")
            return {}
        return run

    ws.run_stage("demo", {"k": 3}, {}, body([0, 1, 2]))
    leftover = tmp_path / "demo" / "cards" / ".level1_15.png.abc123.tmp"
    leftover.parent.mkdir()
    leftover.write_bytes(b"half")
    ws.run_stage("demo", {"k": 2}, {}, body([0, 1]))
    stage = tmp_path / "demo"
    assert sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file()) == [
        "images/x.png", "level2/0/model.json", "level2/1/model.json", "manifest.json", "metrics.json"]
    assert not (stage / "level2" / "2").exists() and not (stage / "cards").exists()


def test_require_of_a_stage_that_never_ran_is_a_stage_missing_error(tmp_path):
    from pacsmine.workspace import StageMissing

    with pytest.raises(StageMissing):
        Workspace(tmp_path).fingerprint("ingest")


def test_an_empty_output_folder_is_kept(tmp_path):
    ws = Workspace(tmp_path)

    def body(ctx):
        ctx.path("images").mkdir(exist_ok=True)
        return {}

    ws.run_stage("demo", {}, {}, body)
    assert (tmp_path / "demo" / "images").is_dir()
    assert not ws.run_stage("demo", {}, {}, body).ran


def _started_then_sleep(started):
    started.set()
    time.sleep(30)


def test_worker_processes_do_not_keep_the_lock(tmp_path):
    # A pool worker forked during a stage outlives its parent when the parent is killed; it
    # must not keep the workspace locked for the next run.
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    started = fork.Event()
    ws = Workspace(tmp_path)
    with ws.lock("extract"):
        worker = fork.Process(target=_started_then_sleep, args=(started,))
        worker.start()
        assert started.wait(30)  # the worker runs: the fork's child hooks are done
    try:
        with Workspace(tmp_path).lock("extract"):
            pass
    finally:
        worker.kill()
        worker.join()
