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
* the nearest neighbours of ``--words`` (those in the vocabulary).

    PYTHONPATH=src .venv/bin/python bench/vectors_quality.py /tmp/vec-ws
    PYTHONPATH=src .venv/bin/python bench/vectors_quality.py /tmp/vec-ws --variants "vectors.epochs=5;vectors.epochs=20"
    PYTHONPATH=src .venv/bin/python bench/vectors_quality.py /tmp/vec-medpix --words pneumonia glioblastoma
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line  # noqa: E402

from pacsmine.config import load_config  # noqa: E402
from pacsmine.evaluate import find_truth  # noqa: E402
from pacsmine.vectors import evaluate_vectors, load_vectors, run_vectors  # noqa: E402
from pacsmine.workspace import Workspace  # noqa: E402

WORDS = ["pneumothorax", "pleural_effusion", "liver_metastasis", "meningioma", "pneumonia", "lung", "kidney",
         "fracture", "hemorrhage", "glioblastoma_multiforme"]


def _share(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--truth", type=Path, default=None)
    parser.add_argument("--variants", default="", help="';'-separated variants, each ','-separated overrides")
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
            for key, value in scores.items():
                if key.startswith("precision_at_"):
                    print(f"{key}: {_share(value['precision'])} vs chance {_share(value['chance'])} "
                          f"over {value['terms']} terms")
        vectors = load_vectors(ws)
        for word in args.words:
            if vectors.key(word) is None:
                continue
            near = ", ".join(f"{w} {c:.2f}" for w, c in vectors.most_similar(word, args.top))
            print(f"  {vectors.key(word)}: {near}")
    print(machine_line("end"))


if __name__ == "__main__":
    main()
