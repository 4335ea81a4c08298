"""The text half at the paper's scale: 780K reports through phantom, ingest, extract and
a level-1 LDA (K = 80, 200 iterations), each step timed, with its peak memory.

Each step runs in a child process of its own, so that its peak resident memory
(its own and its worker processes') is measured alone. The export and workspace are
kept in --scratch, so a rerun skips what is already finished (the stages are
resumable and skip when up to date; the phantom is regenerated only if absent).

    .venv/bin/python bench/paper_scale.py                 # 780,000 reports
    .venv/bin/python bench/paper_scale.py --reports 50000 # a quicker look

Prints one line per step: wall seconds, reports/s, peak RSS of the step (parent and
workers, the largest of each).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OBO = REPO.parent / "shared" / "data" / "disease_ontology" / "HumanDO.obo"


def _step(name: str, args: argparse.Namespace) -> None:
    """Run one step in this process (called in a child)."""
    from pacsmine.config import load_config
    from pacsmine.workspace import Workspace

    overrides = [f"run.workers={args.workers}", "extract.terms.obsolete=true"]
    if OBO.exists():
        overrides.append(f"extract.terms.ontology={OBO}")
    config = load_config(overrides=overrides)
    export, ws = Path(args.scratch) / "export", Workspace(Path(args.scratch) / "ws")
    if name == "phantom":
        from pacsmine.phantom import generate

        if not (export / "export.json").exists():
            generate(export, reports=args.reports, seed=1, config=config["phantom"], images=False)
    elif name == "ingest":
        from pacsmine.ingest import run_ingest

        run_ingest(export, ws, config)
    elif name == "extract":
        from pacsmine.nlp import run_extract

        run_extract(ws, config)
    elif name == "lda":
        from pacsmine.topics.lda import ParquetCorpus, TopicModel

        model = TopicModel(k=args.topics, iterations=args.iterations, workers=args.workers or os.cpu_count(), seed=0)
        model.fit(ParquetCorpus(ws.root / "extract" / "documents.parquet"))
        print(json.dumps({"tokens": int(model.n_tokens_), "documents": args.reports}))
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"@@peak {self_kib} {children_kib}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=780_000)
    parser.add_argument("--topics", type=int, default=80)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--workers", type=int, default=0, help="0 = all cores")
    parser.add_argument("--scratch", default="/tmp/pacsmine-paper-scale")
    parser.add_argument("--steps", default="phantom,ingest,extract,lda")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _step(args.step, args)
        return

    os.makedirs(args.scratch, exist_ok=True)
    env = dict(os.environ, PACSMINE_NO_PROGRESS="1")
    print(f"paper scale: {args.reports} reports, K={args.topics}, {args.iterations} iterations, "
          f"{os.cpu_count()} cores, scratch {args.scratch}")
    for name in args.steps.split(","):
        cmd = [sys.executable, __file__, "--step", name, "--reports", str(args.reports), "--topics",
               str(args.topics), "--iterations", str(args.iterations), "--workers", str(args.workers),
               "--scratch", args.scratch]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-3000:]}")
            sys.exit(1)
        peak = next(line for line in out.stdout.splitlines() if line.startswith("@@peak"))
        self_kib, children_kib = (int(v) for v in peak.split()[1:])
        extra = [line for line in out.stdout.splitlines() if line.startswith("{")]
        print(f"{name:<8} {seconds:8.1f} s  {args.reports / seconds:9.0f} reports/s  "
              f"peak RSS {self_kib / 2**20:.2f} GB (largest worker {children_kib / 2**20:.2f} GB)"
              + (f"  {extra[0]}" if extra else ""))


if __name__ == "__main__":
    main()
