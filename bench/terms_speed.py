"""Speed of term matching with the full Disease Ontology, or the combined vocabulary.

    .venv/bin/python bench/terms_speed.py [--obo ../shared/data/disease_ontology/HumanDO.obo] [--repeat 3] [--inflate 10]
    .venv/bin/python bench/terms_speed.py --combined   # the configured layers + abbreviations

Prints the CPU and load average, the ontology (or layers) load time, the matcher build time and the phrase count, then
sentences per second of ``TermAnnotator.match`` (lookup only) and ``annotate`` (lookup +
ConText) over the real sentences of the IU X-ray and CT findings sets (a synthetic
sentence list when those are absent).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pacsmine.config import load_config
from pacsmine.nlp.corpora import read_ct_findings, read_iu_reports
from pacsmine.nlp.ontology import load_ontology
from pacsmine.nlp.sections import SectionSplitter
from pacsmine.nlp.sentences import SentenceSplitter, report_spans
from pacsmine.nlp.terms import TermAnnotator


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_line  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def sentences() -> list[str]:
    """The sentences of the IU X-ray and CT findings reports, split as extract splits them."""
    cfg = load_config()["extract"]
    sections, splitter = SectionSplitter.from_config(cfg["sections"]), SentenceSplitter.from_config(cfg["sentences"])
    out: list[str] = []
    iu = DATA / "iu_xray" / "indiana_reports.csv"
    ct = DATA / "ct_findings" / "reports"
    texts = [r["text"] for r in read_iu_reports(iu)] if iu.exists() else []
    texts += [r["text"] for r in read_ct_findings(ct)] if ct.exists() else []
    for text in texts:
        out += [text[a:b] for _, a, b in report_spans(text, sections, splitter)]
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
    parser.add_argument("--combined", action="store_true",
                        help="the configured vocabulary layers (extract.terms) instead of the DO alone")
    args = parser.parse_args()
    section = load_config()["extract"]["terms"]
    print(machine_line("start"))
    if args.combined:
        combined = dict(section, ontology=args.obo, vocabularies=str(DATA / "vocabularies"))
        t0 = time.perf_counter()
        from pacsmine.nlp.vocabulary.layers import load_layers

        layers = load_layers(combined)
        t1 = time.perf_counter()
        annotator = TermAnnotator.from_config(combined)  # layers cached: this is the build
        t2 = time.perf_counter()
        print(f"layers:   {', '.join(f'{x.source} {len(x)}' for x in layers)}, loaded in {t1 - t0:.3f} s")
        print(f"matcher:  {annotator.n_phrases_} phrases, built in {t2 - t1:.3f} s")
        return _time(annotator, args.repeat)
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
    return _time(annotator, args.repeat)


def _time(annotator: TermAnnotator, repeat: int) -> int:
    texts = sentences()
    chars = sum(map(len, texts))
    print(f"corpus:   {len(texts)} sentences, {chars / len(texts):.0f} characters on average")
    for name, fn in (("match", annotator.match), ("annotate", annotator.annotate)):
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            n = sum(len(fn(s)) for s in texts)
            best = min(best, time.perf_counter() - t)
        print(f"{name:<9} {len(texts) / best:>10,.0f} sentences/s  ({best * 1e6 / len(texts):.1f} us/sentence, "
              f"{n} mentions)")
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
