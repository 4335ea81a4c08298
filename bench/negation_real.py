"""Negation and "present" precision/recall of ConText on real radiology text, against a
plain regex NegEx baseline.

    .venv/bin/python bench/negation_real.py [--data ../shared/data] [--json]

Sets (see docs/terms.md for the scoring): ct_findings (140 chest CT FINDINGS sections
with presence absent/present per finding) and iu_xray (3,851 chest X-ray reports with
hand-coded Problems). "oracle" rows locate each labelled finding's own words in the text
(ConText alone); "ontology" rows go end to end through the Disease Ontology matcher.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from pacsmine.config import load_config
from pacsmine.nlp.negation import evaluate_ct_findings, evaluate_iu_xray
from pacsmine.nlp.terms import TermAnnotator

REPO = Path(__file__).resolve().parents[1]


class NegExBaseline:
    """Plain regex NegEx (Chapman et al. 2001): a negation phrase up to five words before
    the span, or a post phrase up to five words after it; no clause boundaries, no
    pseudo-triggers, no uncertainty."""

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
        negated = False
        for m in self._pre.finditer(before):
            # words between the trigger and the span
            gap = len(before[m.end():].split())
            negated |= gap <= self.window
        negated |= bool(self._post.search(after))
        return {"negated": negated, "uncertain": False, "historical": False}


def row(name: str, scores: dict) -> str:
    n, p = scores["negation"], scores["present"]
    return (f"  {name:<26} n={scores['n']:>5}  negation P={n['precision']:.3f} R={n['recall']:.3f} "
            f"F1={n['f1']:.3f}   present P={p['precision']:.3f} R={p['recall']:.3f} F1={p['f1']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--json", action="store_true", help="print the full results as JSON")
    args = parser.parse_args()
    data = Path(args.data)
    obo = data / "disease_ontology" / "HumanDO.obo"
    if not obo.exists():
        print(f"real data absent: {obo}", file=sys.stderr)
        return 1
    section = load_config()["extract"]["terms"]
    section["ontology"] = str(obo)
    annotator = TermAnnotator.from_config(section)
    methods = {"ConText (pacsmine)": annotator.context_, "NegEx regex baseline": NegExBaseline()}
    results: dict = {}
    for set_name, fn, path in (
        ("ct_findings", evaluate_ct_findings, data / "ct_findings" / "reports"),
        ("iu_xray", evaluate_iu_xray, data / "iu_xray" / "indiana_reports.csv"),
    ):
        print(f"{set_name}:")
        for method, assertion in methods.items():
            t0 = time.perf_counter()
            res = fn(path, assertion, annotator)
            res["seconds"] = round(time.perf_counter() - t0, 2)
            results.setdefault(set_name, {})[method] = res
            for kind in ("oracle", "ontology"):
                print(row(f"{method[:18]} {kind}", res[kind]))
        extra = results[set_name]["ConText (pacsmine)"]
        if "not_located" in extra["oracle"]:
            print(f"  ({extra['oracle']['not_located']} labelled findings not located in the text; "
                  f"{extra['ontology']['finding_not_a_do_term']} are not one DO term, "
                  f"{extra['ontology']['not_found_in_text']} DO terms not found by the matcher)")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
