"""One very big report through extract's per-report NLP (issue 8: "a 10 MB report took 702 s").

Usage::

    .venv/bin/python bench/big_report.py                      # 10 MB, every case
    .venv/bin/python bench/big_report.py --mb 1 --case reports
    .venv/bin/python bench/big_report.py --mb 10 --case line --profile 25

Three reports of ``--mb`` MB each:

* ``reports``: phantom reports (seed 0) joined by blank lines until the size is reached:
  thousands of section headers, organ sub-headers, sentences and key-image references
  in one report, as in an export that concatenated a patient's history into one row;
* ``line``: one line of words with no punctuation and no line break (one sentence);
* ``dots``: a dotted line run into a word (``.....Normal.``).

For each it prints the seconds of the section splitter alone, of sections + sentences
(``report_spans``), and of :meth:`pacsmine.nlp.extract.ReportNLP.process` on the one report
(everything extract does to a report: sections, sentences, tokens, references, terms and
ConText; the annotator is built before the clock starts and the garbage collector is tuned
as in an extract worker), wall and CPU seconds, then the CPU model and the load average. ``--profile N`` prints the N most expensive functions of ``process`` (cProfile,
cumulative time). ``--sizes`` runs each case at 1/4 and at the full size, to read the
growth off (4x the text should take about 4x the CPU time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
import os
import time

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_line  # noqa: E402

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")



def reports_text(size: int, seed: int = 0) -> str:
    """Phantom reports joined by blank lines, cut to ``size`` characters."""
    from pacsmine.config import load_config
    from pacsmine.phantom import iter_reports

    cfg = dict(load_config()["phantom"], faulty_reports=0)
    parts: list[str] = []
    total = 0
    batch = 1000
    while total < size:
        for report in iter_reports(batch, seed, cfg):
            parts.append(report.text)
            total += len(report.text) + 2
            if total >= size:
                break
        seed += 1
    return "\n\n".join(parts)[:size]


def line_text(size: int) -> str:
    """One line of words, no punctuation."""
    words = "the right lower lobe opacity is unchanged from prior study with small effusion and nodule ".split()
    out, total, i = [], 0, 0
    while total < size:
        w = words[i % len(words)]
        out.append(w)
        total += len(w) + 1
        i += 1
    return " ".join(out)[:size]


def timed(fn, *args):
    """``fn(*args)``, its wall seconds and its CPU seconds (this process)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def dots_text(size: int) -> str:
    """A dotted line run into a word: one run of periods, then "Normal." (no space between)."""
    return "." * (size - 7) + "Normal."


def run_case(name: str, text: str, nlp, profile: int) -> None:
    from pacsmine.nlp.extract import new_rows
    from pacsmine.nlp.sentences import report_spans
    from pacsmine.nlp.stats import CorpusCounts

    segments, w_sections, c_sections = timed(nlp.sections.split_tuples, text)
    spans, w_spans, c_spans = timed(report_spans, text, nlp.sections, nlp.splitter)
    rows, stats = new_rows(), CorpusCounts()
    nlp._cache.clear()
    nlp._cache_old.clear()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        _, w_process, c_process = timed(prof.runcall, nlp.process, "BIG", "P", "CT", text, rows, stats)
    else:
        _, w_process, c_process = timed(nlp.process, "BIG", "P", "CT", text, rows, stats)
    print(
        f"{name}: {len(text) / 1e6:g} MB, {len(segments)} segments, {len(spans)} sentences, "
        f"{len(rows['references']['accession'])} references, {len(rows['terms']['accession'])} term mentions; "
        f"seconds wall (CPU): sections {w_sections:.2f} ({c_sections:.2f}), "
        f"sections+sentences {w_spans:.2f} ({c_spans:.2f}), ReportNLP.process {w_process:.2f} ({c_process:.2f})",
        flush=True,
    )
    if prof is not None:
        import pstats

        pstats.Stats(prof).sort_stats("cumulative").print_stats(profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=10.0, help="report size in MB (10^6 characters)")
    parser.add_argument("--case", choices=("reports", "line", "dots", "all"), default="all")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N most expensive functions")
    parser.add_argument("--sizes", action="store_true", help="each case at 1/4 of --mb and at --mb")
    args = parser.parse_args()

    from pacsmine.config import load_config
    from pacsmine.nlp.extract import ReportNLP, _tune_gc

    size = int(args.mb * 1e6)
    nlp = ReportNLP(load_config())
    _tune_gc()  # as in an extract worker: the rules and the phrase table frozen out of the collector
    print('# ' + machine_line(), flush=True)
    for s in (size // 4, size) if args.sizes else (size,):
        for case, make in (("reports", reports_text), ("line", line_text), ("dots", dots_text)):
            if args.case in (case, "all"):
                run_case(case, make(s), nlp, args.profile)
    print('# ' + machine_line(), flush=True)


if __name__ == "__main__":
    main()
