"""kill -9 in every stage: each stage runs as a child process (the real CLI), is sent
SIGKILL once its partial folder shows progress, and is rerun; the rerun's tables must
equal those of an uninterrupted run, table by table, and leave no scratch behind.

One small phantom export (images included: ingest converts them) and one uninterrupted
workspace are made once for the module; small batch sizes (``--set``) give every stage
several batches to be killed between. ``run.workers=1`` and ``topics.workers=1`` make the
runs reproducible; the whole process group is killed, as ``kill -9`` of a job would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pacsmine

pytestmark = pytest.mark.slow

_SRC = str(Path(pacsmine.__file__).resolve().parents[1])
ENV = dict(os.environ, PACSMINE_NO_PROGRESS="1",
           PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p))
CLI = [sys.executable, "-m", "pacsmine.cli"]

SETTINGS = {
    "ingest": ["run.workers=1", "ingest.report_chunk_size=10", "ingest.image_chunk_size=2"],
    "extract": ["run.workers=1", "extract.batch_size=2"],
    "topics": [
        "run.workers=1", "topics.workers=1",
        "topics.level1.k_grid=[2, 3]", "topics.level1.max_k=3", "topics.level1.docs_per_topic=10",
        "topics.level1.selection_iterations=30", "topics.level1.iterations=40",
        "topics.level2.min_docs=20", "topics.level2.k_grid=[2, 3]", "topics.level2.docs_per_topic=10",
        "topics.level2.selection_iterations=20", "topics.level2.iterations=20",
        "topics.level3.k_grid=[2, 3]", "topics.level3.docs_per_topic=10",
        "topics.level3.selection_iterations=20", "topics.level3.iterations=20",
        'topics.cards.levels=["level1"]', "topics.cards.montage=4",
    ],
}


def stage_args(stage: str, export: Path, ws: Path) -> list[str]:
    args = [stage] + ([str(export)] if stage == "ingest" else []) + ["-w", str(ws)]
    for s in SETTINGS[stage]:
        args += ["--set", s]
    return args


def run_stage(stage: str, export: Path, ws: Path) -> None:
    done = subprocess.run(CLI + stage_args(stage, export, ws), env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def run_killed(stage: str, export: Path, ws: Path, ready: Callable[[Path], bool]) -> None:
    """Start ``stage`` in a child process and SIGKILL its process group as soon as
    ``ready(partial folder)`` holds; asserts it died by the signal before finishing."""
    proc = subprocess.Popen(CLI + stage_args(stage, export, ws), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while proc.poll() is None:
            partial = next((ws / stage).glob(".partial-*"), None)
            if partial is not None and ready(partial):
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the stage finished before it could be killed"
    assert not (ws / stage / "manifest.json").exists()


def at_least(pattern: str, n: int) -> Callable[[Path], bool]:
    return lambda partial: sum(1 for _ in partial.glob(pattern)) >= n


def tables(ws: Path, stage: str) -> dict[str, pa.Table]:
    """Every Parquet table of the stage (scratch folders left out), rows in a defined order."""
    out = {}
    for path in sorted((ws / stage).rglob("*.parquet")):
        rel = path.relative_to(ws / stage)
        if rel.parts[0].startswith(".partial-"):
            continue
        table = pq.read_table(path)
        keys = [f.name for f in table.schema if pa.types.is_primitive(f.type) or pa.types.is_string(f.type)]
        out[str(rel)] = table.sort_by([(k, "ascending") for k in keys]) if keys and table.num_rows else table
    return out


def assert_same_stage(ws: Path, ref: Path, stage: str) -> None:
    got, want = tables(ws, stage), tables(ref, stage)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name].schema == want[name].schema, name
        assert got[name].equals(want[name]), name
    assert (ws / stage / "manifest.json").exists()
    left = [p for p in (ws / stage).rglob("*") if p.name.startswith(".partial-") or p.name.endswith(".tmp")]
    assert left == [], left


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """(export, workspace after an uninterrupted ingest, extract and topics)."""
    root = tmp_path_factory.mktemp("kill")
    export, ws = root / "export", root / "reference"
    done = subprocess.run(CLI + ["phantom", str(export), "-n", "80", "--seed", "3"], env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for stage in ("ingest", "extract", "topics"):
        run_stage(stage, export, ws)
    return export, ws


def fresh(tmp_path: Path, ref: Path, upstream: tuple[str, ...]) -> Path:
    """A workspace holding copies of the reference's finished upstream stages."""
    ws = tmp_path / "ws"
    for stage in upstream:
        shutil.copytree(ref / stage, ws / stage)
    return ws


@pytest.mark.parametrize("pattern,n", [("reports/part-*.parquet", 1), ("images/part-*.parquet", 1),
                                       ("images/part-*.parquet", 20)])
def test_ingest_killed_then_rerun_equals_an_uninterrupted_run(reference, tmp_path, pattern, n):
    export, ref = reference
    ws = fresh(tmp_path, ref, ())
    run_killed("ingest", export, ws, at_least(pattern, n))
    run_stage("ingest", export, ws)
    assert_same_stage(ws, ref, "ingest")
    for png in (ref / "ingest").rglob("*.png"):
        assert (ws / "ingest" / png.relative_to(ref / "ingest")).read_bytes() == png.read_bytes()


def _all_batches(ref: Path) -> int:
    reports = pq.ParquetFile(ref / "ingest" / "reports.parquet").metadata.num_rows
    return -(-reports // 2)  # extract.batch_size=2


@pytest.mark.parametrize("point", ["first batch", "half the batches", "every batch (pass 2)"])
def test_extract_killed_then_rerun_equals_an_uninterrupted_run(reference, tmp_path, point):
    export, ref = reference
    total = _all_batches(ref)
    n = {"first batch": 1, "half the batches": total // 2, "every batch (pass 2)": total}[point]
    ws = fresh(tmp_path, ref, ("ingest",))
    run_killed("extract", export, ws, at_least("done-*", n))
    run_stage("extract", export, ws)
    assert_same_stage(ws, ref, "extract")


@pytest.mark.parametrize("pattern", ["level1/k*.json", "level1/final_k*_theta.parquet", "level2/*/k*.json"])
def test_topics_killed_then_rerun_equals_an_uninterrupted_run(reference, tmp_path, pattern):
    export, ref = reference
    ws = fresh(tmp_path, ref, ("ingest", "extract"))
    run_killed("topics", export, ws, at_least(pattern, 1))
    run_stage("topics", export, ws)
    assert_same_stage(ws, ref, "topics")


def test_topics_killed_while_writing_cards_then_rerun_equals_an_uninterrupted_run(reference, tmp_path):
    # Cards are written into topics/cards/ itself, beside the partial folder.
    export, ref = reference
    ws = fresh(tmp_path, ref, ("ingest", "extract"))
    run_killed("topics", export, ws, lambda partial: any((partial.parent / "cards").glob("*.png")))
    run_stage("topics", export, ws)
    assert_same_stage(ws, ref, "topics")
