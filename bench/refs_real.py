"""Key-image reference precision and recall on real prose, before and after.

    PYTHONPATH=src .venv/bin/python bench/refs_real.py [--base main] [--data ../shared/data]

"before" is the reference parser and [extract.references] config of git revision
``--base`` (read with ``git show``, nothing is checked out); "after" is this working
tree's. Three real-text checks, each printed for both:

1. the real-prose table tests/data/refs_real_prose.tsv (sentences as written in the
   CT findings reports, MedPix reports and captions, and the fragments issue 7 quotes;
   expected (series, image) pairs read by hand): pair precision and recall (multisets,
   every image of a range counted), rows parsed exactly, false pairs per source kind;
2. the 140 chest CT findings reports: recall of the series/image pairs their hand-made
   extractions list (the extractions list the pairs of the findings they extract, not
   every cited image, so "pairs found beyond them" is no error count);
3. MedPix train (535 teaching cases): every reference found in all report text, against
   the case's key images in images.csv by accession: key images recovered
   (series, instance), references matching a key image (by (series, instance), or by
   instance where the text gives no series) and references matching none.

4. ``--hard N`` (default 1000): a hard phantom of N reports (seed 0, text only), the
   parser run on the truth's own sentences: recall of the references it writes (by
   phenomenon) and the references read in its distractor sentences ("Dr.", clock times,
   ratios, citations, prior-exam references: each one read is a false reference). The
   whole stage (sections included) is scored by ``pacsmine evaluate``; see docs/nlp.md.

Also the parse time per report over the MedPix and CT texts and over a phantom corpus
(``--phantom``), with the CPU model and the load average (speed of the whole NLP:
bench/nlp_speed.py).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from refs_table import TABLE, read_table  # noqa: E402  (the table's one reader, shared with the test)

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")
REPO = Path(__file__).resolve().parents[1]


def load_parser(base: str | None):
    """A ReferenceParser from git revision ``base`` (module and config), or from this tree."""
    if base is None:
        sys.path.insert(0, str(REPO / "src"))
        from pacsmine.config import load_config
        from pacsmine.nlp.refs import ReferenceParser

        return ReferenceParser.from_config(load_config()["extract"]["references"])

    def show(path: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), "show", f"{base}:{path}"], check=True,
                              capture_output=True, text=True).stdout

    tmp = Path(tempfile.mkdtemp()) / f"refs_{re.sub(r'[^A-Za-z0-9]', '_', base)}.py"
    tmp.write_text(show("src/pacsmine/nlp/refs.py"), "utf-8")
    spec = importlib.util.spec_from_file_location(tmp.stem, tmp)
    module = importlib.util.module_from_spec(spec)
    sys.modules[tmp.stem] = module
    spec.loader.exec_module(module)
    cfg = tomllib.loads(show("src/pacsmine/config/extract.toml"))["references"]
    return module.ReferenceParser.from_config(cfg)


def score_table(parser, rows) -> dict:
    tp = found = truth = exact = 0
    false_by_kind: Counter = Counter()
    wrong = []
    for source, text, expected in rows:
        got = [(r.series, r.image) for r in parser.parse(text)]
        hit = sum((Counter(got) & Counter(expected)).values())
        tp, found, truth = tp + hit, found + len(got), truth + len(expected)
        exact += got == expected
        if len(got) > hit:
            false_by_kind[source.split("/")[0]] += len(got) - hit
        if got != expected:
            wrong.append((source, text, got, expected))
    return {"rows": len(rows), "exact": exact, "tp": tp, "found": found, "truth": truth,
            "precision": tp / found if found else 1.0, "recall": tp / truth if truth else 1.0,
            "false_by_kind": dict(false_by_kind), "wrong": wrong}


def ct_reports(data: Path):
    """(report, text, hand-made key-image pairs) of the CT findings reports."""
    from pacsmine.nlp.corpora import read_ct_findings

    for report in read_ct_findings(data / "ct_findings" / "reports"):
        yield report["report"], report["text"], report["key_images"]


def score_ct(parser, reports) -> dict:
    truth_total = found = beyond = 0
    for _, body, truth in reports:
        got = {(r.series, r.image) for r in parser.parse(body)}
        truth_total += len(truth)
        found += len(truth & got)
        beyond += len(got - truth)
    return {"truth": truth_total, "found": found, "beyond": beyond}


def medpix(data: Path):
    folder = data / "medpix_train"
    with open(folder / "reports.csv", newline="", encoding="utf-8") as fh:
        reports = [(r["accession"], r["text"]) for r in csv.DictReader(fh)]
    keys: dict[str, set] = {}
    with open(folder / "images.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            keys.setdefault(r["accession"], set()).add((int(r["series"]), int(r["instance"])))
    return reports, keys


def score_medpix(parser, reports, keys) -> dict:
    n_keys = sum(len(v) for v in keys.values())
    recovered = found = matched = 0
    for acc, text in reports:
        key = keys.get(acc, set())
        refs = {(r.series, r.image) for r in parser.parse(text)}
        recovered += len(key & refs)
        instances = {i for _, i in key}
        for s, i in refs:
            found += 1
            matched += (s, i) in key if s is not None else i in instances
    return {"keys": n_keys, "recovered": recovered, "found": found, "matched": matched, "unmatched": found - matched}


def parse_times(parsers: dict, texts, repeat: int = 8) -> dict:
    """Best CPU time per text (us) of each parser (this process's CPU time: other jobs on a
    shared machine do not count in it, as they do in wall time), runs interleaved (in turn
    first and last) so that a change in the machine's load falls on all of them alike."""
    best = {name: float("inf") for name in parsers}
    names = list(parsers)
    for round_ in range(repeat):
        for name in names if round_ % 2 == 0 else names[::-1]:
            parser = parsers[name]
            t0 = time.process_time()
            for t in texts:
                parser.parse(t)
            best[name] = min(best[name], time.process_time() - t0)
    return {name: b / len(texts) * 1e6 for name, b in best.items()}


