"""Do speed changes keep the report NLP's outputs? ``ReportNLP.process`` rows (sentences,
references, terms, documents, key images, bigrams) and corpus statistics on the phantom,
CT findings and IU X-ray, written to a file or compared with one written before.

    .venv/bin/python bench/extract_identical.py --save /tmp/before.pkl    # on the old code
    .venv/bin/python bench/extract_identical.py --compare /tmp/before.pkl # on the new code

Prints per corpus and table the row count and "identical: yes/no" (with the first
differing row); each corpus is run with the sentence cache off, on and auto, and the three
must agree with each other too. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402
from assertion_speed import corpus  # noqa: E402


def outputs(nlp, texts: list[str], mode: str) -> dict:
    """Rows of every table and the statistics' JSON for ``texts`` under cache ``mode``."""
    from pacsmine.nlp.extract import new_rows
    from pacsmine.nlp.stats import CorpusCounts

    nlp.set_sentence_cache(mode)
    rows = new_rows()
    stats = CorpusCounts()
    for i, text in enumerate(texts):
        nlp.process(f"R{i}", f"P{i % 7}", "CT", text, rows, stats)
    return {"rows": rows, "stats": stats.to_json()}


def first_difference(a: dict, b: dict) -> str | None:
    """None when equal, else where the first difference lies."""
    for table in sorted(set(a["rows"]) | set(b["rows"])):
        ta, tb = a["rows"].get(table, {}), b["rows"].get(table, {})
        for col in sorted(set(ta) | set(tb)):
            ca, cb = ta.get(col), tb.get(col)
            if ca != cb:
                if ca is None or cb is None:
                    return f"{table}.{col}: column missing on one side"
                for i, (x, y) in enumerate(zip(ca, cb)):
                    if x != y:
                        return f"{table}.{col} row {i}: {x!r} != {y!r}"
                return f"{table}.{col}: {len(ca)} rows != {len(cb)} rows"
    if a["stats"] != b["stats"]:
        keys = [k for k in sorted(set(a["stats"]) | set(b["stats"])) if a["stats"].get(k) != b["stats"].get(k)]
        return f"statistics differ: {', '.join(keys)}"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", nargs="+", default=["phantom", "ct", "iu"])
    ap.add_argument("--phantom-reports", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path)
    group.add_argument("--compare", type=Path)
    args = ap.parse_args()

    from pacsmine.config import load_config
    from pacsmine.nlp.extract import ReportNLP

    print(machine_line("start"))
    nlp = ReportNLP(load_config())
    result, ok = {}, True
    for name in args.corpora:
        texts = corpus(name, args.phantom_reports, args.seed)
        if texts is None:
            print(f"{name}: data absent, skipped")
            continue
        runs = {mode: outputs(nlp, texts, mode) for mode in ("off", "on", "auto")}
        for mode in ("on", "auto"):
            diff = first_difference(runs["off"], runs[mode])
            if diff:
                ok = False
                print(f"{name}: cache {mode} differs from cache off: {diff}")
        result[name] = runs["off"]
        sizes = ", ".join(f"{t} {len(next(iter(c.values())))}" for t, c in runs["off"]["rows"].items())
        print(f"{name}: {len(texts)} reports; rows: {sizes}")
    # JSON both ways (a stored run is data, never code to unpickle); the fresh rows go through
    # the same round trip so that tuples and lists compare alike.
    result = json.loads(json.dumps(result))
    if args.save:
        args.save.write_text(json.dumps(result), "utf-8")
        print(f"saved to {args.save}")
    else:
        before = json.loads(args.compare.read_text("utf-8"))
        for name, out in result.items():
            if name not in before:
                print(f"{name}: not in {args.compare}")
                continue
            diff = first_difference(before[name], out)
            ok = ok and diff is None
            print(f"{name}: identical: {'yes' if diff is None else 'no'}" + (f" ({diff})" if diff else ""))
    print(machine_line("end"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
