"""pacsmine's report NLP against negspacy, side by side in one process, on the same texts
with the same term phrases.

    .venv/bin/python bench/assertion_speed.py                   # phantom, CT findings, IU X-ray
    .venv/bin/python bench/assertion_speed.py --repeats 7 --phantom-reports 3000
    .venv/bin/python bench/assertion_speed.py --corpora ct iu --profile iu   # + cProfile of pacsmine

Sides, each timed on every report of a corpus, one core:

- ``negspacy``: ``spacy.blank("en")`` + ``sentencizer`` + an ``entity_ruler`` whose patterns
  are pacsmine's term phrases (the key tuples of the annotator's phrase table, lower-case,
  matched on the ``LOWER`` attribute: the PhraseMatcher, spaCy's fast path for large
  dictionaries) + negspacy's ``negex`` (its ``en_clinical`` termset) over ``nlp.pipe``.
- ``pacsmine``: what the extract stage does per report (:meth:`ReportNLP.process`: sections,
  sentences, tokens, references, terms, assertion, rows), with its per-sentence cache as
  configured (``auto``), and also with the cache forced ``on`` and ``off``.
- ``terms+assertion``: ``TermAnnotator.annotate`` alone over the same reports' sentences
  (split beforehand, outside the timing).

Corpora: ``phantom`` (text-only phantom reports generated in this process), ``ct`` (the 140
chest CT FINDINGS of ``../shared/data/ct_findings``), ``iu`` (findings + impression of the
IU X-ray reports), ``distinct`` (the CT and IU reports with every sentence seen before cut
out: real text that does not repeat, where the cache can only cost). Every side is timed
``--repeats`` times (a corpus under ``--min-reports`` reports more often, so that a
median covers that many reports), interleaved (side after side within each slice of 200 reports, in a
rotating order), each repeat with an empty sentence cache; the median reports/s is printed,
and the ratio of pacsmine's median to negspacy's. Rates are reports per CPU second of this
process (``time.process_time``), i.e. per core, so that other processes on a shared machine
slow neither side's figure much; both sides run in one thread. The machine line (CPU model,
cores, load average) is printed at the start and at the end.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CHUNK = 200  # reports per interleaved slice (and per rows batch)


# --------------------------------------------------------------------------- corpora


def _readers():
    from pacsmine.nlp.corpora import read_ct_findings, read_iu_reports
    return read_ct_findings, read_iu_reports


def corpus(name: str, n_phantom: int, seed: int) -> list[str] | None:
    """The report texts of corpus ``name`` (None when its data is absent)."""
    read_ct_findings, read_iu_reports = _readers()
    if name == "phantom":
        from pacsmine.config import load_config
        from pacsmine.phantom import iter_reports

        cfg = dict(load_config()["phantom"], faulty_reports=0)
        return [r.text for r in iter_reports(n_phantom, seed, cfg)]
    if name == "ct":
        folder = DATA / "ct_findings" / "reports"
        return [r["text"] for r in read_ct_findings(folder)] if folder.exists() else None
    if name == "iu":
        path = DATA / "iu_xray" / "indiana_reports.csv"
        return [r["text"] for r in read_iu_reports(path)] if path.exists() else None
    if name == "distinct":
        texts = (corpus("ct", n_phantom, seed) or []) + (corpus("iu", n_phantom, seed) or [])
        return distinct_sentences(texts) if texts else None
    raise SystemExit(f"assertion_speed: unknown corpus {name!r} (phantom, ct, iu, distinct)")


def distinct_sentences(texts: list[str]) -> list[str]:
    """``texts`` with every sentence that occurred before (in this or an earlier report)
    cut out: real text whose sentences do not repeat (headers and the rest stay)."""
    from pacsmine.config import load_config
    from pacsmine.nlp.sections import SectionSplitter
    from pacsmine.nlp.sentences import SentenceSplitter, report_spans

    cfg = load_config()["extract"]
    sections, splitter = SectionSplitter.from_config(cfg["sections"]), SentenceSplitter.from_config(cfg["sentences"])
    seen: set[str] = set()
    out = []
    for text in texts:
        pieces, last = [], 0
        for _, a, b in report_spans(text, sections, splitter):
            if text[a:b] in seen:
                pieces.append(text[last:a])
                last = b
            seen.add(text[a:b])
        out.append("".join(pieces) + text[last:])
    return out


# --------------------------------------------------------------------------- sides


def term_phrases(annotator) -> list[str]:
    """The annotator's phrases as lower-case strings (its phrase table's key tuples; an
    entry whose value is -1 or None is a stop phrase, never matched, and is left out)."""
    table = getattr(annotator, "phrases_", None)
    if not isinstance(table, dict) or not table:
        raise SystemExit("assertion_speed: the term annotator has no phrase table (phrases_)")
    return sorted({" ".join(k) if isinstance(k, tuple) else str(k).lower()
                   for k, v in table.items() if v is not None and not (isinstance(v, int) and v < 0)})


def negspacy_pipeline(phrases: list[str]):
    try:
        import spacy
        from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)
    except ImportError:
        sys.exit("bench/assertion_speed.py needs spaCy and negspacy: .venv/bin/python -m pip install -e '.[bench]'")

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "TERM", "pattern": p} for p in phrases])
    nlp.add_pipe("negex", config={"ent_types": ["TERM"]})
    return nlp


def run_negspacy(nlp, texts: list[str]) -> int:
    n = 0
    for doc in nlp.pipe(texts, batch_size=256):
        n += sum(1 for e in doc.ents if e._.negex)
    return n


def run_pacsmine(nlp, texts: list[str], start: int = 0) -> int:
    """``ReportNLP.process`` on ``texts`` (one rows batch, as in a stage worker)."""
    from pacsmine.nlp.extract import new_rows
    from pacsmine.nlp.stats import CorpusCounts

    rows = new_rows()
    stats = CorpusCounts()
    for i, text in enumerate(texts, start):
        nlp.process(f"R{i}", None, None, text, rows, stats)
    return len(rows["terms"]["accession"])


def run_terms(annotator, sentences: list[str]) -> int:
    annotate = annotator.annotate
    return sum(len(annotate(s)) for s in sentences)


def timed(jobs: dict, chunks: int, repeats: int) -> dict[str, list[float]]:
    """CPU seconds of this process (``time.process_time``: time spent waiting for a core
    while other processes run does not count) per repeat per side. Sides are interleaved chunk by chunk (load from other
    processes falls on all sides alike); each repeat starts with empty sentence caches."""
    times = {side: [] for side in jobs}
    sides = list(jobs)
    for r in range(repeats):
        total = dict.fromkeys(jobs, 0.0)
        for side, (reset, _) in jobs.items():
            reset()
        for c in range(chunks):
            k = (r + c) % len(sides)  # the order rotates: no side always runs after the same one
            for side in sides[k:] + sides[:k]:
                t = time.process_time()
                jobs[side][1](c)
                total[side] += time.process_time() - t
        for side in jobs:
            times[side].append(total[side])
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", nargs="+", default=["phantom", "ct", "iu", "distinct"])
    ap.add_argument("--phantom-reports", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-reports", type=int, default=1500,
                    help="a small corpus gets more repeats, so that each side's median is taken over at least "
                         "this many reports in all (the 140 CT reports: 11 repeats)")
    ap.add_argument("--gc", choices=["stage", "default"], default="stage",
                    help="stage: the collector as the extract stage's workers set it (frozen long-lived "
                         "objects, a higher threshold), for both sides; default: Python's defaults")
    ap.add_argument("--profile", choices=["phantom", "ct", "iu", "distinct"], default=None,
                    help="after the timing, cProfile pacsmine (cache off: every sentence computed) on this corpus")
    args = ap.parse_args()

    from pacsmine.config import load_config
    from pacsmine.nlp.extract import ReportNLP

    print(machine_line("start"))
    t0 = time.perf_counter()
    config = load_config()
    nlp = ReportNLP(config)
    annotator = nlp.annotator
    phrases = term_phrases(annotator)
    t1 = time.perf_counter()
    spacy_nlp = negspacy_pipeline(phrases)
    t2 = time.perf_counter()
    # One ReportNLP per cache mode (each keeps its own cache and word memos).
    nlps = {"auto": nlp, "on": ReportNLP(config), "off": ReportNLP(config)}
    if args.gc == "stage":
        from pacsmine.nlp.extract import _tune_gc

        _tune_gc()  # process-wide: negspacy runs under the same collector settings
    print(f"garbage collector: {args.gc} settings {gc.get_threshold()}, both sides")
    print(f"term phrases: {len(phrases)} (both sides); pacsmine built in {t1 - t0:.1f} s, "
          f"negspacy pipeline in {t2 - t1:.1f} s")
    sides = ["negspacy", "pacsmine", "pacsmine cache on", "pacsmine cache off", "terms+assertion"]
    rows = []
    for name in args.corpora:
        texts = corpus(name, args.phantom_reports, args.seed)
        if texts is None:
            print(f"{name}: data absent, skipped")
            continue
        sentences = [text[a:b] for text in texts for _, a, b in nlp._report_spans(text, nlp.sections, nlp.splitter)]
        distinct = len(set(sentences))
        print(f"{name}: {len(texts)} reports, {sum(len(t.split()) for t in texts) / len(texts):.0f} words/report, "
              f"{len(sentences)} sentences, {1 - distinct / max(1, len(sentences)):.0%} of them repeats")
        step = max(1, min(CHUNK, len(texts)))
        parts = [texts[i : i + step] for i in range(0, len(texts), step)]
        sentence_parts = [[t[a:b] for t in part for _, a, b in nlp._report_spans(t, nlp.sections, nlp.splitter)]
                          for part in parts]
        jobs = {
            "negspacy": (lambda: None, lambda c: run_negspacy(spacy_nlp, parts[c])),
            "pacsmine": (lambda: nlps["auto"].set_sentence_cache("auto"),
                         lambda c: run_pacsmine(nlps["auto"], parts[c], c * step)),
            "pacsmine cache on": (lambda: nlps["on"].set_sentence_cache("on"),
                                  lambda c: run_pacsmine(nlps["on"], parts[c], c * step)),
            "pacsmine cache off": (lambda: nlps["off"].set_sentence_cache("off"),
                                   lambda c: run_pacsmine(nlps["off"], parts[c], c * step)),
            "terms+assertion": (lambda: None, lambda c: run_terms(annotator, sentence_parts[c])),
        }
        timed(jobs, len(parts), 1)  # warm-up: word memos, spaCy's string store
        repeats = max(args.repeats, -(-args.min_reports // len(texts)))
        times = timed(jobs, len(parts), repeats)
        print(f"  {repeats} interleaved repeats")
        rate = {s: len(texts) / statistics.median(v) for s, v in times.items()}
        rows.append((name, rate))
        for side in sides:
            spread = [len(texts) / x for x in times[side]]
            print(f"  {side:<20} {rate[side]:>9,.0f} reports/s  (min {min(spread):,.0f}, max {max(spread):,.0f})")
    nlp.set_sentence_cache("auto")
    print(f"\nmedian of {args.repeats} interleaved repeats (more for a corpus under {args.min_reports} reports), "
          "reports per CPU second (one core); ratios over negspacy")
    print(f"{'corpus':<9}{'negspacy':>10}{'pacsmine':>10}{'ratio':>7}{'cache on':>10}{'cache off':>10}"
          f"{'on/off':>8}{'auto/off':>9}{'terms+ctx':>11}")
    for name, r in rows:
        print(f"{name:<9}{r['negspacy']:>10,.0f}{r['pacsmine']:>10,.0f}{r['pacsmine'] / r['negspacy']:>6.2f}x"
              f"{r['pacsmine cache on']:>10,.0f}{r['pacsmine cache off']:>10,.0f}"
              f"{r['pacsmine cache on'] / r['pacsmine cache off']:>8.2f}{r['pacsmine'] / r['pacsmine cache off']:>9.2f}"
              f"{r['terms+assertion']:>11,.0f}")
    print(machine_line("end"))
    if args.profile:
        import cProfile
        import pstats

        texts = corpus(args.profile, args.phantom_reports, args.seed) or []
        prof = cProfile.Profile()
        repeats = max(1, 3000 // max(1, len(texts)))

        def passes():
            nlp.set_sentence_cache("off")
            for _ in range(repeats):
                run_pacsmine(nlp, texts)

        prof.runcall(passes)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
