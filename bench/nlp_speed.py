"""Speed and memory of the report NLP (sections, sentences, tokens, references,
disease terms and negation), beside a general-purpose pipeline on the same corpus.

Usage::

    .venv/bin/python bench/nlp_speed.py                       # phantom corpus of 20,000 reports
    .venv/bin/python bench/nlp_speed.py --reports 50000 --workers 2
    .venv/bin/python bench/nlp_speed.py --path reports.csv    # any CSV/Parquet with a text column

Prints, in one run:

0. the machine line (CPU model, cores, load average) at the start and at the end;
1. pacsmine's per-report NLP in this process (reports/s, one core), with the garbage
   collector set as the extract stage's workers set it (as is the baseline's);
2. the whole ``extract`` stage (parallel batches, both passes, all tables), each run
   in a fresh process, on the first half of the corpus and on all of it: reports/s
   and peak memory (RSS of the stage's process and of its largest worker), so that
   "memory flat as the corpus grows" can be read off;
3. the general-purpose pipeline: pysbd sentences + a regex NegEx + the same
   dictionary matcher + a naive reference regex (reports/s, one core).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402


def load_reports(path: Path | None, n: int, seed: int, tmp: Path) -> list[dict]:
    """Reports as dicts (accession, patient_id, modality, text)."""
    if path is None:
        from pacsmine.config import load_config
        from pacsmine.phantom import generate

        cfg = dict(load_config()["phantom"], faulty_reports=0)
        generate(tmp / "export", reports=n, seed=seed, config=cfg, images=False)
        path = tmp / "export" / "reports.csv"
    if str(path).endswith(".parquet"):
        import pyarrow.parquet as pq

        rows = pq.read_table(path).slice(0, n).to_pylist()
    else:
        csv.field_size_limit(sys.maxsize)
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for _, r in zip(range(n), csv.DictReader(fh))]
    out = []
    for i, r in enumerate(rows):
        text = r.get("text")
        if text is None:  # the IU X-ray CSV: findings + impression columns
            text = " ".join(f"{k.upper()}: {r[k]}" for k in ("indication", "findings", "impression") if r.get(k))
        out.append({"accession": str(r.get("accession") or r.get("uid") or i), "patient_id": r.get("patient_id"),
                    "modality": r.get("modality"), "text": text or ""})
    return out


def rss_mb() -> tuple[float, float]:
    """Peak RSS (MB) of this process and of its largest finished child."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def bench_core(reports: list[dict]) -> tuple[float, float]:
    """(reports per wall second, reports per CPU second of this process)."""
    from pacsmine.config import load_config
    from pacsmine.nlp.extract import ReportNLP, new_rows
    from pacsmine.nlp.stats import CorpusCounts

    nlp = ReportNLP(load_config())
    stats = CorpusCounts()
    t0, c0 = time.perf_counter(), time.process_time()
    for chunk in range(0, len(reports), 2000):
        rows = new_rows()  # a batch's rows, as in the stage
        for r in reports[chunk : chunk + 2000]:
            nlp.process(r["accession"], r["patient_id"], r["modality"], r["text"], rows, stats)
    return len(reports) / (time.perf_counter() - t0), len(reports) / (time.process_time() - c0)


def make_workspace(reports: list[dict], root: Path) -> Path:
    """An ingested workspace holding ``reports`` (no images)."""
    import pyarrow as pa

    from pacsmine.workspace import Workspace

    ws = Workspace(root)

    def body(ctx):
        ctx.write_parquet("reports.parquet", pa.Table.from_pylist(reports))
        return {}

    ws.run_stage("ingest", {}, {}, body, force=True)
    return root


