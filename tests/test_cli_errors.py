"""The command line's error handling: one readable line on stderr and an exit status
(2 usage, 1 environment, 130 interrupted) instead of a traceback; --debug keeps it."""

from __future__ import annotations

import errno
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pacsmine.cli import app

SRC = str(Path(__file__).resolve().parents[1] / "src")
INTERRUPTED = "interrupted; rerun the same command to resume"


def _cli(capsys, *args: str) -> tuple[int, list[str]]:
    """Run the command line in this process; (exit status, stderr lines)."""
    with pytest.raises(SystemExit) as info:
        app([*args])
    err = capsys.readouterr().err
    code = info.value.code
    return (0 if code is None else code), [line for line in err.splitlines() if line.strip()]


def _one_line(lines: list[str]) -> str:
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def phantom_ws(tmp_path_factory):
    """A 30-report phantom with images, ingested and extracted (one process, one worker)."""
    from pacsmine.config import load_config
    from pacsmine.ingest import run_ingest
    from pacsmine.nlp import run_extract
    from pacsmine.phantom import generate
    from pacsmine.workspace import Workspace

    root = tmp_path_factory.mktemp("cli")
    config = load_config(None, ["run.workers=1"])
    generate(root / "export", reports=30, seed=3, config=config["phantom"], images=True)
    ws = Workspace(root / "ws")
    run_ingest(root / "export", ws, config)
    run_extract(ws, config)
    return root


def test_missing_column_is_one_line_exit_2(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    (export / "reports.csv").write_text("accession,patient_id,body\nA1,P1,no effusion\n")
    code, lines = _cli(capsys, "ingest", str(export), "-w", str(tmp_path / "ws"))
    assert code == 2
    line = _one_line(lines)
    assert "column" in line and "reports.csv" in line and "--set ingest.columns.text=" in line


def test_no_reports_found_is_one_line_exit_2(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    code, lines = _cli(capsys, "ingest", str(export), "-w", str(tmp_path / "ws"))
    assert code == 2
    assert str(export) in _one_line(lines)


def test_config_error_inside_a_stage_is_one_line_exit_2(phantom_ws, tmp_path, capsys):
    shutil.copytree(phantom_ws / "ws" / "ingest", tmp_path / "ws" / "ingest")
    code, lines = _cli(capsys, "extract", "-w", str(tmp_path / "ws"), "--set", 'extract.terms.layers=["nope"]')
    assert code == 2
    assert "sources.nope" in _one_line(lines)


def test_unknown_config_key_is_one_line_exit_2(capsys):
    code, lines = _cli(capsys, "config", "show", "--set", "run.nope=1")
    assert code == 2
    assert "run.nope" in _one_line(lines)


def test_stage_before_its_input_is_one_line_exit_2(tmp_path, capsys):
    code, lines = _cli(capsys, "extract", "-w", str(tmp_path / "ws"))
    assert code == 2
    assert "pacsmine ingest" in _one_line(lines)


@pytest.mark.parametrize("number,words", [(errno.ENOSPC, "no space left"), (errno.EACCES, "permission denied"),
                                          (errno.EROFS, "read-only")])
def test_disk_full_or_read_only_workspace_is_one_line_exit_1(tmp_path, capsys, monkeypatch, number, words):
    import pacsmine.ingest

    target = tmp_path / "ws" / "ingest" / "reports.parquet"

    def fail(*args, **kwargs):
        raise OSError(number, os.strerror(number), str(target))

    monkeypatch.setattr(pacsmine.ingest, "run_ingest", fail)
    code, lines = _cli(capsys, "ingest", str(tmp_path), "-w", str(tmp_path / "ws"))
    assert code == 1
    line = _one_line(lines)
    assert words in line.lower() and str(target) in line and "--workspace" in line


def test_a_real_read_only_workspace(tmp_path, capsys, phantom_ws):
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder anyway")
    ws = tmp_path / "ws"
    shutil.copytree(phantom_ws / "ws" / "ingest", ws / "ingest")
    ws.chmod(0o555)
    try:
        code, lines = _cli(capsys, "extract", "-w", str(ws), "--set", "run.workers=1")
    finally:
        ws.chmod(0o755)
    assert code == 1
    assert "permission denied" in _one_line(lines).lower()


def test_debug_prints_the_traceback(tmp_path, capsys):
    code, lines = _cli(capsys, "--debug", "extract", "-w", str(tmp_path / "ws"))
    assert code == 2
    assert any("Traceback" in line for line in lines)


def test_busy_workspace_is_one_line_naming_the_holder(phantom_ws, capsys):
    code_ = ("import sys; from pacsmine.workspace import Workspace\n"
             f"with Workspace({str(phantom_ws / 'ws')!r}).lock('topics'):\n"
             "    print('held', flush=True); sys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", code_], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=SRC))
    try:
        assert child.stdout.readline().strip() == "held"
        code, lines = _cli(capsys, "extract", "-w", str(phantom_ws / "ws"), "--set", "run.workers=1")
    finally:
        child.stdin.close()
        child.wait()
    assert code == 1
    assert f"pid {child.pid}" in _one_line(lines)