def phantom_texts(n: int) -> list[str]:
    """Report texts of an ``n``-report phantom corpus (seed 0, no images)."""
    from pacsmine.config import load_config
    from pacsmine.phantom import generate

    with tempfile.TemporaryDirectory() as d:
        cfg = dict(load_config()["phantom"], faulty_reports=0)
        generate(Path(d) / "export", reports=n, seed=0, config=cfg, images=False)
        with open(Path(d) / "export" / "reports.csv", newline="", encoding="utf-8") as fh:
            return [r["text"] for r in csv.DictReader(fh)]


def hard_truth(n: int) -> tuple[list[dict], list[dict]]:
    """The truth references and distractor sentences of an ``n``-report hard phantom."""
    import pyarrow.parquet as pq

    from pacsmine.config import load_config
    from pacsmine.phantom import generate

    with tempfile.TemporaryDirectory() as d:
        cfg = dict(load_config()["phantom"], difficulty="hard")
        generate(Path(d) / "export", reports=n, seed=0, config=cfg, images=False)
        truth = Path(d) / "export" / "truth"
        return (pq.read_table(truth / "references.parquet").to_pylist(),
                pq.read_table(truth / "distractors.parquet").to_pylist())


def score_hard(parser, refs: list[dict], distractors: list[dict]) -> dict:
    """Recall of the truth's references in their own sentences, by phenomenon, and the
    references read in each kind of distractor sentence."""
    want: dict[tuple[str, str], Counter] = {}
    phen: dict[tuple[str, str, int | None, int], str] = {}
    for r in refs:
        key = (r["accession"], r["sentence"])
        pair = (r["series"] if r["series_written"] else None, r["instance"])
        want.setdefault(key, Counter())[pair] += 1
        phen[key + pair] = r["phenomenon"]
    total: Counter = Counter()
    hit: Counter = Counter()
    for (acc, sentence), pairs in want.items():
        got = Counter((x.series, x.image) for x in parser.parse(sentence))
        for pair, k in pairs.items():
            ph = phen[(acc, sentence) + pair]
            total[ph] += k
            hit[ph] += min(k, got[pair])
    false: Counter = Counter()
    with_false: Counter = Counter()
    kinds: Counter = Counter()
    for d in distractors:
        n = len(parser.parse(d["sentence"]))
        kinds[d["phenomenon"]] += 1
        false[d["phenomenon"]] += n
        with_false[d["phenomenon"]] += n > 0
    return {"recall": {ph: (hit[ph], total[ph]) for ph in sorted(total)},
            "distractors": {k: (kinds[k], with_false[k], false[k]) for k in sorted(kinds)}}



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="a123d7a", help="git revision of the 'before' parser (default: a123d7a, before issue 7)")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--show-wrong", action="store_true", help="list the table rows each parser gets wrong")
    ap.add_argument("--phantom", type=int, default=5000, help="also time on this many phantom reports (0: skip)")
    ap.add_argument("--hard", type=int, default=1000, help="score on a hard phantom of this many reports (0: skip)")
    args = ap.parse_args()
    parsers = {f"before ({args.base})": load_parser(args.base), "after (working tree)": load_parser(None)}
    rows = read_table()
    have_data = (args.data / "ct_findings").is_dir() and (args.data / "medpix_train").is_dir()
    if have_data:
        ct = list(ct_reports(args.data))
        mp_reports, mp_keys = medpix(args.data)
    else:
        print(f"note: {args.data} is absent: only the table is scored")
    print(f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"real-prose table: {len(rows)} rows ({TABLE.relative_to(REPO)})")
    shared = [r for r in rows if not r[0].startswith("issue7")]
    for name, parser in parsers.items():
        t = score_table(parser, rows)
        s = score_table(parser, shared)
        print(f"  {name:22s} precision {t['precision']:.3f} ({t['tp']}/{t['found']} pairs)  "
              f"recall {t['recall']:.3f} ({t['tp']}/{t['truth']})  rows exact {t['exact']}/{t['rows']}  "
              f"false pairs by source {t['false_by_kind']}")
        print(f"  {'':22s} rows from the shared data only ({s['rows']}): precision {s['precision']:.3f} "
              f"({s['tp']}/{s['found']}), recall {s['recall']:.3f} ({s['tp']}/{s['truth']})")
        if args.show_wrong:
            for source, text, got, expected in t["wrong"]:
                print(f"      {source}: {text[:90]!r}\n        got {got[:8]} expected {expected[:8]}")
    if args.hard:
        h_refs, h_distractors = hard_truth(args.hard)
        print(f"hard phantom: {args.hard} reports (seed 0), the parser on the truth's sentences")
        for name, parser in parsers.items():
            h = score_hard(parser, h_refs, h_distractors)
            recall = "  ".join(f"{ph} {a}/{b}" for ph, (a, b) in h["recall"].items())
            print(f"  {name:22s} references recalled: {recall}")
            for kind, (n, bad, false) in h["distractors"].items():
                print(f"  {'':22s} distractor {kind:15s} sentences {n:4d}, with a reference read {bad:4d}, "
                      f"references read {false}")
    if not have_data:
        return
    print(f"CT findings: {len(ct)} reports, pairs of the hand-made extractions")
    for name, parser in parsers.items():
        c = score_ct(parser, ct)
        print(f"  {name:22s} recall {c['found'] / c['truth']:.3f} ({c['found']}/{c['truth']})  "
              f"pairs found beyond the extractions {c['beyond']}")
    print(f"MedPix train: {len(mp_reports)} reports, {sum(len(v) for v in mp_keys.values())} key images (images.csv)")
    for name, parser in parsers.items():
        m = score_medpix(parser, mp_reports, mp_keys)
        print(f"  {name:22s} key images recovered {m['recovered']}/{m['keys']} ({m['recovered'] / m['keys']:.3f})  "
              f"references {m['found']}: matching a key image {m['matched']} ({m['matched'] / m['found']:.3f}), "
              f"matching none {m['unmatched']}")
    texts = [t for _, t in mp_reports] + [b for _, b, _ in ct]
    words = sum(len(t.split()) for t in texts) / len(texts)
    n_refs = sum(len(parsers["after (working tree)"].parse(t)) for t in texts)
    print(f"parse time, MedPix + CT texts: {len(texts)} reports, {words:.0f} words/report, {n_refs} references "
          f"(after); CPU time, best of 8, interleaved; 'before again' is a second copy of the before parser: "
          f"its gap to 'before' is the run's noise")
    timed = dict(parsers)
    timed[f"before again ({args.base})"] = load_parser(args.base)
    for name, us in parse_times(timed, texts).items():
        print(f"  {name:24s} {us:6.1f} us/report")
    if args.phantom:
        phantom = phantom_texts(args.phantom)
        print(f"parse time, phantom: {len(phantom)} reports (seed 0), CPU time, best of 8, interleaved")
        for name, us in parse_times(timed, phantom).items():
            print(f"  {name:24s} {us:6.1f} us/report")


if __name__ == "__main__":
    main()