def bench_stage(root: Path, n: int, workers: int, batch_size: int) -> tuple[float, float, float, float]:
    """Run the extract stage in a fresh process: (reports/s, seconds, parent MB, worker MB)."""
    import json
    import subprocess

    out = subprocess.run(
        [sys.executable, __file__, "--stage-only", str(root), "--workers", str(workers), "--batch-size", str(batch_size)],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    seconds, parent, child = json.loads(out)
    return n / seconds, seconds, parent, child


def _stage_only(root: Path, workers: int, batch_size: int) -> None:
    import json

    from pacsmine.config import load_config
    from pacsmine.nlp import run_extract
    from pacsmine.workspace import Workspace

    cfg = load_config(overrides=[f"run.workers={workers}", f"extract.batch_size={batch_size}"])
    t0 = time.perf_counter()
    run_extract(Workspace(root), cfg, force=True)
    print(json.dumps([time.perf_counter() - t0, *rss_mb()]))


# --------------------------------------------------------------------------- baseline

_NEGEX_PRE = re.compile(r"\b(?:no|not|without|negative for|free of|absence of|no evidence of|rule out|ruled out)\b", re.I)
_NAIVE_REF = re.compile(r"(?:series|se)\s*(\d+)\D{0,12}?(?:image|im)\s*(\d+)|(?:image|im)\s*(\d+)", re.I)


def bench_baseline(reports: list[dict]) -> tuple[float, float]:
    """(reports per wall second, reports per CPU second of this process)."""
    import pysbd

    from pacsmine.config import load_config
    from pacsmine.nlp.terms import TermAnnotator

    seg = pysbd.Segmenter(language="en", clean=False)
    annotator = TermAnnotator.from_config(load_config()["extract"]["terms"])
    words = re.compile(r"[a-z0-9]+")
    t0, c0 = time.perf_counter(), time.process_time()
    for r in reports:
        for sentence in seg.segment(r["text"]):
            words.findall(sentence.lower())
            _NAIVE_REF.findall(sentence)
            for m in annotator.match(sentence):
                # NegEx: a trigger up to five words before the term negates it.
                window = " ".join(sentence[: m.start].split()[-5:])
                negated = bool(_NEGEX_PRE.search(window))  # noqa: F841 (the work is what is timed)
    return len(reports) / (time.perf_counter() - t0), len(reports) / (time.process_time() - c0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=20000)
    ap.add_argument("--path", type=Path, default=None, help="reports CSV/Parquet (default: a fresh phantom)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workers", type=int, default=0, help="0 = all cores")
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--baseline-reports", type=int, default=2000, help="pysbd is slow: time it on a prefix")
    ap.add_argument("--stage-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage_only is not None:
        _stage_only(args.stage_only, args.workers, args.batch_size)
        return
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        reports = load_reports(args.path, args.reports, args.seed, tmp)
        n = len(reports)
        words = sum(len(r["text"].split()) for r in reports)
        print(machine_line("start"))
        print(f"corpus: {n} reports, {words / max(n, 1):.0f} words/report")
        import gc

        from pacsmine.nlp.extract import _tune_gc

        old_gc = _tune_gc()  # as in the stage's workers
        try:
            core = bench_core(reports)
            base = bench_baseline(reports[: args.baseline_reports])
        finally:
            gc.set_threshold(*old_gc)
            gc.unfreeze()
        print(f"pacsmine NLP, 1 process:              {core[0]:8.0f} reports/s ({core[1]:.0f} per CPU second)")
        for size in (n // 2, n):
            root = make_workspace(reports[:size], tmp / f"ws-{size}")
            rate, secs, parent, child = bench_stage(root, size, workers, args.batch_size)
            print(f"extract stage, {size:>7} reports, {workers} workers: {rate:8.0f} reports/s "
                  f"({secs:.1f} s); peak RSS parent {parent:.0f} MB, largest worker {child:.0f} MB")
        print(f"general pipeline (pysbd + regex NegEx), 1 process: {base[0]:8.0f} reports/s ({base[1]:.0f} per CPU second) "
              f"(on {min(n, args.baseline_reports)} reports)")
        print(f"speed-up of pacsmine NLP over the general pipeline, per core: {core[1] / base[1]:.1f}x (CPU seconds)")
        print(machine_line("end"))


if __name__ == "__main__":
    main()
