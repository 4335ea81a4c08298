"""Word vectors on a workspace: stage time, coverage, nearest neighbours, phantom precision@5.

The workspace must hold a finished extract stage (``pacsmine run EXPORT --workspace WS``,
with ``--set 'run.stages=["ingest", "extract"]'`` for the text stages only). Work on a copy:
the script (re)writes WS/vectors/ (``--force``, so the stage time is a real run's).

For each ``--set`` variant (``;``-separated overrides; default: the defaults) it prints:
* the stage's seconds (tokenising + training + writing, as in its manifest) and the
  tokenise / train split;
* the vocabulary size and term coverage (share of extract's concepts, all sources and
  Disease Ontology 2015, with a vector and with a token seen at least min_count times);
* with a truth folder (``--truth``, or the ingested export's truth/): precision@5 by
  region and by case type beside chance (docs/vectors.md says how both are defined);
* with ``--labels CSV`` (a real export's per-image labels with ``accession`` and label
  columns, e.g. MedPix's labels.csv: ``location_category``, ``location``): the same
  precision@5 on real text, each report labelled by the majority label of its images and
  each concept (a *present* mention of extract/terms.parquet) by the majority label of its
  reports (at least ``vectors.evaluation.min_share``), beside chance;
* the nearest neighbours of ``--words`` (those in the vocabulary).

    PYTHONPATH=src .venv/bin/python bench/vectors_quality.py /tmp/vec-ws
    PYTHONPATH=src .venv/bin/python bench/vectors_quality.py /tmp/vec-ws --variants "vectors.epochs=5;vectors.epochs=20"
    PYTHONPATH=src .venv/bin/python bench/vectors_quality.py /tmp/vec-medpix \
        --labels ../shared/data/medpix_train/labels.csv --words pneumonia glioblastoma
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402

from pacsmine.config import load_config  # noqa: E402
from pacsmine.evaluate import find_truth  # noqa: E402
from pacsmine.vectors import evaluate_vectors, load_vectors, run_vectors  # noqa: E402
from pacsmine.vectors.evaluate import concept_labels, precision_at_k  # noqa: E402
from pacsmine.workspace import Workspace  # noqa: E402

WORDS = ["pneumothorax", "pleural_effusion", "liver_metastasis", "meningioma", "pneumonia", "lung", "kidney",
         "fracture", "hemorrhage", "glioblastoma_multiforme"]


def _share(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def real_precision(ws: Workspace, labels_csv: Path, column: str, config: dict, frequent_only: bool) -> dict:
    """precision@k of extract's present terms, labelled through their reports' image labels
    (``frequent_only``: only terms whose token was seen at least vectors.min_count times)."""
    votes: dict[str, Counter] = {}
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            votes.setdefault(row["accession"], Counter())[row[column]] += 1
    reports = {a: min(c.items(), key=lambda i: (-i[1], i[0]))[0] for a, c in votes.items()}
    terms = pq.read_table(ws.root / "extract/terms.parquet", columns=["accession", "code", "status"]).to_pydict()
    table = pq.read_table(ws.root / "vectors/terms.parquet", columns=["code", "token"]).to_pydict()
    token_of = dict(zip(table["code"], table["token"]))
    concepts: dict[str, set] = {}
    for accession, code, status in zip(terms["accession"], terms["code"], terms["status"]):
        if status == "present" and token_of.get(code):
            concepts.setdefault(token_of[code], set()).add(accession)
    if frequent_only:
        vocabulary = pq.read_table(ws.root / "vectors/vocabulary.parquet", columns=["word", "count"]).to_pydict()
        seen = {w for w, c in zip(vocabulary["word"], vocabulary["count"]) if c >= int(config["vectors"]["min_count"])}
        concepts = {t: a for t, a in concepts.items() if t in seen}
    settings = config["vectors"]["evaluation"]
    labels = concept_labels(reports, concepts, float(settings["min_share"]))
    return precision_at_k(load_vectors(ws), labels, int(settings["k"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--truth", type=Path, default=None)
    parser.add_argument("--variants", default="", help="';'-separated variants, each ','-separated overrides")
    parser.add_argument("--labels", type=Path, default=None, help="per-image labels CSV of a real export")
    parser.add_argument("--label-columns", nargs="*", default=["location_category", "location"])
    parser.add_argument("--words", nargs="*", default=WORDS)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()

    ws = Workspace(args.workspace)
    truth = find_truth(ws, args.truth)
    print(machine_line("start"))
    print(f"workspace: {ws.root}; truth: {truth or 'none'}")
    for variant in (args.variants.split(";") if args.variants else [""]):
        overrides = [v.strip() for v in variant.split(",") if v.strip()]
        config = load_config(overrides=overrides)
        result = run_vectors(ws, config, force=True)
        m = result.metrics
        print(f"\n== variant: {', '.join(overrides) or 'defaults'}")
        print(f"stage seconds: {result.seconds:.1f} (tokenise {m['seconds']['tokenise']:.1f}, "
              f"train {m['seconds']['train']:.1f}); sentences {m['sentences']}, tokens {m['tokens']}")
        print(f"vocabulary: {m['vocabulary']} words x {m['dimensions']}")
        for name in ("all_terms", "do_2015"):
            c = m["coverage"][name]
            print(f"coverage {name}: {c['with_vector']}/{c['concepts']} concepts with a vector "
                  f"(share {_share(c['share'])}, of mentions {_share(c['mention_share'])}); "
                  f"token seen >= min_count: {c['at_min_count']}/{c['concepts']} ({_share(c['share_at_min_count'])})")
        if truth is not None:
            scores = evaluate_vectors(ws, truth)
            for key, value in scores["precision_at_k"].items():
                print(f"precision@{value['k']} by {key}: {_share(value['precision'])} vs chance "
                      f"{_share(value['chance'])} over {value['terms']} terms")
        for column in (args.label_columns if args.labels else []):
            for frequent_only in (False, True):
                value = real_precision(ws, args.labels, column, config, frequent_only)
                which = "terms seen >= min_count" if frequent_only else "all terms"
                print(f"precision@{value['k']} by {column} (real labels, {which}): {_share(value['precision'])} "
                      f"vs chance {_share(value['chance'])} over {value['terms']} terms")
        vectors = load_vectors(ws)
        for word in args.words:
            if vectors.key(word) is None:
                continue
            near = ", ".join(f"{w} {c:.2f}" for w, c in vectors.most_similar(word, args.top))
            print(f"  {vectors.key(word)}: {near}")
    print(machine_line("end"))


if __name__ == "__main__":
    main()
