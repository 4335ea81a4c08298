"""Mention detection on the easy and hard phantom, DO alone and the combined vocabulary.

Runs, for each phantom difficulty and vocabulary, exactly the CLI a reader would run:

    pacsmine phantom OUT -n N --seed S --no-images [--difficulty hard]
    pacsmine ingest OUT -w WS
    pacsmine extract -w WS --set extract.terms.ontology=../shared/data/disease_ontology/HumanDO.obo
        --set extract.terms.obsolete=true --set extract.terms.vocabularies=../shared/data/vocabularies
        [--set 'extract.terms.layers=["do_2015"]']          # "DO alone"
    pacsmine evaluate -w WS --json

and prints detection precision/recall overall and, where the truth has concept families
(disease / finding / symptom), per family, plus the most frequent unmatched predicted names.

Usage: PYTHONPATH=src .venv/bin/python bench/phantom_scores.py [-n 500] [--seed 7] [--tmp DIR] [--src SRC]
(``--src`` runs another checkout's ``src`` folder, e.g. the code before a change.)
Needs ../shared/data (the Disease Ontology and the vocabularies); says so and stops without it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"



def _run(args: list[str], env: dict[str, str]) -> str:
    cmd = [sys.executable, "-m", "pacsmine.cli", *args]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"failed ({res.returncode}): pacsmine {' '.join(args)}\n{res.stderr[-2000:]}")
    return res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tmp", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--src", default=str(ROOT / "src"), help="the pacsmine source folder to run")
    a = ap.parse_args()
    obo = DATA / "disease_ontology" / "HumanDO.obo"
    vocab = DATA / "vocabularies"
    if not obo.exists() or not vocab.exists():
        print(f"no real data at {DATA}: this benchmark needs the Disease Ontology and the vocabularies")
        return
    env = {**os.environ, "PYTHONPATH": a.src}
    tmp = Path(a.tmp or tempfile.mkdtemp(prefix="phantom_scores_"))
    print(f"# {cpu_model()}, load average {os.getloadavg()[0]:.1f}; source {a.src}; {a.n} reports, seed {a.seed}")
    print("| phantom | vocabulary | mentions (truth) | predicted | detection P | R | by family (P / R) | top unmatched names |")
    print("|---|---|---|---|---|---|---|---|")
    base = ["--set", f"extract.terms.ontology={obo}", "--set", "extract.terms.obsolete=true",
            "--set", f"extract.terms.vocabularies={vocab}"]
    for difficulty in ("easy", "hard"):
        export = tmp / f"export-{difficulty}"
        if not export.exists():
            _run(["phantom", str(export), "-n", str(a.n), "--seed", str(a.seed), "--no-images",
                  "--difficulty", difficulty], env)
        for vocab_name, extra in (("DO 2015", ["--set", 'extract.terms.layers=["do_2015"]']), ("combined", [])):
            ws = tmp / f"ws-{difficulty}-{'do' if extra else 'combined'}"
            if not ws.exists():
                _run(["ingest", str(export), "-w", str(ws)], env)
            _run(["extract", "-w", str(ws), *base, *extra], env)
            result = json.loads(_run(["evaluate", "-w", str(ws), "--json"], env))
            neg = (result.get("extract") or result).get("negation") or {}
            det = neg.get("detection", {})
            fams = neg.get("detection_by_family") or {}
            fam = "; ".join(f"{f} {v['precision']:.3f} / {v['recall']:.3f}" if v["tp"] + v["fn"] else f"{f}: {v['fp']} FP"
                            for f, v in fams.items()) or "-"
            top = ", ".join(f"{n} {c}" for n, c in list((neg.get("unmatched_names") or {}).items())[:6]) or "-"
            print(f"| {difficulty} | {vocab_name} | {det.get('tp', 0) + det.get('fn', 0):,} | "
                  f"{det.get('tp', 0) + det.get('fp', 0):,} | {det.get('precision', 0):.3f} | "
                  f"{det.get('recall', 0):.3f} | {fam} | {top} |", flush=True)


if __name__ == "__main__":
    main()
