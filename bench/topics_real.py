"""Level-1 topics on real reports, before and after the vocabulary and K-grid defaults of issue 7.

For each data set (MedPix train: a generic CSV export; IU X-ray: the OpenI CSV) and each
variant, the pipeline's ingest, extract and topics stages run in a scratch workspace
(``--out``, default ``bench/out/topics_real``, git-ignored):

* ``before``: the code and defaults of ``--before-rev`` (default a123d7a, main when issue 7
  was taken up), checked out with ``git archive`` into the scratch folder;
* ``after``: this checkout's code and defaults.

Both variants get the same run-time overrides, to keep a run short on a shared machine:
``--selection-iterations`` / ``--iterations`` Gibbs sweeps at level 1, one sampling thread
(results repeat), level 2 not split (``level2.min_docs`` huge) and no review cards. Level 3
runs as configured. Printed per data set and variant:

* the level-1 search: each K with its held-out perplexity and NPMI, the chosen K, whether
  it sits at a bound of the search, and, where the lowest perplexity was at the cap and the
  level's ``at_cap`` rule (knee or elbow) chose instead, that K;
* function-word share: over the K topics, the share of each topic's top 10 words that are
  English function words by spaCy's stop-word list (``spacy.lang.en.stop_words``), which is
  maintained apart from the stop-words library the vocabulary filters with, so the measure
  is not the filter judging itself (goal 0); mean and worst topic, and the words counted;
* NPMI (the stage's own, top 10 words, held-out documents) at the chosen K. It is measured
  in each variant's own tokens, so before and after count co-occurrence of different units;
* the top 10 words of the first topics, to read;
* the term mentions of extract's terms.parquet by assertion status (what tokens.status_tokens
  turns: absent findings are the ``no_<term>`` tokens by default).

    PYTHONPATH=src .venv/bin/python bench/topics_real.py
    PYTHONPATH=src .venv/bin/python bench/topics_real.py --datasets medpix --variants after
    PYTHONPATH=src .venv/bin/python bench/topics_real.py --before-rev 4a8c61a --out bench/out/t2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DATASETS = {"medpix": DATA / "medpix_train", "iu": DATA / "iu_xray"}
_RUN = "import sys; from pacsmine.cli import app; sys.argv[0] = 'pacsmine'; app()"



def source_of(variant: str, out: Path, before_rev: str) -> Path:
    """The ``src`` folder the variant runs with."""
    if variant == "after":
        return ROOT / "src"
    target = out / f"src-{before_rev}"
    if not (target / "src" / "pacsmine").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", before_rev, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def stage(src: Path, args: list[str]) -> None:
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run([sys.executable, "-c", _RUN, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(args[:1])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def run_variant(dataset: str, variant: str, out: Path, before_rev: str, opts: argparse.Namespace) -> dict:
    src = source_of(variant, out, before_rev)
    ws = out / variant / dataset
    sets = [
        "run.workers=2", "topics.workers=1",
        f"topics.level1.selection_iterations={opts.selection_iterations}",
        f"topics.level1.iterations={opts.iterations}",
        f"topics.level3.selection_iterations={opts.selection_iterations}",
        f"topics.level3.iterations={opts.iterations}",
        "topics.level2.min_docs=1000000000", "topics.cards.levels=[]", *opts.set,
    ]
    flags = [x for s in sets for x in ("--set", s)]
    t0 = time.perf_counter()
    stage(src, ["ingest", str(DATASETS[dataset]), "-w", str(ws), *flags])
    stage(src, ["extract", "-w", str(ws), *flags])
    stage(src, ["topics", "-w", str(ws), *flags])
    return measure(ws, time.perf_counter() - t0)


def measure(ws: Path, seconds: float = float("nan")) -> dict:
    """The figures of a workspace whose topics stage has run."""
    selection = json.loads((ws / "topics" / "level1" / "selection.json").read_text("utf-8"))
    topics = pq.read_table(ws / "topics" / "level1" / "topics.parquet").to_pylist()
    docs = pq.read_metadata(ws / "extract" / "documents.parquet").num_rows
    vocab_table = pq.read_table(ws / "extract" / "vocabulary.parquet", columns=["term", "doc_freq", "kept"])
    vocab = vocab_table.column("kept").to_pylist()
    doc_freq = dict(zip(vocab_table.column("term").to_pylist(), vocab_table.column("doc_freq").to_pylist()))
    from spacy.lang.en.stop_words import STOP_WORDS

    npmi = npmi_all(topics, ws / "extract" / "documents.parquet")
    npmi_content = npmi_all(topics, ws / "extract" / "documents.parquet", skip=frozenset(STOP_WORDS))
    statuses: dict = {}
    terms = ws / "extract" / "terms.parquet"
    if terms.exists() and "status" in pq.read_schema(terms).names:
        for s in pq.read_table(terms, columns=["status"]).column("status").to_pylist():
            statuses[s] = statuses.get(s, 0) + 1
    return {"selection": selection, "topics": topics, "documents": docs, "kept": sum(vocab), "seconds": seconds,
            "npmi_all": npmi, "npmi_content": npmi_content, "statuses": statuses,
            "doc_freq": doc_freq}


def npmi_all(topics: list[dict], documents: Path, top: int = 10, skip: frozenset = frozenset()) -> float:
    """Mean over topics of the mean NPMI of the top ``top`` word pairs, by document
    co-occurrence over ALL the variant's documents (written here, apart from the stage's
    held-out estimate, so a variant that searched no K still has a figure). A pair never
    seen together scores -1. Words in ``skip`` are passed over (the top ``top`` of the rest)."""
    import math

    docs = [set(t) for t in pq.read_table(documents, columns=["tokens"]).column("tokens").to_pylist()]
    n = len(docs)
    df: dict = {}
    per_topic = []
    for t in topics:
        words = [w for w in t["top_words"] if w not in skip][:top]
        for w in words:
            if w not in df:
                df[w] = sum(w in d for d in docs)
        vals = []
        for i in range(len(words)):
            for j in range(i + 1, len(words)):
                a, b = words[i], words[j]
                pab = sum(a in d and b in d for d in docs) / n
                if pab <= 0:
                    vals.append(-1.0)
                elif pab >= 1:
                    vals.append(1.0)
                else:
                    vals.append(math.log(pab / (df[a] / n * df[b] / n)) / -math.log(pab))
        per_topic.append(sum(vals) / len(vals) if vals else float("nan"))
    return sum(per_topic) / len(per_topic) if per_topic else float("nan")


def function_words(topics: list[dict], top: int = 10) -> dict:
    """Share of spaCy English stop words among each topic's ``top`` words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    shares, found = [], {}
    for t in topics:
        words = list(t["top_words"])[:top]
        hits = [w for w in words if w in STOP_WORDS]
        shares.append(len(hits) / max(1, len(words)))
        for w in hits:
            found[w] = found.get(w, 0) + 1
    mean = sum(shares) / max(1, len(shares))
    return {"mean": mean, "max": max(shares, default=0.0), "words": sorted(found.items(), key=lambda kv: -kv[1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--variants", nargs="+", default=["before", "after"], choices=["before", "after"])
    ap.add_argument("--before-rev", default="a123d7a")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "topics_real")
    ap.add_argument("--selection-iterations", type=int, default=60)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--show-topics", type=int, default=8)
    ap.add_argument("--show-df", nargs="*", default=["pneumothorax", "no_pneumothorax", "pleural_effusion",
                                                     "no_pleural_effusion", "cardiomegaly", "no_cardiomegaly"],
                    help="tokens whose document share is printed")
    ap.add_argument("--set", action="append", default=[], help="one more override for both variants")
    ap.add_argument("--measure", nargs="+", type=Path, default=[],
                    help="only measure these finished workspaces (e.g. the phantom demo's), run nothing")
    opts = ap.parse_args()
    if opts.measure:
        opts.datasets = []
    try:
        import spacy.lang.en.stop_words  # noqa: F401  (the judge of function words)
    except ImportError:
        sys.exit("bench/topics_real.py needs spaCy for its function-word list: .venv/bin/python -m pip install -e '.[bench]'")
    missing = [d for d in opts.datasets if not DATASETS[d].exists()]
    if missing:
        sys.exit(f"data set(s) not found: {', '.join(str(DATASETS[d]) for d in missing)} (see ../shared/data/README.md)")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"level-1 selection {opts.selection_iterations} sweeps, final {opts.iterations}; 1 sampling thread"
          + ("" if opts.datasets else " (for the runs of this script; --measure reads workspaces as they were run)"))
    rows = []
    jobs = [(d, v, None) for d in opts.datasets for v in opts.variants] + [(str(w), "as run", w) for w in opts.measure]
    for dataset, variant, ws in jobs:
        r = measure(ws) if ws is not None else run_variant(dataset, variant, opts.out, opts.before_rev, opts)
        sel, fw = r["selection"], function_words(r["topics"])
        k = sel["chosen_k"]
        npmi = dict(zip(sel["k"], sel["npmi"])).get(k, float("nan")) if sel["k"] else float("nan")
        npmi_all = r["npmi_all"]
        print(f"\n== {dataset} / {variant}: {r['documents']} documents, {r['kept']} kept tokens, "
              f"{r['seconds']:.0f} s, load average {os.getloadavg()[0]:.2f}")
        print(f"   searched grid {sel['grid']}; K, perplexity, NPMI:")
        for kk, p, n in zip(sel["k"], sel["perplexity"], sel["npmi"]):
            print(f"     K={kk:4d}  perplexity {p:9.2f}  NPMI {n:+.3f}{'  <- chosen' if kk == k else ''}")
        print(f"   chosen K = {k}{' (at a bound of the search)' if sel.get('at_grid_edge') else ''}"
              + (f"; lowest perplexity at the cap K = {sel['rule_k']}, {sel['at_cap']} rule taken"
                 if sel.get("cap_fallback") else ""))
        if opts.show_df:
            print("   share of documents with the token (before the vocabulary rules): " + ", ".join(
                f"{w} {r['doc_freq'].get(w, 0) / max(1, r['documents']):.2f}" for w in opts.show_df))
        if r["statuses"]:
            total = sum(r["statuses"].values())
            print("   term mentions by assertion status: " + ", ".join(
                f"{s} {c} ({c / total:.1%})" for s, c in sorted(r["statuses"].items(), key=lambda kv: -kv[1])))
        print(f"   function-word share of top 10 (spaCy list): mean {fw['mean']:.3f}, worst topic {fw['max']:.1f}; "
              f"words: {', '.join(f'{w} x{c}' for w, c in fw['words'][:15]) or 'none'}")
        for t in r["topics"][: opts.show_topics]:
            print(f"     topic {t['topic']:>3} ({t['doc_count']} docs): {' '.join(list(t['top_words'])[:10])}")
        print(f"   NPMI of the final model's top 10, all documents: {npmi_all:+.3f}; "
              f"of its top 10 words that are no function words: {r['npmi_content']:+.3f}")
        rows.append((dataset, variant, k, sel["k"] or sel["grid"], fw["mean"], fw["max"], npmi, npmi_all,
                     r["npmi_content"], sel.get("at_grid_edge"), sel.get("rule_k") if sel.get("cap_fallback") else None))
    print("\n| data set | variant | K searched | chosen K | function-word share (mean / worst topic) "
          "| NPMI at K (held out, selection fit) | NPMI final model (all documents) | same, function words skipped |")
    print("|---|---|---|---|---|---|---|---|")
    for d, v, k, grid, mean, worst, npmi, npmi_all, npmi_content, edge, rule_k in rows:
        note = " (at a bound)" if edge else (f" (lowest perplexity: {rule_k}, the cap)" if rule_k else "")
        print(f"| {d} | {v} | {grid} | {k}{note} | {mean:.3f} / {worst:.1f} "
              f"| {npmi:+.3f} | {npmi_all:+.3f} | {npmi_content:+.3f} |")


if __name__ == "__main__":
    main()
