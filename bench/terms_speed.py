"""Speed of disease-term matching with the full Disease Ontology.

    .venv/bin/python bench/terms_speed.py [--obo ../shared/data/disease_ontology/HumanDO.obo] [--repeat 3] [--inflate 10]

Prints the ontology load time, the matcher build time and the phrase count, then
sentences per second of ``TermAnnotator.match`` (lookup only) and ``annotate`` (lookup +
ConText) over the real sentences of the IU X-ray and CT findings sets (a synthetic
sentence list when those are absent).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pacsmine.config import load_config
from pacsmine.nlp.assertion_eval import report_sentences
from pacsmine.nlp.corpora import read_ct_findings, read_iu_reports
from pacsmine.nlp.ontology import load_ontology
from pacsmine.nlp.terms import TermAnnotator

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def sentences() -> list[str]:
    out: list[str] = []
    iu = DATA / "iu_xray" / "indiana_reports.csv"
    ct = DATA / "ct_findings" / "reports"
    if iu.exists():
        out += [s for r in read_iu_reports(iu) for s in report_sentences(r["text"])]
    if ct.exists():
        out += [s for r in read_ct_findings(ct) for s in report_sentences(r["text"])]
    if not out:
        out = ["No evidence of pleural effusion or pneumothorax.",
               "Metastatic hepatocellular carcinoma with lung metastases versus pneumonia."] * 5000
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obo", default=str(DATA / "disease_ontology" / "HumanDO.obo"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inflate", type=int, default=0,
                        help="add N synthetic variants of every name (a larger vocabulary)")
    args = parser.parse_args()
    section = load_config()["extract"]["terms"]
    t0 = time.perf_counter()
    onto = load_ontology(args.obo, section["synonym_types"])
    if args.inflate:
        # Synthetic phrases "<name> type k": same first words as DO names, so lookups
        # meet longer candidate lists, as with a much larger vocabulary.
        from pacsmine.nlp.ontology import Ontology, Term

        extra = {f"X:{d}:{k}": Term(f"X:{d}:{k}", f"{t.name} type {k}")
                 for d, t in onto.terms.items() for k in range(args.inflate)}
        onto = Ontology({**onto.terms, **extra}, source=onto.source)
    t1 = time.perf_counter()
    annotator = TermAnnotator(ontology=onto, synonym_types=section["synonym_types"]).fit()
    t2 = time.perf_counter()
    n_names = sum(1 + len(t.synonyms) for t in onto.terms.values())
    print(f"ontology: {len(onto)} terms, {n_names} names+synonyms, loaded in {t1 - t0:.3f} s")
    print(f"matcher:  {annotator.n_phrases_} phrases, built in {t2 - t1:.3f} s")
    texts = sentences()
    chars = sum(map(len, texts))
    print(f"corpus:   {len(texts)} sentences, {chars / len(texts):.0f} characters on average")
    for name, fn in (("match", annotator.match), ("annotate", annotator.annotate)):
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            n = sum(len(fn(s)) for s in texts)
            best = min(best, time.perf_counter() - t)
        print(f"{name:<9} {len(texts) / best:>10,.0f} sentences/s  ({best * 1e6 / len(texts):.1f} us/sentence, "
              f"{n} mentions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
