"""The phantom's text profile beside real report corpora: does it look like real reports?

    PYTHONPATH=src .venv/bin/python bench/phantom_profile.py                 # 3,000 phantom reports per mode
    PYTHONPATH=src .venv/bin/python bench/phantom_profile.py --reports 10000
    git worktree add /tmp/before a123d7a && PYTHONPATH=/tmp/before/src .venv/bin/python bench/phantom_profile.py
                                     # the phantom before the hard mode (easy only)

One row per corpus: the easy and the hard phantom (seed 7, the demo's) and the real corpora
under ../shared/data that are present (chest CT FINDINGS sections, IU X-ray indication +
comparison + findings + impression, MedPix train case texts). Columns:

* ``neg%``: share of sentences with a negation cue, by a deliberately simple check that
  shares nothing with pacsmine.nlp: sentences are cut at ``.``/``!``/``?`` followed by
  white space and at line breaks, and a sentence is negated when it holds one of the
  words ``no, not, without, negative, absent, none, neither, nor`` or the phrase
  ``free of``;
* ``words mean``/``words sd``: words per report (white-space tokens);
* ``types@10k``/``types@50k``: distinct lower-cased words among the first 10,000 /
  50,000 word tokens (reports in file order), and ``heaps``: the slope of log(types)
  against log(tokens) between 10% and 100% of the corpus (vocabulary growth).

Prints the CPU model and load average; the figures are counts, not speeds.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_NEG = re.compile(r"\b(?:no|not|without|negative|absent|none|neither|nor|free of)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")


def negated_share(texts: list[str]) -> float:
    """Share of sentences (simple split) holding a negation cue."""
    n = neg = 0
    for text in texts:
        for sentence in _SPLIT.split(text):
            if not sentence.strip():
                continue
            n += 1
            neg += bool(_NEG.search(sentence))
    return neg / n if n else float("nan")


def vocabulary_growth(texts: list[str], marks=(10_000, 50_000)) -> tuple[dict[int, int | None], float]:
    """Distinct words at the given token counts, and the Heaps slope from 10% to 100%."""
    seen: set[str] = set()
    curve: list[tuple[int, int]] = []
    tokens = 0
    at: dict[int, int | None] = {m: None for m in marks}
    for text in texts:
        for w in _WORD.findall(text.lower()):
            tokens += 1
            seen.add(w)
            if tokens in at:
                at[tokens] = len(seen)
        curve.append((tokens, len(seen)))
    if not curve or tokens < 10:
        return at, float("nan")
    lo = next((c for c in curve if c[0] >= tokens / 10), curve[0])
    hi = curve[-1]
    slope = (math.log(hi[1]) - math.log(lo[1])) / (math.log(hi[0]) - math.log(lo[0])) if hi[0] > lo[0] else float("nan")
    return at, slope


def profile(name: str, texts: list[str]) -> dict:
    words = [len(t.split()) for t in texts]
    at, heaps = vocabulary_growth(texts)
    return {"corpus": name, "reports": len(texts), "neg": negated_share(texts),
            "mean": statistics.fmean(words), "sd": statistics.pstdev(words),
            "t10k": at[10_000], "t50k": at[50_000], "heaps": heaps}


def phantom_texts(difficulty: str, reports: int, seed: int) -> list[str] | None:
    """The phantom's report texts; None for "hard" with a pacsmine that has no hard mode
    (so that the script also profiles an older checkout: PYTHONPATH=<old>/src)."""
    from pacsmine.config import load_config
    from pacsmine.phantom import iter_reports

    cfg = load_config()["phantom"]
    if "difficulty" not in cfg:
        if difficulty != "easy":
            return None
    else:
        cfg["difficulty"] = difficulty
    return [r.text for r in iter_reports(reports, seed, cfg)]


def ct_findings() -> list[str] | None:
    folder = DATA / "ct_findings" / "reports"
    if not folder.is_dir():
        return None
    out = []
    for path in sorted(folder.glob("*.md")):
        raw = path.read_text("utf-8")
        if "```text" in raw:
            out.append(raw.split("```text", 1)[1].split("```", 1)[0].strip())
    return out


def iu_xray() -> list[str] | None:
    path = DATA / "iu_xray" / "indiana_reports.csv"
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fields = ("indication", "comparison", "findings", "impression")
    return [t for t in ("\n".join(r[f] for f in fields if r.get(f)) for r in rows) if t.strip()]


def medpix() -> list[str] | None:
    path = DATA / "medpix_train" / "reports.csv"
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        return [r["text"] for r in csv.DictReader(fh) if r["text"].strip()]



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=3000, help="phantom reports per mode")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for mode in ("easy", "hard"):
        texts = phantom_texts(mode, args.reports, args.seed)
        if texts is None:
            print(f"phantom {mode}: this pacsmine has no {mode} mode, skipped", file=sys.stderr)
            continue
        rows.append(profile(f"phantom {mode} (n={args.reports})", texts))
    for name, reader in (("ct_findings (chest CT)", ct_findings), ("iu_xray (chest X-ray)", iu_xray),
                         ("medpix_train (teaching)", medpix)):
        texts = reader()
        if texts is None:
            print(f"{name}: not found under {DATA}, skipped", file=sys.stderr)
            continue
        rows.append(profile(name, texts))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {cpu_model()}, load {load:.2f}")
    print(f"| {'corpus':<26} | reports | neg% | words mean | words sd | types@10k | types@50k | heaps |")
    print("|" + "|".join("-" * w for w in (28, 9, 6, 12, 10, 11, 11, 7)) + "|")
    for r in rows:
        t10 = "-" if r["t10k"] is None else str(r["t10k"])
        t50 = "-" if r["t50k"] is None else str(r["t50k"])
        print(f"| {r['corpus']:<26} | {r['reports']:>7} | {100 * r['neg']:>4.1f} | {r['mean']:>10.1f} | "
              f"{r['sd']:>8.1f} | {t10:>9} | {t50:>9} | {r['heaps']:>5.2f} |")


if __name__ == "__main__":
    main()
