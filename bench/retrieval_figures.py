"""The retrieval stage's figures of a finished workspace, as docs/retrieval.md quotes them.

    PYTHONPATH=src python bench/retrieval_figures.py WS [--truth EXPORT/truth]

Prints the machine line, the stage's seconds per model (from its metrics.json: they were
measured when the stage ran, under the load of that time), the target counts (what negation
removed), evaluation/retrieval.md (keywords R@K beside the topic baseline; image-text R@K
beside a random ranking) and, with a phantom's truth, the keywords' R@K against the truth's
findings (pacsmine.retrieval.evaluate_retrieval).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_line  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace")
    parser.add_argument("--truth", default=None)
    args = parser.parse_args()
    from pacsmine.retrieval import evaluate_retrieval
    from pacsmine.workspace import Workspace

    ws = Workspace(args.workspace)
    print(machine_line())
    metrics = json.loads(ws.require("retrieval", "metrics.json").read_text("utf-8"))
    print("seconds:", metrics["seconds"], "device:", metrics["device"])
    print("targets:", metrics["targets"])
    for loss, m in metrics["regression"].items():
        print(f"regression {loss}: best epoch {m['best_epoch']}, validation cosine per epoch",
              [round(h["val_cosine"], 3) for h in m["history"]])
    if "contrastive" in metrics:
        print("contrastive: validation image->text R@1 per epoch",
              [round(h["val_r1"], 3) for h in metrics["contrastive"]["history"]],
              "temperature", round(metrics["contrastive"]["history"][-1]["temperature"], 4))
    print("index:", metrics.get("index"))
    print(ws.require("retrieval", "evaluation/retrieval.md").read_text("utf-8"))
    if args.truth:
        scores = evaluate_retrieval(ws, Path(args.truth))["truth_findings"]
        print("keywords against the truth's findings (R@K hit):")
        for name, r in [*scores["losses"].items(), ("baseline", scores["baseline"])]:
            print(f"  {name}: images {r['images']}, "
                  + ", ".join(f"R@{k} {v['hit']:.3f}" for k, v in r["k"].items()))


if __name__ == "__main__":
    main()
