"""How much of what readers labelled each vocabulary finds, on real reports.

    PYTHONPATH=src .venv/bin/python bench/vocabulary_real.py [--data ../shared/data] [--loaders]

Rows: the 2015 Disease Ontology alone (the baseline), the DO with each other layer added
on its own, then the combined vocabulary (all layers in the configured order, plus the
abbreviation table). Columns:

* IU X-ray (3,851 reports, findings + impression): per-report concept recall and precision
  against the hand-coded ``Problems`` headings (pacsmine.nlp.vocabulary.coverage says how).
  Left out: "normal", "No Indexing", and headings that are MeSH descriptors outside tree C
  (anatomy such as "Lung" or "Thoracic Vertebrae", devices such as "Catheters, Indwelling",
  procedures, "Technical Quality of Image Unsatisfactory"): they name no finding. Their
  concepts are neutral. A heading is read through the same vocabulary, in its written and
  its natural order ("Hernia, Hiatal" -> "Hiatal Hernia"). ``mapped`` is the share of kept
  headings that the vocabulary can read at all.
* CT findings (140 chest CT reports): the share of labelled findings (present and absent)
  whose name the vocabulary reads as a concept that it also finds in the report text.

``--loaders`` also times the OBO parsers on HumanDO.obo (pacsmine's and pronto's).
"""

from __future__ import annotations

import argparse
import sys
import csv
import os
import time
from pathlib import Path

from pacsmine.config import load_config
from pacsmine.nlp.corpora import read_ct_findings, read_iu_reports
from pacsmine.nlp.sentences import SentenceSplitter
from pacsmine.nlp.terms import TermAnnotator
from pacsmine.nlp.vocabulary.coverage import ReportCounts, located, score_report
from pacsmine.nlp.vocabulary.mesh import uninvert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LEFT_OUT = {"normal", "no indexing"}



def finding_headings(mesh_dir: Path) -> tuple[set[str], set[str]]:
    """Lower-case MeSH descriptor names in tree C, and all descriptor names."""
    with open(mesh_dir / "tree-numbers.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    in_c = {r["mesh_name"].lower() for r in rows if r["mesh_tree_number"].startswith("C")}
    return in_c, {r["mesh_name"].lower() for r in rows}


def heading_concepts(annotator: TermAnnotator, heading: str) -> set:
    return annotator.concepts_in(heading) | annotator.concepts_in(uninvert(heading))


def score_iu(annotator, splitter, reports, tree_c, mesh_names) -> ReportCounts:
    total = ReportCounts()
    for r in reports:
        kept, neutral = [], set()
        for h in r["problems"]:
            concepts = heading_concepts(annotator, h)
            if h in LEFT_OUT or (h in mesh_names and h not in tree_c):
                neutral |= concepts
            else:
                kept.append(concepts)
        predicted: dict[tuple[str, str], set] = {}
        for s in splitter.split(r["text"]):
            for m in annotator.annotate(s):
                if not m.negated:
                    key = (m.source, m.code)
                    predicted.setdefault(key, {key}).update(annotator.concepts_in(m.text))
        total.add(score_report(kept, list(predicted.values()), neutral))
    return total


def score_ct(annotator, splitter, reports) -> tuple[int, int]:
    found = n = 0
    for r in reports:
        mentioned = {c for s in splitter.split(r["text"]) for m in annotator.match(s)
                     for c in {(m.source, m.code)} | annotator.concepts_in(m.text)}
        for name, _presence in r["findings"]:
            n += 1
            found += located(annotator.concepts_in(name), mentioned)
    return found, n


def time_loaders(obo: Path) -> None:
    from pacsmine.nlp.ontology import load_ontology

    t0 = time.perf_counter()
    onto = load_ontology(obo)
    print(f"pacsmine OBO parser: {len(onto)} live terms in {time.perf_counter() - t0:.3f} s")
    try:
        import warnings

        import pronto

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            po = pronto.Ontology(str(obo))
        n = sum(1 for t in po.terms() if not t.obsolete)
        print(f"pronto {pronto.__version__}: {n} live terms in {time.perf_counter() - t0:.3f} s")
    except Exception as exc:  # pronto's parser error is the figure here
        first = str(exc).strip().splitlines()[-1][:120] if str(exc).strip() else ""
        print(f"pronto: cannot read {obo.name}: {type(exc).__name__} {first}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--loaders", action="store_true", help="also time the OBO parsers on HumanDO.obo")
    args = ap.parse_args()
    data = args.data.resolve()
    obo = data / "disease_ontology" / "HumanDO.obo"
    if not obo.is_file():
        raise SystemExit(f"bench/vocabulary_real.py: {obo} not found (pass --data)")
    print(f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    if args.loaders:
        time_loaders(obo)
    base = dict(load_config()["extract"]["terms"])
    base["ontology"] = str(obo)
    base["vocabularies"] = str(data / "vocabularies")
    splitter = SentenceSplitter.from_config(load_config()["extract"]["sentences"])
    iu = list(read_iu_reports(data / "iu_xray" / "indiana_reports.csv"))
    ct = list(read_ct_findings(data / "ct_findings" / "reports"))
    tree_c, mesh_names = finding_headings(data / "vocabularies" / "mesh_2015")
    others = [x for x in base["layers"] if x != "do_2015"]
    rows = [("do_2015 alone", ["do_2015"], False)]
    rows += [(f"do_2015 + {x}", ["do_2015", x], False) for x in others]
    rows += [("do_2015 + abbreviations", ["do_2015"], True)]
    rows += [("combined (" + ", ".join(base["layers"]) + " + abbreviations)", base["layers"], True)]
    print(f"IU X-ray: {len(iu)} reports; CT findings: {len(ct)} reports")
    print(f"| vocabulary | phrases | build s | IU headings mapped | IU recall | IU precision | CT located |")
    print("|---|---|---|---|---|---|---|")
    for label, layers, abbreviations in rows:
        section = dict(base, layers=layers, abbreviations=dict(base["abbreviations"], use=abbreviations))
        t0 = time.perf_counter()
        annotator = TermAnnotator.from_config(section)
        build = time.perf_counter() - t0
        c = score_iu(annotator, splitter, iu, tree_c, mesh_names)
        found, n = score_ct(annotator, splitter, ct)
        print(f"| {label} | {annotator.n_phrases_} | {build:.2f} | {c.mapped / c.headings:.3f} | "
              f"{c.recall:.3f} ({c.recalled}/{c.headings}) | {c.precision:.3f} ({c.correct}/{c.correct + c.wrong}) | "
              f"{found / n:.3f} ({found}/{n}) |", flush=True)


if __name__ == "__main__":
    main()
