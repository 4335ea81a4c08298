"""Assertion on real radiology text, before and after, beside a negspacy-style window baseline.

    PYTHONPATH=src .venv/bin/python bench/negation_real.py [--data ../shared/data] [--before REV] [--json]

Sets (method: pacsmine.nlp.assertion_eval's docstring): ct_findings (140 chest CT FINDINGS
sections; every labelled finding located in the text, synonyms included, scored once at its
first located mention) and iu_xray (3,851 chest X-ray reports against their hand-coded
Problems/MeSH headings; "oracle" rows: each heading's words located in the text). Rows:

* "NegEx window baseline": a plain NegEx window (negspacy's method: a negation phrase up to
  five words before the span or a post phrase up to five words after it; no clause
  boundaries, pseudo-triggers or uncertainty), over the same items;
* "ConText before": the engine with the trigger file of git revision ``--before`` (default
  the commit before this work, a123d7a) and no normal statements and no list rule;
* "ConText after": the packaged rules;
* "after, 'no new' = absent": the packaged rules with "no new X" read as negation, not
  uncertain (the decision's cost against gold that labels those findings absent).

F1 with "absent" as the positive class; "present" with present as the positive class;
"decided": the absent score over the items a method calls absent or present (its
"uncertain" items left out: hand-coded labels code no hedged finding).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from pacsmine.nlp.assertion_eval import evaluate_ct_findings, evaluate_iu_xray
from pacsmine.nlp.corpora import read_finding_synonyms
from pacsmine.nlp.negation import ConText

REPO = Path(__file__).resolve().parents[1]


class NegExBaseline:
    """Plain regex NegEx (Chapman et al. 2001), the window negspacy uses: a negation phrase up
    to five words before the span, or a post phrase up to five words after it."""

    PRE = ["no", "not", "without", "denies", "negative for", "no evidence of", "absence of",
           "free of", "rule out", "ruled out", "no sign of", "no signs of"]
    POST = ["not seen", "absent", "ruled out", "not identified", "resolved", "not present"]

    def __init__(self, window: int = 5):
        self.window = window
        alt = lambda ps: "|".join(sorted((re.escape(p) for p in ps), key=len, reverse=True))
        self._pre = re.compile(r"\b(?:" + alt(self.PRE) + r")\b", re.I)
        self._post = re.compile(r"\b(?:" + alt(self.POST) + r")\b", re.I)

    def assert_span(self, sentence: str, start: int, end: int) -> dict:
        before = " ".join(sentence[:start].split()[-self.window - 2 :])
        after = " ".join(sentence[end:].split()[: self.window + 1])
        negated = any(len(before[m.end():].split()) <= self.window for m in self._pre.finditer(before))
        negated |= bool(self._post.search(after))
        return {"negated": negated, "uncertain": False, "historical": False}


def row(name: str, scores: dict) -> str:
    n, p, d = scores["negation"], scores["present"], scores["negation_decided"]
    return (f"  {name:<24} n={scores['n']:>5}  absent P={n['precision']:.3f} R={n['recall']:.3f} "
            f"F1={n['f1']:.3f}   present P={p['precision']:.3f} R={p['recall']:.3f} F1={p['f1']:.3f}"
            f"   | decided n={scores['n_decided']:>5} absent P={d['precision']:.3f} R={d['recall']:.3f} F1={d['f1']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--before", default="a123d7a", help="git revision whose context.toml is 'before'")
    parser.add_argument("--json", action="store_true", help="print the full results as JSON")
    args = parser.parse_args()
    data = Path(args.data)
    ct, iu = data / "ct_findings" / "reports", data / "iu_xray" / "indiana_reports.csv"
    if not ct.exists() or not iu.exists():
        print(f"real data absent under {data}", file=sys.stderr)
        return 1
    try:
        old = subprocess.run(["git", "show", f"{args.before}:src/pacsmine/nlp/rules/context.toml"], cwd=REPO,
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot read the 'before' rules at {args.before}: {exc}", file=sys.stderr)
        return 1
    synonyms = read_finding_synonyms(data / "vocabularies" / "finding_models" / "defs")
    # The packaged rules with "no new X" read as a plain negation instead of uncertain: what
    # the decision (docs/terms.md) costs against gold that labels these findings absent.
    rules = tomllib.loads((REPO / "src" / "pacsmine" / "nlp" / "rules" / "context.toml").read_text("utf-8"))
    no_new = [p for p in rules["uncertainty"]["pre"] if p.startswith(("no new", "without new"))]
    rules["uncertainty"]["pre"] = [p for p in rules["uncertainty"]["pre"] if p not in no_new]
    rules["negation"]["pre"] += no_new
    methods = {
        "NegEx window baseline": NegExBaseline(),
        f"ConText before ({args.before})": ConText(rules=tomllib.loads(old), normal={}, list_item_words=0),
        "ConText after": ConText(),
        "after, 'no new' = absent": ConText(rules=rules),
    }
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
    print(f"CPU: {cpu}, {os.cpu_count()} cores; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: dict = {}
    for set_name in ("ct_findings", "iu_xray"):
        print(f"{set_name}:")
        for method, assertion in methods.items():
            t0 = time.perf_counter()
            if set_name == "ct_findings":
                res = evaluate_ct_findings(ct, assertion, synonyms=synonyms)
            else:
                res = evaluate_iu_xray(iu, assertion)["oracle"]
            res["seconds"] = round(time.perf_counter() - t0, 2)
            results.setdefault(set_name, {})[method] = res
            print(row(method, res))
        if set_name == "ct_findings":
            r = results[set_name]["ConText after"]
            print(f"  ({r['labelled']} labelled findings, {r['not_located']} not located in the text)")
    # Speed of the per-sentence engine (what extract runs on every sentence), process CPU
    # time, best of three: all sentences of both sets.
    from pacsmine.nlp.assertion_eval import report_sentences
    from pacsmine.nlp.corpora import read_ct_findings, read_iu_reports

    sentences = [s for r in read_iu_reports(iu) for s in report_sentences(r["text"])]
    sentences += [s for r in read_ct_findings(ct) for s in report_sentences(r["text"])]
    print(f"speed, ConText.scopes over {len(sentences):,} real sentences (process CPU time, best of 3):")
    for method in (f"ConText before ({args.before})", "ConText after"):
        engine, best = methods[method], float("inf")
        for _ in range(3):
            t0 = time.process_time()
            for s in sentences:
                engine.scopes(s + " ")  # a new string each time: no last-sentence memo hit
            best = min(best, time.process_time() - t0)
        results.setdefault("speed", {})[method] = round(len(sentences) / best)
        print(f"  {method:<24} {len(sentences) / best:>10,.0f} sentences/s")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
