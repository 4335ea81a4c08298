"""Assertion on real radiology text, before and after, beside a negspacy-style window baseline.

    PYTHONPATH=src .venv/bin/python bench/negation_real.py [--data ../shared/data] [--before REV]
        [--round REV] [--errors FILE] [--categories FILE] [--json]

Sets (method: pacsmine.nlp.assertion_eval's docstring): ct_findings (140 chest CT FINDINGS
sections; every labelled finding located in the text, synonyms included, scored once at its
first located mention) and iu_xray (3,851 chest X-ray reports against their hand-coded
Problems/MeSH headings; "oracle" rows: each heading's words located in the text). Rows:

* "NegEx window baseline": a plain NegEx window (negspacy's method: a negation phrase up to
  five words before the span or a post phrase up to five words after it; no clause
  boundaries, pseudo-triggers or uncertainty), over the same items;
* "ConText before": the engine with the trigger file of git revision ``--before`` (default
  the commit before this work, a123d7a) and no normal statements and no list rule;
* "ConText round 1": the engine with the trigger and normal-statement files of git revision
  ``--round`` (default 4a8c61a, the first assertion round as merged), scored by today's
  locator;
* "ConText after": the packaged rules;
* "after, 'no new' = absent": the packaged rules with "no new X" read as negation, not
  uncertain (the decision's cost against gold that labels those findings absent).

F1 with "absent" as the positive class; "present" with present as the positive class;
"decided": the absent score over the items a method calls absent or present (its
"uncertain" items left out: hand-coded labels code no hedged finding).

Errors of "ConText after" (an item whose gold is absent and whose status is not, or whose
gold is present and whose status is absent or uncertain) are written with ``--errors FILE``
(JSON lines) and counted by the hand-made categories of ``--categories`` (default
bench/assertion_errors.tsv: set, report, finding, category, note; written after reading
each case; bench data, not a rule). The row "after, label noise set aside" is the same
score without the items categorised ``label_noise`` (the gold contradicts the text): a
second figure beside the main one, never in its place.
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
from pacsmine.nlp.evaluate import binary_scores
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


def is_error(item: dict) -> bool:
    """A scored item that counts against the absent or the present score."""
    if item["gold"] == "absent":
        return item["status"] != "absent"
    return item["status"] not in ("present", "historical")


def read_categories(path: Path) -> dict[tuple[str, str, str], str]:
    """(set, report, finding lower case) -> category, from the hand-made TSV (``#`` lines and
    the header skipped)."""
    out: dict[tuple[str, str, str], str] = {}
    if not path.exists():
        return out
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("set\t"):
            continue
        cols = line.split("\t")
        if len(cols) < 4:
            raise SystemExit(f"{path}: a row needs set, report, finding, category: {line!r}")
        out[(cols[0], cols[1], cols[2].lower())] = cols[3]
    return out


def scores_of(items: list[dict]) -> dict:
    """The absent and present scores of detail items (as assertion_eval scores them)."""
    t = [(x["gold"] == "absent", x["status"] == "absent", x["status"] in ("present", "historical")) for x in items]
    neg = (sum(1 for a, p, _ in t if a and p), sum(1 for a, p, _ in t if not a and p), sum(1 for a, p, _ in t if a and not p))
    pos = (sum(1 for a, _, q in t if not a and q), sum(1 for a, _, q in t if a and q), sum(1 for a, _, q in t if not a and not q))
    dec = [x for x in t if x[1] or x[2]]
    d = (sum(1 for a, p, _ in dec if a and p), sum(1 for a, p, _ in dec if not a and p), sum(1 for a, p, _ in dec if a and not p))
    return {"negation": binary_scores(*neg), "present": binary_scores(*pos), "n": len(t),
            "negation_decided": binary_scores(*d), "n_decided": len(dec)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--before", default="a123d7a", help="git revision whose context.toml is 'before'")
    parser.add_argument("--round", default="4a8c61a", help="git revision of the first assertion round's rules")
    parser.add_argument("--errors", help="write every error of 'ConText after' to this file (JSON lines)")
    parser.add_argument("--categories", default=str(REPO / "bench" / "assertion_errors.tsv"),
                        help="hand-made error categories (TSV: set, report, finding, category, note)")
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
    try:
        round1 = {name: tomllib.loads(subprocess.run(
            ["git", "show", f"{args.round}:src/pacsmine/nlp/rules/{name}.toml"], cwd=REPO, check=True,
            capture_output=True, text=True).stdout) for name in ("context", "normal_findings")}
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot read the round-1 rules at {args.round}: {exc}", file=sys.stderr)
        return 1
    categories = read_categories(Path(args.categories))
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
        f"ConText round 1 ({args.round})": ConText(rules=round1["context"], normal=round1["normal_findings"]),
        "ConText after": ConText(),
        "after, 'no new' = absent": ConText(rules=rules),
    }
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
    print(f"CPU: {cpu}, {os.cpu_count()} cores; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    round_name = f"ConText round 1 ({args.round})"
    results: dict = {}
    errors: list[dict] = []
    for set_name in ("ct_findings", "iu_xray"):
        print(f"{set_name}:")
        for method, assertion in methods.items():
            details: list[dict] | None = [] if method in ("ConText after", round_name) else None
            t0 = time.perf_counter()
            if set_name == "ct_findings":
                res = evaluate_ct_findings(ct, assertion, synonyms=synonyms, details=details)
            else:
                res = evaluate_iu_xray(iu, assertion, details=details)["oracle"]
            res["seconds"] = round(time.perf_counter() - t0, 2)
            results.setdefault(set_name, {})[method] = res
            print(row(method, res))
            if details is None:
                continue
            wrong = [x | {"set": set_name, "method": method} for x in details if is_error(x)]
            for x in wrong:
                x["category"] = categories.get((set_name, x["report"], x["finding"].lower()), "uncategorised")
                x["span"] = x["sentence"][x["start"]:x["end"]]
            errors += wrong
            if method != "ConText after":
                continue
            noise = {(x["report"], x["finding"].lower()) for x in wrong if x["category"] == "label_noise"}
            kept = [x for x in details if (x["report"], x["finding"].lower()) not in noise]
            res_clean = scores_of(kept)
            results[set_name]["after, label noise set aside"] = res_clean
            print(row("after, label noise aside", res_clean))
        if set_name == "ct_findings":
            r = results[set_name]["ConText after"]
            print(f"  ({r['labelled']} labelled findings, {r['not_located']} not located in the text)")
        for method in (round_name, "ConText after"):
            mine = [x for x in errors if x["set"] == set_name and x["method"] == method]
            counts: dict[str, list[int]] = {}
            for x in mine:
                c = counts.setdefault(x["category"], [0, 0])
                c[0 if x["gold"] == "absent" else 1] += 1
            print(f"  errors of '{method}' by hand-made category ({len(mine)}; gold absent / gold present):")
            for cat, (a, p) in sorted(counts.items(), key=lambda kv: -sum(kv[1])):
                print(f"    {cat:<26} {a + p:>5}  ({a} / {p})")
            results[set_name].setdefault("error_categories", {})[method] = counts
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as fh:
            for x in errors:
                if x["method"] == "ConText after":
                    fh.write(json.dumps(x) + "\n")
    # Speed of the per-sentence engine (what extract runs on every sentence), process CPU
    # time, best of three: all sentences of both sets.
    from pacsmine.nlp.assertion_eval import report_sentences
    from pacsmine.nlp.corpora import read_ct_findings, read_iu_reports

    sentences = [s for r in read_iu_reports(iu) for s in report_sentences(r["text"])]
    sentences += [s for r in read_ct_findings(ct) for s in report_sentences(r["text"])]
    print(f"speed, ConText.scopes over {len(sentences):,} real sentences (process CPU time, best of 3):")
    for method in (f"ConText before ({args.before})", f"ConText round 1 ({args.round})", "ConText after"):
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