# --------------------------------------------------------------------------- Ctrl-C, through a real SIGINT


def _interrupt(args: list[str], watch: Path, delay: float) -> subprocess.CompletedProcess:
    """Start ``pacsmine ARGS`` in its own process group; once ``watch`` (a glob) exists and
    ``delay`` seconds more have passed, send SIGINT to the group, as Ctrl-C in a terminal does."""
    env = dict(os.environ, PYTHONPATH=SRC, PACSMINE_NO_PROGRESS="1")
    child = subprocess.Popen([sys.executable, "-c", "from pacsmine.cli import app; app()", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)
    deadline = time.monotonic() + 60
    while not glob.glob(str(watch)) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    os.killpg(child.pid, signal.SIGINT)
    out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(args, child.returncode, out, err)


def _assert_interrupted(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr
    assert "ForkPoolWorker" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1] == INTERRUPTED and done.stderr.count(INTERRUPTED) == 1, done.stderr


def test_ctrl_c_during_extract_with_workers_is_one_line(phantom_ws, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(phantom_ws / "ws" / "ingest", ws / "ingest")
    args = ["extract", "-w", str(ws), "--set", "run.workers=2", "--set", "extract.batch_size=1"]
    _assert_interrupted(_interrupt(args, ws / "extract" / ".partial-*", 0.3))
    # No manifest, and the scratch a rerun resumes from is still there.
    assert not (ws / "extract" / "manifest.json").exists()
    assert list((ws / "extract").glob(".partial-*"))


def test_ctrl_c_during_ingest_is_one_line(phantom_ws, tmp_path):
    ws = tmp_path / "ws"
    _assert_interrupted(_interrupt(["ingest", str(phantom_ws / "export"), "-w", str(ws)],
                                   ws / "ingest" / ".partial-*", 0.2))


def test_ctrl_c_during_topics_is_one_line(phantom_ws, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(phantom_ws / "ws", ws)
    _assert_interrupted(_interrupt(["topics", "-w", str(ws)], ws / "topics" / ".partial-*", 0.3))


def test_disk_full_as_pyarrow_reports_it_names_the_workspace(tmp_path, capsys, monkeypatch):
    # pyarrow's error carries errno 28 but no file name: the line names the --workspace.
    import pyarrow as pa
    import pyarrow.parquet as pq

    import pacsmine.ingest

    import stat

    if not (Path("/dev/full").exists() and stat.S_ISCHR(Path("/dev/full").stat().st_mode)):
        pytest.skip("no /dev/full device on this system")

    def fill(*args, **kwargs):
        # An open stream, not a path: on error pq.write_table(path) deletes the path.
        with pa.OSFile("/dev/full", "wb") as sink:
            pq.write_table(pa.table({"a": list(range(100_000))}), sink)

    monkeypatch.setattr(pacsmine.ingest, "run_ingest", fill)
    code, lines = _cli(capsys, "ingest", str(tmp_path), "-w", str(tmp_path / "ws"))
    assert code == 1
    line = _one_line(lines)
    assert "no space left" in line and str(tmp_path / "ws") in line
