"""Two versions of pacsmine's report NLP, side by side in one process: which is faster?

    git archive <commit> src | tar -x -C /tmp/base          # the older source tree
    .venv/bin/python bench/nlp_ab.py /tmp/base/src src --corpora ct distinct phantom iu

Loads ``ReportNLP`` from each source tree (``before`` first, then ``after``, each with its
own modules), then times :meth:`ReportNLP.process` of both on the corpora of
``bench/assertion_speed.py``, slice by slice (200 reports) in alternating order, in CPU
seconds of this process (``time.process_time``), with the sentence cache as ``--cache``
says (default off: every sentence computed). One warm-up pass, then ``--repeats`` (more for
a corpus under 1,500 reports); prints the median reports/s of each and after/before, and
after/before of the fastest repeats (other processes only ever add time), with the machine line (CPU model, cores, load average) at the start and end. Used to measure
each speed step of issue 7, part 6 against the commit before it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402


def load(src: str, cache: str):
    """``(nlp, run)`` built from the source tree ``src`` (its own ``pacsmine`` modules)."""
    for name in [k for k in sys.modules if k == "pacsmine" or k.startswith("pacsmine.")]:
        del sys.modules[name]
    sys.path.insert(0, str(Path(src).resolve()))
    try:
        from pacsmine.config import load_config
        from pacsmine.nlp.extract import ReportNLP, new_rows
        from pacsmine.nlp.stats import CorpusCounts
    finally:
        sys.path.pop(0)
    nlp = ReportNLP(load_config())

    def run(texts: list[str]) -> None:
        rows, stats = new_rows(), CorpusCounts()
        for i, text in enumerate(texts):
            nlp.process(f"R{i}", None, None, text, rows, stats)

    return nlp, run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", help="the older source tree (a folder holding pacsmine/)")
    ap.add_argument("after", help="the newer source tree")
    ap.add_argument("--corpora", nargs="+", default=["ct", "distinct", "phantom", "iu"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cache", choices=["off", "on", "auto"], default="off")
    args = ap.parse_args()

    print(machine_line("start"))
    sides = {"before": load(args.before, args.cache), "after": load(args.after, args.cache)}
    from assertion_speed import corpus  # noqa: E402  (after the loads: it imports pacsmine lazily)
    from pacsmine.nlp.extract import _tune_gc

    _tune_gc()  # as the stage's workers run
    for name in args.corpora:
        texts = corpus(name, 3000, 11)
        if texts is None:
            print(f"{name}: data absent, skipped")
            continue
        parts = [texts[i : i + 200] for i in range(0, len(texts), 200)]
        repeats = max(args.repeats, -(-1500 // len(texts)))
        times: dict[str, list[float]] = {side: [] for side in sides}
        for r in range(repeats + 1):  # the first pass warms memos up and is not counted
            total = dict.fromkeys(sides, 0.0)
            for nlp, _ in sides.values():
                nlp.set_sentence_cache(args.cache)
            for c, part in enumerate(parts):
                for side in (list(sides) if (r + c) % 2 == 0 else list(sides)[::-1]):
                    t = time.process_time()
                    sides[side][1](part)
                    total[side] += time.process_time() - t
            if r:
                for side in sides:
                    times[side].append(total[side])
        rate = {side: len(texts) / statistics.median(v) for side, v in times.items()}
        best = {side: len(texts) / min(v) for side, v in times.items()}
        print(f"{name:<9} before {rate['before']:>8,.0f}  after {rate['after']:>8,.0f} reports/s  "
              f"after/before {rate['after'] / rate['before']:.3f}; fastest repeats: after/before "
              f"{best['after'] / best['before']:.3f}  (cache {args.cache}, {repeats} repeats)", flush=True)
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
